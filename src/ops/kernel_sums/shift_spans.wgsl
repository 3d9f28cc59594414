// Adds the spans' partial sums of shift.wgsl or shift_wide.wgsl in span
// order into the first slab (CPU twin: cpu.rs, `block_sums`): per word w
// of a slab (num, den and cnt of every query),
//   sums[w] = ((p0 + p1) + p2) + ...
// with p_s the word of span s's slab. One invocation per word, so its
// loop runs spans - 1 times, whatever the dimension.

struct Params {
    // Words of one slab: (DIM + 2) x the queries of the sums buffer.
    words: u32,
    spans: u32,
    _pad0: vec2<u32>,
    _pad1: vec4<u32>,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> sums: array<f32>;

@compute @workgroup_size(WG)
fn add_spans(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let w = group_index(wid, nwg) * WG + lid;
    if w >= p.words {
        return;
    }
    var total = sums[w];
    for (var s = 1u; s < p.spans; s++) {
        total = total + sums[s * p.words + w];
    }
    sums[w] = total;
}
