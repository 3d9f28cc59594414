// The fused mean-shift kernel (CPU twin: src/cpu/shift.rs, `window_sums`).
//
// For each query q and the data rows x_j of one span, in index order:
//   w    = K(|x_j - q|^2) * sample_weight_j
//   num += w * (x_j - q)       (only where w != 0)
//   den += w
//   cnt += sample_weight_j     (only where |x_j - q|^2 <= h^2)
// A workgroup owns WG queries, one per thread, with the query and its sums
// in private memory; the data stream through workgroup memory a tile at a
// time, so memory is O(N D) and never N x N. The sums are carried between
// dispatches in `sums`, so splitting the data over dispatches or buffers
// continues the same index-order sum and gives the same bits.

// Constants the host prepends (src/gpu/pipelines.rs):
//   KERNEL: u32        numbered as Kernel::shader_id: 0 flat, 1 triangular,
//                      2 epanechnikov, 3 gaussian
//   WEIGHTED: bool     `weights` holds sample weights (otherwise all are 1)
//   SKIP_SETTLED: bool standard mean shift: pass over seeds whose status
//                      word (in the seek state after the sums) is not 0
//                      (still moving), and whole workgroups of them

struct Params {
    // Queries in this buffer.
    query_rows: u32,
    // Data rows [data_begin, data_end) of this buffer.
    data_begin: u32,
    data_end: u32,
    // 1: start the sums from zero; 0: continue those in `sums`.
    fresh: u32,
    // The kernel with its bandwidth folded (KernelCoeffs).
    h2: f32,
    inv_h2: f32,
    exp2_coeff: f32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> queries: array<f32>;
@group(0) @binding(2) var<storage, read> data: array<f32>;
@group(0) @binding(3) var<storage, read> weights: array<f32>;
// Per query, as f32 bits: num (query_rows x DIM), then den (query_rows),
// then cnt (query_rows). In standard mean shift the seek state follows
// (shaders/seek.wgsl): iterations, intensity, status, query_rows each.
// Holding the state here keeps every stage within 4 storage buffers, what
// downlevel devices allow. Words, not floats, so the state's integers pass
// through untouched.
@group(0) @binding(4) var<storage, read_write> sums: array<u32>;

var<workgroup> tile_weights: array<f32, TILE>;
var<workgroup> live_flag: atomic<u32>;
var<workgroup> live_any: u32;

// The kernel's weight at squared distance d2, as KernelCoeffs::weight.
fn kernel_weight(d2: f32) -> f32 {
    switch KERNEL {
        case 0u: {
            return select(0.0, 1.0, d2 <= p.h2);
        }
        case 1u: {
            return select(0.0, 1.0 - sqrt(d2 * p.inv_h2), d2 <= p.h2);
        }
        case 2u: {
            return select(0.0, 1.0 - d2 * p.inv_h2, d2 <= p.h2);
        }
        default: {
            return exp2(p.exp2_coeff * d2);
        }
    }
}

@compute @workgroup_size(WG)
fn accumulate(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = group_index(wid, nwg) * WG + lid;
    var live = i < p.query_rows;
    if SKIP_SETTLED {
        if live {
            live = sums[(DIM + 4u) * p.query_rows + i] == 0u;
        }
        if lid == 0u {
            atomicStore(&live_flag, 0u);
        }
        workgroupBarrier();
        if live {
            atomicOr(&live_flag, 1u);
        }
        workgroupBarrier();
        if lid == 0u {
            live_any = atomicLoad(&live_flag);
        }
        if workgroupUniformLoad(&live_any) == 0u {
            return;
        }
    }

    var q: array<f32, DIM>;
    var num: array<f32, DIM>;
    var den = 0.0;
    var cnt = 0.0;
    let den_at = p.query_rows * DIM + i;
    let cnt_at = den_at + p.query_rows;
    if live {
        for (var k = 0u; k < DIM; k++) {
            q[k] = queries[i * DIM + k];
        }
        if p.fresh == 0u {
            for (var k = 0u; k < DIM; k++) {
                num[k] = bitcast<f32>(sums[i * DIM + k]);
            }
            den = bitcast<f32>(sums[den_at]);
            cnt = bitcast<f32>(sums[cnt_at]);
        }
    }

    for (var first = p.data_begin; first < p.data_end; first += TILE) {
        let rows = min(TILE, p.data_end - first);
        workgroupBarrier();
        stage_tile(first, rows, lid);
        if WEIGHTED {
            for (var t = lid; t < rows; t += WG) {
                tile_weights[t] = weights[first + t];
            }
        }
        workgroupBarrier();
        if live {
            for (var t = 0u; t < rows; t++) {
                let d2 = tile_d2(t, &q);
                var sw = 1.0;
                if WEIGHTED {
                    sw = tile_weights[t];
                }
                let w = kernel_weight(d2) * sw;
                if w != 0.0 {
                    let base = t * DIM;
                    for (var k = 0u; k < DIM; k++) {
                        num[k] = num[k] + w * (tile[base + k] - q[k]);
                    }
                    den = den + w;
                }
                if d2 <= p.h2 {
                    cnt = cnt + sw;
                }
            }
        }
    }

    if live {
        for (var k = 0u; k < DIM; k++) {
            sums[i * DIM + k] = bitcast<u32>(num[k]);
        }
        sums[den_at] = bitcast<u32>(den);
        sums[cnt_at] = bitcast<u32>(cnt);
    }
}
