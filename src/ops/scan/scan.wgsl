// Exclusive prefix sums of u32 counts (CPU twin: cpu.rs): output[j] is the
// sum of input[0..j), and output[n] the total. One workgroup per dispatch
// covers the span [begin, end): each thread sums a contiguous run, thread 0
// scans the runs' sums, and each thread writes its run's prefix sums. A
// span continues from output[begin], which the previous dispatch wrote as
// its total. Integer sums: any split gives the same values.

struct Params {
    begin: u32,
    end: u32,
    // 1: the first span (starts from 0); 0: continue from output[begin].
    fresh: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
    _pad3: u32,
    _pad4: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> input: array<u32>;
@group(0) @binding(2) var<storage, read_write> output: array<u32>;

var<workgroup> runs: array<u32, WG>;

@compute @workgroup_size(WG)
fn scan(@builtin(local_invocation_index) lid: u32) {
    let n = p.end - p.begin;
    let per = (n + WG - 1u) / WG;
    let a = p.begin + min(lid * per, n);
    let b = p.begin + min(lid * per + per, n);
    var sum = 0u;
    for (var j = a; j < b; j++) {
        sum += input[j];
    }
    runs[lid] = sum;
    workgroupBarrier();
    if lid == 0u {
        var total = 0u;
        if p.fresh == 0u {
            total = output[p.begin];
        }
        for (var t = 0u; t < WG; t++) {
            let run = runs[t];
            runs[t] = total;
            total += run;
        }
        output[p.end] = total;
    }
    workgroupBarrier();
    var prefix = runs[lid];
    for (var j = a; j < b; j++) {
        let v = input[j];
        output[j] = prefix;
        prefix += v;
    }
}
