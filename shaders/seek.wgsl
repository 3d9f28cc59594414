// One step of standard mean shift for every seed still moving (CPU twin:
// src/cpu/shift.rs, `seek`), from the sums of shaders/shift.wgsl at the
// seed's position, with scikit-learn's bookkeeping:
//   den <= 0            -> dropped (status 3), position kept
//   otherwise the seed moves by num / den and its intensity becomes cnt;
//   |shift|^2 <= tol^2  -> converged (status 1)
//   iterations == max   -> max_iter (status 2)
//   else iterations += 1 and the seed is counted in `moving[p.slot]`.

struct Params {
    query_rows: u32,
    max_iter: u32,
    tol2: f32,
    slot: u32,
    _pad: vec4<u32>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> positions: array<f32>;
@group(0) @binding(2) var<storage, read> sums: array<f32>;
// iterations (query_rows), intensity bits (query_rows), status (query_rows).
@group(0) @binding(3) var<storage, read_write> state: array<u32>;
@group(0) @binding(4) var<storage, read_write> moving: array<atomic<u32>>;

@compute @workgroup_size(WG)
fn step(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = group_index(wid, nwg) * WG + lid;
    let rows = p.query_rows;
    if i >= rows || state[2u * rows + i] != 0u {
        return;
    }
    let den = sums[rows * DIM + i];
    if den <= 0.0 {
        state[2u * rows + i] = 3u;
        return;
    }
    var shift2 = 0.0;
    for (var k = 0u; k < DIM; k++) {
        let s = sums[i * DIM + k] / den;
        positions[i * DIM + k] = positions[i * DIM + k] + s;
        shift2 = shift2 + s * s;
    }
    state[rows + i] = bitcast<u32>(sums[(DIM + 1u) * rows + i]);
    if shift2 <= p.tol2 {
        state[2u * rows + i] = 1u;
    } else if state[i] == p.max_iter {
        state[2u * rows + i] = 2u;
    } else {
        state[i] = state[i] + 1u;
        atomicAdd(&moving[p.slot], 1u);
    }
}
