// The grid's build (host: gpu.rs; CPU twin: `Grid::build` in cpu.rs), in
// three entries around the stable radix sort (ops/sort) and the exclusive
// scan (ops/scan) that the host records between them:
// - keys: each point's cell key into out_a, and the cells' origin and inv
//   into the header (on the device, so builds of different cells can
//   follow each other in one submission);
// - (the host sorts the keys, carrying the point indices: stable, so each
//   run of one key holds its points in index order, as the CPU's stable
//   sort leaves them);
// - heads: 1 where a sorted key differs from the one before, else 0;
// - (the host scans the heads: aux[t] is the cell of sorted position t
//   when it is a head, aux[n] the number of cells);
// - compact: each head's key and position into the distinct keys (out_a)
//   and the run starts (out_b), the last start n and the count (one
//   thread at least, even for no points).
// Integer work only, besides the cell coordinates (grid.wgsl).

struct Params {
    // The cells' origin (0 past DIM) and inverse width, as `Cells` holds
    // them.
    origin: vec4<f32>,
    inv: f32,
    // Points.
    n: u32,
    _pad0: u32,
    _pad1: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
// keys: the points' coordinates (f32 bits, DIM per point); heads and
// compact: the sorted keys.
@group(0) @binding(1) var<storage, read> src: array<u32>;
// compact: the scan of the heads (n + 1 words).
@group(0) @binding(2) var<storage, read> aux: array<u32>;
// keys: each point's key; heads: the head flags; compact: the distinct keys.
@group(0) @binding(3) var<storage, read_write> out_a: array<u32>;
// compact: the run starts (cells + 1 words used).
@group(0) @binding(4) var<storage, read_write> out_b: array<u32>;
@group(0) @binding(5) var<storage, read_write> header: array<u32>;

fn position(lid: u32, wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return group_index(wid, nwg) * WG + lid;
}

@compute @workgroup_size(WG)
fn keys(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = position(lid, wid, nwg);
    if i == 0u {
        header[H_INV] = bitcast<u32>(p.inv);
        for (var a = 0u; a < 4u; a++) {
            header[H_ORIGIN + a] = bitcast<u32>(p.origin[a]);
        }
    }
    if i >= p.n {
        return;
    }
    var c = array<i32, 4>(0, 0, 0, 0);
    for (var a = 0u; a < DIM; a++) {
        c[a] = cell_coord(bitcast<f32>(src[i * DIM + a]), p.origin[a], p.inv);
    }
    out_a[i] = cell_key(c);
}

fn is_head(t: u32) -> bool {
    return t == 0u || src[t] != src[t - 1u];
}

@compute @workgroup_size(WG)
fn heads(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let t = position(lid, wid, nwg);
    if t < p.n {
        out_a[t] = select(0u, 1u, is_head(t));
    }
}

@compute @workgroup_size(WG)
fn compact(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let t = position(lid, wid, nwg);
    if t == 0u {
        let cells = aux[p.n];
        out_b[cells] = p.n;
        header[H_CELLS] = cells;
    }
    if t < p.n && is_head(t) {
        let c = aux[t];
        out_a[c] = src[t];
        out_b[c] = t;
    }
}
