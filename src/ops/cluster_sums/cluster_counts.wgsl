// Around the sort that finds each cluster's members in index order (CPU
// twin: the stable bucketing in cpu.rs): the label counts before it, and
// after it (`ops/sort`, the labels carrying each point's index) the span
// counts of the reduction's levels. Integer
// work only; the atomics count, so their order cannot change a result.
//
// Entry points and what their bindings hold:
// - count: src = labels (at stride * i + offset), table = k counts and,
//   at k, the number of labels that differ from dst (the previous
//   step's labels, then overwritten with these).
// - span_counts: dst[c] = ceil((src[c + 1] - src[c]) / SPAN_LEN).
// src_vals and dst_vals are unused: the layout is the sort's, so one
// bind-group shape serves the whole step.

struct Params {
    n: u32,
    stride: u32,
    offset: u32,
    k: u32,
    _pad: vec4<u32>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read> src_vals: array<u32>;
@group(0) @binding(3) var<storage, read_write> table: array<atomic<u32>>;
@group(0) @binding(4) var<storage, read_write> dst: array<u32>;
@group(0) @binding(5) var<storage, read_write> dst_vals: array<u32>;

fn key_of(i: u32) -> u32 {
    return src[i * p.stride + p.offset];
}

@compute @workgroup_size(WG)
fn count(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = group_index(wid, nwg) * WG + lid;
    if i >= p.n {
        return;
    }
    let l = key_of(i);
    atomicAdd(&table[l], 1u);
    if dst[i] != l {
        atomicAdd(&table[p.k], 1u);
    }
    dst[i] = l;
}

@compute @workgroup_size(WG)
fn span_counts(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let c = group_index(wid, nwg) * WG + lid;
    if c >= p.k {
        return;
    }
    let members = src[c + 1u] - src[c];
    dst[c] = (members + SPAN_LEN - 1u) / SPAN_LEN;
}
