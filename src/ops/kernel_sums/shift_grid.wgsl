// The mean-shift sums through a grid (host: grid_gpu.rs; CPU twin:
// grid.rs over cpu.rs): each query adds, in index order, only the data
// rows of a list the host made for it (the rows in the 3^D grid cells
// around the query's own cell, ascending), with the per-row arithmetic of
// shift.wgsl's `visit`:
//   w    = K(|x_j - q|^2) * sample_weight_j
//   num += w * (x_j - q)
//   den += w
//   cnt += sample_weight_j     (only where |x_j - q|^2 <= h^2)
// Leaving out rows of kernel weight 0 (and, for `cnt`, rows beyond h)
// changes no bit (see shift_common.wgsl), so where the lists hold every
// row of nonzero weight these are the dense stage's bits. One thread per
// query: queries of one list read the same rows, but lists are short and
// differ between neighbouring queries, so no tile is shared.
//
// The dense stage sums each span of the data (spans.rs) from zero and adds
// the spans' sums in span order; so do these. A dispatch adds the listed
// rows of a range of one data chunk within one span, ranges in index
// order, to the partial sums of that span; the first dispatch of a span
// (flag START) first adds the partial sums of the span before to the
// totals and starts its own from zero, and the last dispatch (flag LAST)
// adds its span's to the totals. Both are carried between dispatches in
// `work` (which starts at zero), so splitting the data gives the same
// bits. A span without listed rows adds nothing, where the dense stage
// adds its +0: the same bits (a sum is never -0).

// Constants the host prepends (grid_gpu.rs), besides DIM:
//   KERNEL: u32        numbered as Kernel::shader_id
//   WEIGHTED: bool     `weights` holds sample weights (otherwise all are 1)
//   SUMS: bool         accumulate num and den
//   COUNT: bool        accumulate cnt

struct Params {
    // Queries in this dispatch.
    query_rows: u32,
    // Global index of the first row of the bound `data` chunk.
    chunk_base: u32,
    // Global data rows [data_begin, data_end) of this dispatch, all in the
    // bound chunk.
    data_begin: u32,
    data_end: u32,
    // The kernel with its bandwidth folded (KernelCoeffs).
    h2: f32,
    inv_h2: f32,
    exp2_coeff: f32,
    // START (1) and LAST (2), above.
    flags: u32,
}

const START: u32 = 1u;
const LAST: u32 = 2u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> queries: array<f32>;
@group(0) @binding(2) var<storage, read> data: array<f32>;
@group(0) @binding(3) var<storage, read> weights: array<f32>;
// Words: the totals, num (query_rows x DIM), den, cnt (query_rows each)
// as f32 bits; then the partial sums of the current span, alike; then per
// query the [start, end) word offsets, in this buffer, of its list; then
// the lists, global data row indices ascending. One buffer
// keeps the stage within 4 storage buffers, what downlevel devices allow.
@group(0) @binding(4) var<storage, read_write> work: array<u32>;

@compute @workgroup_size(WG)
fn accumulate(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = group_index(wid, nwg) * WG + lid;
    if i >= p.query_rows {
        return;
    }
    let den_at = p.query_rows * DIM;
    let cnt_at = den_at + p.query_rows;
    // The partial sums, each at its total's word + part.
    let part = cnt_at + p.query_rows;
    let range_at = part + part;
    let end = work[range_at + 2u * i + 1u];
    // The list's first row at or after data_begin (rows before it belong
    // to earlier dispatches).
    var lo = work[range_at + 2u * i];
    var hi = end;
    while lo < hi {
        let mid = lo + (hi - lo) / 2u;
        if work[mid] < p.data_begin {
            lo = mid + 1u;
        } else {
            hi = mid;
        }
    }

    var q: array<f32, DIM>;
    var num: array<f32, DIM>;
    for (var k = 0u; k < DIM; k++) {
        q[k] = queries[i * DIM + k];
        num[k] = bitcast<f32>(work[part + i * DIM + k]);
    }
    var den = bitcast<f32>(work[part + den_at + i]);
    var cnt = bitcast<f32>(work[part + cnt_at + i]);
    if (p.flags & START) != 0u {
        flush(i, &num, den, cnt);
        for (var k = 0u; k < DIM; k++) {
            num[k] = 0.0;
        }
        den = 0.0;
        cnt = 0.0;
    }

    for (var e = lo; e < end; e++) {
        let j = work[e];
        if j >= p.data_end {
            break;
        }
        let row = j - p.chunk_base;
        var x: array<f32, DIM>;
        for (var k = 0u; k < DIM; k++) {
            x[k] = data[row * DIM + k];
        }
        var sw = 1.0;
        if WEIGHTED {
            sw = weights[row];
        }
        var d2 = 0.0;
        for (var k = 0u; k < DIM; k++) {
            let diff = x[k] - q[k];
            d2 = d2 + diff * diff;
        }
        if SUMS {
            let w = kernel_weight(d2) * sw;
            for (var k = 0u; k < DIM; k++) {
                num[k] = num[k] + w * (x[k] - q[k]);
            }
            den = den + w;
        }
        if COUNT {
            cnt = cnt + select(0.0, sw, d2 <= p.h2);
        }
    }

    if SUMS {
        for (var k = 0u; k < DIM; k++) {
            work[part + i * DIM + k] = bitcast<u32>(num[k]);
        }
        work[part + den_at + i] = bitcast<u32>(den);
    }
    if COUNT {
        work[part + cnt_at + i] = bitcast<u32>(cnt);
    }
    if (p.flags & LAST) != 0u {
        flush(i, &num, den, cnt);
    }
}

// Adds query i's partial sums of a span to its totals.
fn flush(i: u32, num: ptr<function, array<f32, DIM>>, den: f32, cnt: f32) {
    let den_at = p.query_rows * DIM;
    let cnt_at = den_at + p.query_rows;
    if SUMS {
        for (var k = 0u; k < DIM; k++) {
            let total = bitcast<f32>(work[i * DIM + k]) + (*num)[k];
            work[i * DIM + k] = bitcast<u32>(total);
        }
        work[den_at + i] = bitcast<u32>(bitcast<f32>(work[den_at + i]) + den);
    }
    if COUNT {
        work[cnt_at + i] = bitcast<u32>(bitcast<f32>(work[cnt_at + i]) + cnt);
    }
}
