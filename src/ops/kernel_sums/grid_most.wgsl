// The most rows any point's sums through the device grid visit: the
// points of the runs around its cell (runs.wgsl), their largest total in
// most[0] by an integer atomicMax from a zeroed buffer. The host reads it
// back to bound each dispatch of shift_grid_runs.wgsl's sums (a range of
// the grid's order, any of its points) by the device's work limit
// (grid_resident.rs): blurring draws the points of a cluster together, so
// a point's neighbours can grow to its cluster.

struct Params {
    rows: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
    _pad3: vec4<u32>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> positions: array<f32>;
@group(0) @binding(2) var<storage, read> cell_keys: array<u32>;
@group(0) @binding(3) var<storage, read> starts: array<u32>;
@group(0) @binding(4) var<storage, read> header: array<u32>;
@group(0) @binding(5) var<storage, read_write> most: array<atomic<u32>>;

@compute @workgroup_size(WG)
fn most_rows(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = group_index(wid, nwg) * WG + lid;
    if i >= p.rows {
        return;
    }
    var q = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
    for (var k = 0u; k < DIM; k++) {
        q[k] = positions[i * DIM + k];
    }
    var runs: array<vec2<u32>, AROUND>;
    let found = runs_around(q, &runs);
    var total = 0u;
    for (var r = 0u; r < found; r++) {
        total += runs[r].y - runs[r].x;
    }
    atomicMax(&most[0], total);
}
