// What the two strategies of the fused mean-shift sums share
// (shift.wgsl: whole queries per thread; shift_wide.wgsl:
// the feature axis split over threads): bindings, parameters, the layout
// of `sums`, the kernel's weight and the skipping of settled seeds.
//
// For each query q and the data rows x_j of one span, in index order:
//   w    = K(|x_j - q|^2) * sample_weight_j
//   num += w * (x_j - q)
//   den += w
//   cnt += sample_weight_j     (only where |x_j - q|^2 <= h^2)
// The sums are carried between dispatches in `sums`, so splitting the data
// over dispatches or buffers continues the same index-order sum and gives
// the same bits; so do the launch shapes the host tunes per adapter.
//
// Terms of zero weight are added rather than branched around: for finite
// data, w = 0 gives a term of +0 or -0, and adding that to a sum that
// started at +0 leaves its bits unchanged (a sum of such terms is never -0).
// Queries past the end, and settled ones, are summed too (at q = 0: no
// branch in the loops) and never stored.

// Constants the host prepends (gpu.rs; the plumbing in src/gpu/pipelines.rs), besides DIM:
//   KERNEL: u32        numbered as Kernel::shader_id: 0 flat, 1 triangular,
//                      2 epanechnikov, 3 gaussian
//   WEIGHTED: bool     `weights` holds sample weights (otherwise all are 1)
//   SKIP_SETTLED: bool standard mean shift: pass over seeds whose status
//                      word (in the seek state after the sums) is not 0
//                      (still moving), and whole workgroups of them
//   SUMS: bool         accumulate num and den
//   COUNT: bool        accumulate cnt

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
// (seek.wgsl): iterations, intensity, status, query_rows each.
// Holding the state here keeps every stage within 4 storage buffers, what
// downlevel devices allow. Words, not floats, so the state's integers pass
// through untouched.
@group(0) @binding(4) var<storage, read_write> sums: array<u32>;

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

// Whether query row `i` is to be summed and stored: in range and, in
// standard mean shift, still moving.
fn query_is_live(i: u32) -> bool {
    if i >= p.query_rows {
        return false;
    }
    return !SKIP_SETTLED || sums[(DIM + 4u) * p.query_rows + i] == 0u;
}

// Whether any thread of the workgroup passed `mine` = true. Call from
// uniform control flow: it holds barriers.
fn workgroup_any(lid: u32, mine: bool) -> bool {
    if lid == 0u {
        atomicStore(&live_flag, 0u);
    }
    workgroupBarrier();
    if mine {
        atomicOr(&live_flag, 1u);
    }
    workgroupBarrier();
    if lid == 0u {
        live_any = atomicLoad(&live_flag);
    }
    return workgroupUniformLoad(&live_any) != 0u;
}
