// The fused mean-shift kernel (CPU twin: src/cpu/shift.rs, `window_sums`).
//
// For each query q and the data rows x_j of one span, in index order:
//   w    = K(|x_j - q|^2) * sample_weight_j
//   num += w * (x_j - q)
//   den += w
//   cnt += sample_weight_j     (only where |x_j - q|^2 <= h^2)
// A workgroup owns WG * QPT queries: each thread keeps QPT of them, their
// sums in registers, and the data stream through workgroup memory a tile
// at a time, so memory is O(N D) and never N x N, and every data value read
// from workgroup memory serves QPT queries. The sums are carried between
// dispatches in `sums`, so splitting the data over dispatches or buffers
// continues the same index-order sum and gives the same bits; so do the
// workgroup size, QPT and TILE, which the host tunes per adapter.
//
// Terms of zero weight are added rather than branched around: for finite
// data, w = 0 gives a term of +0 or -0, and adding that to a sum that
// started at +0 leaves its bits unchanged (a sum of such terms is never -0).

// Constants the host prepends (src/gpu/pipelines.rs):
//   KERNEL: u32        numbered as Kernel::shader_id: 0 flat, 1 triangular,
//                      2 epanechnikov, 3 gaussian
//   WEIGHTED: bool     `weights` holds sample weights (otherwise all are 1)
//   SKIP_SETTLED: bool standard mean shift: pass over seeds whose status
//                      word (in the seek state after the sums) is not 0
//                      (still moving), and whole workgroups of them
//   SUMS: bool         accumulate num and den
//   COUNT: bool        accumulate cnt
//   QPT: u32           queries per thread

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

// This thread's queries (query r of the thread at r * DIM) and their sums.
var<private> q: array<f32, QPT * DIM>;
var<private> num: array<f32, QPT * DIM>;
var<private> den: array<f32, QPT>;
var<private> cnt: array<f32, QPT>;

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

// Adds tile row `t` to the sums of all this thread's queries. The row is
// read from workgroup memory once and used QPT times.
fn visit(t: u32) {
    var x: array<f32, DIM>;
    for (var k = 0u; k < DIM; k++) {
        x[k] = tile[t * DIM + k];
    }
    var sw = 1.0;
    if WEIGHTED {
        sw = tile_weights[t];
    }
    for (var r = 0u; r < QPT; r++) {
        var d2 = 0.0;
        for (var k = 0u; k < DIM; k++) {
            let diff = x[k] - q[r * DIM + k];
            d2 = d2 + diff * diff;
        }
        if SUMS {
            let w = kernel_weight(d2) * sw;
            for (var k = 0u; k < DIM; k++) {
                num[r * DIM + k] = num[r * DIM + k] + w * (x[k] - q[r * DIM + k]);
            }
            den[r] = den[r] + w;
        }
        if COUNT {
            cnt[r] = cnt[r] + select(0.0, sw, d2 <= p.h2);
        }
    }
}

// Row of this thread's query r, coalesced: the workgroup's threads take
// consecutive rows for each r.
fn query_row(group: u32, lid: u32, r: u32) -> u32 {
    return (group * QPT + r) * WG + lid;
}

@compute @workgroup_size(WG)
fn accumulate(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let group = group_index(wid, nwg);
    let den_at = p.query_rows * DIM;
    let cnt_at = den_at + p.query_rows;
    var live: array<bool, QPT>;
    var any_live = false;
    for (var r = 0u; r < QPT; r++) {
        let i = query_row(group, lid, r);
        live[r] = i < p.query_rows;
        if SKIP_SETTLED && live[r] {
            live[r] = sums[(DIM + 4u) * p.query_rows + i] == 0u;
        }
        any_live = any_live || live[r];
    }
    if SKIP_SETTLED {
        if lid == 0u {
            atomicStore(&live_flag, 0u);
        }
        workgroupBarrier();
        if any_live {
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

    // Queries past the end or settled are summed too (at q = 0: no branch
    // in the loop below) and never stored.
    for (var r = 0u; r < QPT; r++) {
        let i = query_row(group, lid, r);
        if live[r] {
            for (var k = 0u; k < DIM; k++) {
                q[r * DIM + k] = queries[i * DIM + k];
            }
            if p.fresh == 0u {
                if SUMS {
                    for (var k = 0u; k < DIM; k++) {
                        num[r * DIM + k] = bitcast<f32>(sums[i * DIM + k]);
                    }
                    den[r] = bitcast<f32>(sums[den_at + i]);
                }
                if COUNT {
                    cnt[r] = bitcast<f32>(sums[cnt_at + i]);
                }
            }
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
        if rows == TILE {
            // A whole tile: a constant trip count, which compilers unroll
            // into constant workgroup-memory offsets.
            for (var t = 0u; t < TILE; t++) {
                visit(t);
            }
        } else {
            for (var t = 0u; t < rows; t++) {
                visit(t);
            }
        }
    }

    for (var r = 0u; r < QPT; r++) {
        let i = query_row(group, lid, r);
        if live[r] {
            if SUMS {
                for (var k = 0u; k < DIM; k++) {
                    sums[i * DIM + k] = bitcast<u32>(num[r * DIM + k]);
                }
                sums[den_at + i] = bitcast<u32>(den[r]);
            }
            if COUNT {
                sums[cnt_at + i] = bitcast<u32>(cnt[r]);
            }
        }
    }
}
