// One level of the per-cluster sums (CPU twin: cpu.rs). The host
// prepends DIM, W (values per output row: DIM, plus 1 for the weight
// column when WEIGHTED) and SPAN_LEN.
//
// Cluster c's elements at this level are elem_off[c]..elem_off[c + 1]:
// at level 0 the sorted members perm[e] (rows of values, and weights),
// later the rows of src the previous level wrote. They are cut into spans
// of SPAN_LEN from the cluster's first; span j of cluster c is output row
// span_off[c] + j. One thread per (output row, column) sums its span's
// elements in order, starting from 0.0: only additions of stored values,
// so the bits are those of the CPU twin.

struct Params {
    k: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
    _pad3: u32,
    _pad4: u32,
    _pad5: u32,
    _pad6: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> perm: array<u32>;
@group(0) @binding(2) var<storage, read> values: array<f32>;
@group(0) @binding(3) var<storage, read> weights: array<f32>;
@group(0) @binding(4) var<storage, read> elem_off: array<u32>;
@group(0) @binding(5) var<storage, read> span_off: array<u32>;
@group(0) @binding(6) var<storage, read> src: array<f32>;
@group(0) @binding(7) var<storage, read_write> dst: array<f32>;

// The cluster whose spans include output row g (g < span_off[k]): the
// last c with span_off[c] <= g, which skips empty clusters.
fn cluster_of(g: u32) -> u32 {
    var lo = 0u;
    var hi = p.k;
    while hi - lo > 1u {
        let mid = lo + (hi - lo) / 2u;
        if span_off[mid] <= g {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return lo;
}

struct Span {
    live: bool,
    row: u32,
    col: u32,
    begin: u32,
    end: u32,
}

fn span_of(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> Span {
    var s: Span;
    let t = group_index(wid, nwg) * WG + lid;
    s.row = t / W;
    s.col = t - s.row * W;
    s.live = s.row < span_off[p.k];
    if s.live {
        let c = cluster_of(s.row);
        s.begin = elem_off[c] + (s.row - span_off[c]) * SPAN_LEN;
        s.end = min(s.begin + SPAN_LEN, elem_off[c + 1u]);
    }
    return s;
}

@compute @workgroup_size(WG)
fn sum_points(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let s = span_of(wid, nwg, lid);
    if !s.live {
        return;
    }
    var acc = 0.0;
    for (var e = s.begin; e < s.end; e++) {
        let i = perm[e];
        var v: f32;
        if s.col < DIM {
            v = values[i * DIM + s.col];
        } else {
            v = weights[i];
        }
        acc = acc + v;
    }
    dst[s.row * W + s.col] = acc;
}

@compute @workgroup_size(WG)
fn sum_partials(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let s = span_of(wid, nwg, lid);
    if !s.live {
        return;
    }
    var acc = 0.0;
    for (var e = s.begin; e < s.end; e++) {
        acc = acc + src[e * W + s.col];
    }
    dst[s.row * W + s.col] = acc;
}
