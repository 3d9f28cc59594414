// Finding each cluster's members in index order (CPU twin: the stable
// bucketing in cpu.rs): label counts, a stable LSD radix sort of the
// labels (8-bit digits) carrying each point's index, and the span counts
// of the reduction's levels. Integer work only; the atomics count, so
// their order cannot change a result.
//
// Entry points and what their bindings hold:
// - count: src = labels (at stride * i + offset), table = k counts and,
//   at k, the number of labels that differ from dst (the previous
//   step's labels, then overwritten with these).
// - hist: block b's digit counts into table[digit * nblocks + b], so the
//   exclusive scan of table is where each (digit, block) starts.
// - scatter: each element to table[digit * nblocks + b] plus its rank
//   among the block's earlier elements of the same digit: stable.
//   Keys from src (first pass: labels at stride/offset, values = the
//   element index; later: src and src_vals), out to dst and dst_vals.
// - span_counts: dst[c] = ceil((src[c + 1] - src[c]) / SPAN_LEN).

struct Params {
    n: u32,
    stride: u32,
    offset: u32,
    // Bit position of this pass's digit.
    shift: u32,
    // 1 on the first pass: values are element indices.
    first: u32,
    nblocks: u32,
    k: u32,
    _pad: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<u32>;
@group(0) @binding(2) var<storage, read> src_vals: array<u32>;
@group(0) @binding(3) var<storage, read_write> table: array<atomic<u32>>;
@group(0) @binding(4) var<storage, read_write> dst: array<u32>;
@group(0) @binding(5) var<storage, read_write> dst_vals: array<u32>;

// Elements per block: four per thread.
const PER_THREAD: u32 = 4u;

var<workgroup> wg_hist: array<atomic<u32>, 256>;
var<workgroup> wg_digits: array<u32, PER_THREAD * WG>;

fn key_of(i: u32) -> u32 {
    return src[i * p.stride + p.offset];
}

fn digit_of(key: u32) -> u32 {
    return (key >> p.shift) & 255u;
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
fn hist(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let b = group_index(wid, nwg);
    for (var d = lid; d < 256u; d += WG) {
        atomicStore(&wg_hist[d], 0u);
    }
    workgroupBarrier();
    let live = b < p.nblocks;
    if live {
        for (var e = 0u; e < PER_THREAD; e++) {
            let i = b * PER_THREAD * WG + lid * PER_THREAD + e;
            if i < p.n {
                atomicAdd(&wg_hist[digit_of(key_of(i))], 1u);
            }
        }
    }
    workgroupBarrier();
    if live {
        for (var d = lid; d < 256u; d += WG) {
            atomicStore(&table[d * p.nblocks + b], atomicLoad(&wg_hist[d]));
        }
    }
}

@compute @workgroup_size(WG)
fn scatter(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let b = group_index(wid, nwg);
    let base = b * PER_THREAD * WG;
    let live = b < p.nblocks;
    for (var e = 0u; e < PER_THREAD; e++) {
        let t = lid * PER_THREAD + e;
        var d = 256u;
        if live && base + t < p.n {
            d = digit_of(key_of(base + t));
        }
        wg_digits[t] = d;
    }
    workgroupBarrier();
    if !live {
        return;
    }
    for (var e = 0u; e < PER_THREAD; e++) {
        let t = lid * PER_THREAD + e;
        let i = base + t;
        if i < p.n {
            let d = wg_digits[t];
            var rank = 0u;
            for (var j = 0u; j < t; j++) {
                rank += select(0u, 1u, wg_digits[j] == d);
            }
            let pos = atomicLoad(&table[d * p.nblocks + b]) + rank;
            dst[pos] = key_of(i);
            if p.first == 1u {
                dst_vals[pos] = i;
            } else {
                dst_vals[pos] = src_vals[i];
            }
        }
    }
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
