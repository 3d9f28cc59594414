// Blurring's sums through a grid built on the device (host:
// grid_resident.rs; the grid: ops/grid/gpu.rs `DeviceGrid`, which holds
// what the CPU grid holds). Each point q adds, in ascending index order,
// the points of the runs of the distinct cell keys around its cell (a
// run is ascending by index: the grid's sort is stable), merged on the
// fly: the rows `Grid::around` lists for q's cell, in its order, so with
// shift_grid.wgsl's per-row arithmetic these are its sums, bit for bit.
// The points are both the queries and the data (blurring moves every
// point to the mean of all of them).
//
// Invocation t serves the point at position query_first + t of the grid's
// order, not point query_first + t: the points of one cell are adjacent
// there, so neighbouring invocations (a GPU's SIMD group) walk the same
// runs, loop as many times and read the same rows at once, where points in
// index order would lie in unrelated cells. Each point still adds its own
// rows in its own order and reads and writes its own sums, so which
// invocation serves it changes no bit.
//
// A dispatch adds only the rows [data_begin, data_end), all in one span
// of the dense sums (spans.rs), to that span's partial sums, continuing
// them (each run is first advanced past the rows below data_begin by
// binary search); the first dispatch of a span (flag START) first adds the
// span before's partial sums to the totals and starts from zero, the last
// (flag LAST) adds its span's: the dense sums' order, span by span (see
// shift_grid.wgsl). Both are kept in `sums`, zeroed by the host before the
// first dispatch.

// Constants the host prepends besides DIM and AROUND (3^DIM, grid.wgsl):
//   KERNEL: u32        numbered as Kernel::shader_id
//   WEIGHTED: bool     `weights` holds sample weights (otherwise all are 1)
// Blurring needs only num and den; the final intensities are counted by
// grid_gpu.rs.

struct Params {
    // Points (queries and data).
    query_rows: u32,
    data_begin: u32,
    data_end: u32,
    // START (1) and LAST (2), above.
    flags: u32,
    h2: f32,
    inv_h2: f32,
    exp2_coeff: f32,
    // The points whose sums this dispatch adds: those at positions
    // [query_first, query_end) of the grid's order, so the host can bound
    // a dispatch's work (grid_most.wgsl).
    query_first: u32,
    query_end: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> positions: array<f32>;
@group(0) @binding(2) var<storage, read> weights: array<f32>;
@group(0) @binding(3) var<storage, read> order: array<u32>;
@group(0) @binding(4) var<storage, read> cell_keys: array<u32>;
@group(0) @binding(5) var<storage, read> starts: array<u32>;
@group(0) @binding(6) var<storage, read> header: array<u32>;
// The totals, num (query_rows x DIM), den (query_rows), as f32 bits: the
// layout of the dense stage's sums, which shift_finish.wgsl reads; then
// the partial sums of the current span, alike.
@group(0) @binding(7) var<storage, read_write> sums: array<u32>;

const START: u32 = 1u;
const LAST: u32 = 2u;

// A spent run's head: above every index (rows are fewer than 2^30) and
// every data_end.
const SPENT: u32 = 0xffffffffu;

// The first index of `run` ([x, y) of `order`), or SPENT if it is empty.
fn next_index(run: vec2<u32>) -> u32 {
    if run.x < run.y {
        return order[run.x];
    }
    return SPENT;
}

@compute @workgroup_size(WG)
fn accumulate(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let sorted = p.query_first + group_index(wid, nwg) * WG + lid;
    if sorted >= p.query_end {
        return;
    }
    let i = order[sorted];
    var q: array<f32, DIM>;
    var q4 = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
    for (var k = 0u; k < DIM; k++) {
        q[k] = positions[i * DIM + k];
        q4[k] = q[k];
    }
    var runs: array<vec2<u32>, AROUND>;
    let found = runs_around(q4, &runs);
    for (var r = 0u; r < found; r++) {
        var lo = runs[r].x;
        var hi = runs[r].y;
        while lo < hi {
            let mid = lo + (hi - lo) / 2u;
            if order[mid] < p.data_begin {
                lo = mid + 1u;
            } else {
                hi = mid;
            }
        }
        runs[r].x = lo;
    }

    let den_at = p.query_rows * DIM;
    let part = den_at + p.query_rows;
    var num: array<f32, DIM>;
    for (var k = 0u; k < DIM; k++) {
        num[k] = bitcast<f32>(sums[part + i * DIM + k]);
    }
    var den = bitcast<f32>(sums[part + den_at + i]);
    if (p.flags & START) != 0u {
        flush(i, &num, den);
        for (var k = 0u; k < DIM; k++) {
            num[k] = 0.0;
        }
        den = 0.0;
    }

    // Each run's next index, kept so that a step reads one new index from
    // `order` (the run it advances) rather than one per run.
    var heads: array<u32, AROUND>;
    for (var r = 0u; r < found; r++) {
        heads[r] = next_index(runs[r]);
    }
    loop {
        // The smallest next index over the runs (runs are disjoint, so
        // there are no ties).
        var j = SPENT;
        var at = 0u;
        for (var r = 0u; r < found; r++) {
            if heads[r] < j {
                j = heads[r];
                at = r;
            }
        }
        if j >= p.data_end {
            break;
        }
        runs[at].x += 1u;
        heads[at] = next_index(runs[at]);
        var x: array<f32, DIM>;
        for (var k = 0u; k < DIM; k++) {
            x[k] = positions[j * DIM + k];
        }
        var sw = 1.0;
        if WEIGHTED {
            sw = weights[j];
        }
        var d2 = 0.0;
        for (var k = 0u; k < DIM; k++) {
            let diff = x[k] - q[k];
            d2 = d2 + diff * diff;
        }
        let w = kernel_weight(d2) * sw;
        for (var k = 0u; k < DIM; k++) {
            num[k] = num[k] + w * (x[k] - q[k]);
        }
        den = den + w;
    }

    for (var k = 0u; k < DIM; k++) {
        sums[part + i * DIM + k] = bitcast<u32>(num[k]);
    }
    sums[part + den_at + i] = bitcast<u32>(den);
    if (p.flags & LAST) != 0u {
        flush(i, &num, den);
    }
}

// Adds point i's partial sums of a span to its totals.
fn flush(i: u32, num: ptr<function, array<f32, DIM>>, den: f32) {
    let den_at = p.query_rows * DIM;
    for (var k = 0u; k < DIM; k++) {
        sums[i * DIM + k] = bitcast<u32>(bitcast<f32>(sums[i * DIM + k]) + (*num)[k]);
    }
    sums[den_at + i] = bitcast<u32>(bitcast<f32>(sums[den_at + i]) + den);
}
