// What the two strategies of the fused mean-shift sums share
// (shift.wgsl: whole queries per thread; shift_wide.wgsl:
// the feature axis split over threads): bindings, parameters, the layout
// of `sums`, the kernel's weight and the skipping of settled seeds.
//
// For each query q and the data rows x_j of each span (spans.rs: the data
// axis cut into spans of SPAN_ROWS rows, a function of the number of data
// rows alone), from zero, in index order:
//   w    = K(|x_j - q|^2) * sample_weight_j
//   num += w * (x_j - q)
//   den += w
//   cnt += sample_weight_j     (only where |x_j - q|^2 <= h^2)
// Each (group of queries, span) pair is a workgroup, which writes its
// span's partial sums in a slab of its own; shift_spans.wgsl then adds the
// slabs in span order into the first. A span's sums are carried between
// dispatches in its slab, so splitting the data over dispatches or
// buffers continues the same index-order sum and gives the same bits; so
// do the launch shapes the host tunes per adapter.
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
    // Queries of this dispatch: rows [query_first, query_first +
    // query_rows) of the bound `queries` buffer, rows 0.. of `sums`.
    query_rows: u32,
    query_first: u32,
    // Data rows [data_begin, data_end) of the bound `data` buffer, whose
    // first row is row chunk_base of the whole data.
    data_begin: u32,
    data_end: u32,
    chunk_base: u32,
    // Data rows per span (at least 1), and spans in all: the slabs of
    // `sums`.
    span_rows: u32,
    spans: u32,
    _pad0: u32,
    // The kernel with its bandwidth folded (KernelCoeffs).
    h2: f32,
    inv_h2: f32,
    exp2_coeff: f32,
    _pad1: u32,
}

// What one workgroup sums: queries `group` x (QPT x WG, or the wide
// stage's QUERIES) of this dispatch, the data rows [begin, end) of the
// bound buffer, all in span `span`; `fresh` where the span starts in
// this dispatch (its sums start from zero, else they continue its slab's);
// `slab`, the first word of the span's sums in `sums`. `live` is false for
// groups past the end of the dispatch.
struct Work {
    live: bool,
    group: u32,
    span: u32,
    begin: u32,
    end: u32,
    fresh: bool,
    slab: u32,
}

// The work of linear workgroup `all` of a dispatch laid out as the host
// lays it out (gpu.rs, `Sums::record`): the spans the dispatch's rows touch
// one after another, each with one workgroup per `per_group` queries.
fn work_of(all: u32, per_group: u32) -> Work {
    var w: Work;
    let first = p.chunk_base + p.data_begin;
    let last = p.chunk_base + p.data_end;
    let span_first = first / p.span_rows;
    let span_count = (last - 1u) / p.span_rows - span_first + 1u;
    let groups = (p.query_rows + per_group - 1u) / per_group;
    w.live = all < groups * span_count;
    w.group = all % groups;
    w.span = span_first + all / groups;
    let start = w.span * p.span_rows;
    w.begin = max(first, start) - p.chunk_base;
    w.end = min(last, start + p.span_rows) - p.chunk_base;
    w.fresh = start >= first;
    w.slab = w.span * (DIM + 2u) * p.query_rows;
    return w;
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> queries: array<f32>;
@group(0) @binding(2) var<storage, read> data: array<f32>;
@group(0) @binding(3) var<storage, read> weights: array<f32>;
// Per span, a slab: per query, as f32 bits, num (query_rows x DIM), then
// den (query_rows), then cnt (query_rows). In standard mean shift the seek
// state follows the slabs (seek.wgsl): iterations, intensity, status,
// query_rows each.
// Holding the state here keeps every stage within 4 storage buffers, what
// downlevel devices allow. Words, not floats, so the state's integers pass
// through untouched.
@group(0) @binding(4) var<storage, read_write> sums: array<u32>;

var<workgroup> live_flag: atomic<u32>;
var<workgroup> live_any: u32;

// Whether query row `i` is to be summed and stored: in range and, in
// standard mean shift, still moving.
fn query_is_live(i: u32) -> bool {
    if i >= p.query_rows {
        return false;
    }
    return !SKIP_SETTLED || sums[(p.spans * (DIM + 2u) + 2u) * p.query_rows + i] == 0u;
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
