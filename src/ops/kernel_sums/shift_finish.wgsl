// One blurring step's new positions from the sums of shift.wgsl
// or shift_wide.wgsl (CPU twin: cpu.rs, `blur`), their spans added by
// shift_spans.wgsl into the first slab: moved =
// q + num / den, or q where den is 0; and the step's largest squared shift
// in `largest[p.slot]`, kept as the u32 bits of a non-negative f32 (ordered
// like the values), so an integer atomicMax finds it deterministically.

struct Params {
    // Queries: rows [query_first, query_first + query_rows) of `queries`
    // and `moved`, rows 0.. of `sums`.
    query_rows: u32,
    slot: u32,
    query_first: u32,
    _pad1: u32,
    _pad2: vec4<u32>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> queries: array<f32>;
@group(0) @binding(2) var<storage, read> sums: array<f32>;
@group(0) @binding(3) var<storage, read_write> moved: array<f32>;
@group(0) @binding(4) var<storage, read_write> largest: array<atomic<u32>>;

@compute @workgroup_size(WG)
fn finish(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = group_index(wid, nwg) * WG + lid;
    if i >= p.query_rows {
        return;
    }
    let den = sums[p.query_rows * DIM + i];
    var shift2 = 0.0;
    let at = (p.query_first + i) * DIM;
    for (var k = 0u; k < DIM; k++) {
        let q = queries[at + k];
        var x = q;
        if den > 0.0 {
            x = q + sums[i * DIM + k] / den;
        }
        moved[at + k] = x;
        let s = x - q;
        shift2 = shift2 + s * s;
    }
    atomicMax(&largest[p.slot], bitcast<u32>(shift2));
}
