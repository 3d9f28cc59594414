// Distance from each query to its k-th nearest data row (CPU twin:
// cpu.rs), exactly and in O(N) memory: a bisection on the
// u32 bit pattern of the squared distance, which for non-negative f32
// orders like the value. Each round counts the rows with d2 <= mid
// (`count_within`, carried across data spans like the shift sums), then
// halves [lo, hi] (`bisect`). After 31 rounds lo = hi = the bits of the
// k-th smallest d2, starting from [0, bits(+inf)].

struct Params {
    query_rows: u32,
    // Data rows [data_begin, data_end) of this buffer.
    data_begin: u32,
    data_end: u32,
    // 1: start the count from zero; 0: continue it.
    fresh: u32,
    // The rank wanted, 1-based.
    k: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> queries: array<f32>;
@group(0) @binding(2) var<storage, read> data: array<f32>;
// lo (query_rows), hi (query_rows), count (query_rows).
@group(0) @binding(3) var<storage, read_write> search: array<u32>;

fn midpoint(lo: u32, hi: u32) -> u32 {
    return lo + (hi - lo) / 2u;
}

@compute @workgroup_size(WG)
fn count_within(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = group_index(wid, nwg) * WG + lid;
    let rows = p.query_rows;
    let live = i < rows;
    var q: array<f32, DIM>;
    var mid = 0u;
    var count = 0u;
    if live {
        for (var k = 0u; k < DIM; k++) {
            q[k] = queries[i * DIM + k];
        }
        mid = midpoint(search[i], search[rows + i]);
        if p.fresh == 0u {
            count = search[2u * rows + i];
        }
    }
    for (var first = p.data_begin; first < p.data_end; first += TILE) {
        let n = min(TILE, p.data_end - first);
        workgroupBarrier();
        stage_tile(first, n, lid);
        workgroupBarrier();
        if live {
            for (var t = 0u; t < n; t++) {
                if bitcast<u32>(tile_d2(t, &q)) <= mid {
                    count = count + 1u;
                }
            }
        }
    }
    if live {
        search[2u * rows + i] = count;
    }
}

@compute @workgroup_size(WG)
fn bisect(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = group_index(wid, nwg) * WG + lid;
    let rows = p.query_rows;
    if i >= rows {
        return;
    }
    let lo = search[i];
    let hi = search[rows + i];
    if lo < hi {
        let mid = midpoint(lo, hi);
        if search[2u * rows + i] >= p.k {
            search[rows + i] = mid;
        } else {
            search[i] = mid + 1u;
        }
    }
}
