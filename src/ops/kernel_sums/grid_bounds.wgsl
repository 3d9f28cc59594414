// Each coordinate's smallest and largest value over the points, for the
// host to make the grid's cells from (`Cells::new` reads only these):
// min and max are exact, so these are the CPU's bounds. Kept as
// order-preserving words (negative floats' bits flipped, positive ones'
// sign bit set) so that an integer atomicMax finds them from a zeroed
// buffer: words DIM..2 DIM the maxima, words 0..DIM the maxima of the
// words' complements (the minima, complemented).

struct Params {
    rows: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
    _pad3: vec4<u32>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> positions: array<f32>;
@group(0) @binding(2) var<storage, read_write> bounds: array<atomic<u32>>;

fn ordered(v: f32) -> u32 {
    let b = bitcast<u32>(v);
    return select(b | 0x80000000u, ~b, (b & 0x80000000u) != 0u);
}

@compute @workgroup_size(WG)
fn bounds_of(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = group_index(wid, nwg) * WG + lid;
    if i >= p.rows {
        return;
    }
    for (var a = 0u; a < DIM; a++) {
        let w = ordered(positions[i * DIM + a]);
        atomicMax(&bounds[a], ~w);
        atomicMax(&bounds[DIM + a], w);
    }
}
