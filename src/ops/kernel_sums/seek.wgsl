// One step of standard mean shift for every seed still moving (CPU twin:
// cpu.rs, `seek`), from the sums of shift.wgsl or
// shift_wide.wgsl at the seed's position (their spans added by
// shift_spans.wgsl into the first slab), with scikit-learn's bookkeeping:
//   den <= 0            -> dropped (status 3), position kept
//   otherwise the seed moves by num / den and its intensity becomes cnt;
//   |shift|^2 <= tol^2  -> converged (status 1)
//   iterations == max   -> max_iter (status 2)
//   else iterations += 1 and the seed is counted in `moving[p.slot]`.

struct Params {
    // Seeds: rows [query_first, query_first + query_rows) of `positions`,
    // rows 0.. of `sums`.
    query_rows: u32,
    max_iter: u32,
    tol2: f32,
    slot: u32,
    query_first: u32,
    // The slabs of span sums before the seek state.
    spans: u32,
    _pad: vec2<u32>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> positions: array<f32>;
// The sums of shift_common.wgsl as f32 bits (num: query_rows x
// DIM, den, cnt; the first slab holds all spans' sums), then the seek
// state from word spans * (DIM + 2) * query_rows on: iterations,
// intensity bits, status, query_rows each.
@group(0) @binding(2) var<storage, read_write> sums: array<u32>;
@group(0) @binding(3) var<storage, read_write> moving: array<atomic<u32>>;

@compute @workgroup_size(WG)
fn step(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = group_index(wid, nwg) * WG + lid;
    let rows = p.query_rows;
    // Where the state's three parts start.
    let iterations = p.spans * (DIM + 2u) * rows;
    let intensity = iterations + rows;
    let status = intensity + rows;
    if i >= rows || sums[status + i] != 0u {
        return;
    }
    let den = bitcast<f32>(sums[rows * DIM + i]);
    if den <= 0.0 {
        sums[status + i] = 3u;
        return;
    }
    var shift2 = 0.0;
    let at = (p.query_first + i) * DIM;
    for (var k = 0u; k < DIM; k++) {
        let s = bitcast<f32>(sums[i * DIM + k]) / den;
        positions[at + k] = positions[at + k] + s;
        shift2 = shift2 + s * s;
    }
    // cnt, the weight within h of the position just averaged.
    sums[intensity + i] = sums[(DIM + 1u) * rows + i];
    if shift2 <= p.tol2 {
        sums[status + i] = 1u;
    } else if sums[iterations + i] == p.max_iter {
        sums[status + i] = 2u;
    } else {
        sums[iterations + i] = sums[iterations + i] + 1u;
        atomicAdd(&moving[p.slot], 1u);
    }
}
