// The k best data rows per query by score, and rows within a score bound
// (CPU twin: cpu.rs). The host prepends DIM, TILE (data rows per tile),
// FC (coordinates per tile slice), SCORE (0: squared L2, 1: minus the dot
// product, 2: one minus the dot product) and K (the length of best_k's
// list, at least k).
//
// A pair's score is summed over the coordinates in index order, whatever
// FC: each row's sum continues from slice to slice. Scores are compared
// through order_key, which orders them like f32::total_cmp, so every pass
// sees the same order as the CPU twin. Data rows go by in index order
// (tiles, then dispatches over spans carried through `state`), and a row
// displaces a kept one only with a strictly smaller key, so ties keep the
// lower index.
//
// Two ways to the k best. best_k keeps a sorted list of K (key, index)
// pairs per query in registers: one pass, for small k. For any k, the
// threshold: bisect on the key of the k-th best (32 rounds of
// count_at_most + bisect), count the keys below it (count_at_most, mode
// 1), then fill writes, in index order, the rows below it and as many rows
// at it as k needs; the host sorts each list. Radius queries count the
// rows at most a bound (mode 2), take offsets from a scan, and fill.

struct Params {
    query_rows: u32,
    // Data rows [data_begin, data_end) of this buffer.
    data_begin: u32,
    data_end: u32,
    // 1: start the carried state afresh; 0: continue it.
    fresh: u32,
    k: u32,
    // Global index of this buffer's first data row.
    index_base: u32,
    // Global data index of query row 0, whose own row it may not take;
    // NO_SELF when queries are not the data.
    self_base: u32,
    // count_at_most's bound: 0 midpoint(lo, hi), 1 below lo, 2 at most hi.
    mode: u32,
}

const NO_SELF: u32 = 0xffffffffu;
const NONE: u32 = 0xffffffffu;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> queries: array<f32>;
@group(0) @binding(2) var<storage, read> data: array<f32>;
// best_k: 2K words per query (keys, then indices). The threshold passes:
// blocks of query_rows words: lo, hi, count, less, pos, ties, start, cap.
@group(0) @binding(3) var<storage, read_write> state: array<u32>;
// fill: (key, index) pairs, query i's from pair state[START + i].
@group(0) @binding(4) var<storage, read_write> out: array<u32>;

const LO = 0u;
const HI = 1u;
const COUNT = 2u;
const LESS = 3u;
const POS = 4u;
const TIES = 5u;
const START = 6u;
const CAP = 7u;

var<workgroup> tile: array<f32, TILE * FC>;

fn slot(block: u32, i: u32) -> u32 {
    return block * p.query_rows + i;
}

// The position of a score in f32::total_cmp's order.
fn order_key(s: f32) -> u32 {
    let b = bitcast<u32>(s);
    if (b & 0x80000000u) != 0u {
        return ~b;
    }
    return b | 0x80000000u;
}

fn midpoint(lo: u32, hi: u32) -> u32 {
    return lo + (hi - lo) / 2u;
}

// The keys of query row `i` against data rows [first, first + n) of this
// buffer, into acc[0..n). Every thread of the workgroup calls it (it
// shares the tile copies); only live threads compute.
fn tile_keys(first: u32, n: u32, lid: u32, i: u32, live: bool, acc: ptr<function, array<u32, TILE>>) {
    var sums: array<f32, TILE>;
    for (var t = 0u; t < TILE; t++) {
        sums[t] = 0.0;
    }
    for (var c0 = 0u; c0 < DIM; c0 += FC) {
        let w = min(FC, DIM - c0);
        workgroupBarrier();
        for (var e = lid; e < n * w; e += WG) {
            let r = e / w;
            let c = e - r * w;
            tile[r * FC + c] = data[(first + r) * DIM + c0 + c];
        }
        workgroupBarrier();
        if live {
            var qc: array<f32, FC>;
            for (var c = 0u; c < w; c++) {
                qc[c] = queries[i * DIM + c0 + c];
            }
            for (var t = 0u; t < n; t++) {
                var s = sums[t];
                for (var c = 0u; c < w; c++) {
                    let x = tile[t * FC + c];
                    if SCORE == 0u {
                        let d = x - qc[c];
                        s = s + d * d;
                    } else {
                        s = s + x * qc[c];
                    }
                }
                sums[t] = s;
            }
        }
    }
    if live {
        for (var t = 0u; t < n; t++) {
            var s = sums[t];
            if SCORE == 1u {
                s = -s;
            } else if SCORE == 2u {
                s = 1.0 - s;
            }
            (*acc)[t] = order_key(s);
        }
    }
}

// The data index query row `i` may not take.
fn own_index(i: u32) -> u32 {
    if p.self_base == NO_SELF {
        return NONE;
    }
    return p.self_base + i;
}

@compute @workgroup_size(WG)
fn best_k(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = group_index(wid, nwg) * WG + lid;
    let live = i < p.query_rows;
    let own = own_index(i);
    let base = i * 2u * K;
    var keys: array<u32, K>;
    var idx: array<u32, K>;
    if live {
        for (var j = 0u; j < K; j++) {
            if p.fresh != 0u {
                keys[j] = NONE;
                idx[j] = NONE;
            } else {
                keys[j] = state[base + j];
                idx[j] = state[base + K + j];
            }
        }
    }
    let last = p.k - 1u;
    var acc: array<u32, TILE>;
    for (var first = p.data_begin; first < p.data_end; first += TILE) {
        let n = min(TILE, p.data_end - first);
        tile_keys(first, n, lid, i, live, &acc);
        if live {
            for (var t = 0u; t < n; t++) {
                let key = acc[t];
                let j = p.index_base + first + t;
                if key < keys[last] && j != own {
                    var at = last;
                    while at > 0u && keys[at - 1u] > key {
                        keys[at] = keys[at - 1u];
                        idx[at] = idx[at - 1u];
                        at -= 1u;
                    }
                    keys[at] = key;
                    idx[at] = j;
                }
            }
        }
    }
    if live {
        for (var j = 0u; j < K; j++) {
            state[base + j] = keys[j];
            state[base + K + j] = idx[j];
        }
    }
}

@compute @workgroup_size(WG)
fn count_at_most(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = group_index(wid, nwg) * WG + lid;
    let live = i < p.query_rows;
    let own = own_index(i);
    // Counting keys <= bound; mode 1 counts keys < lo, none when lo = 0.
    var bound = 0u;
    var counting = live;
    var count = 0u;
    let into = select(COUNT, LESS, p.mode == 1u);
    if live {
        let lo = state[slot(LO, i)];
        let hi = state[slot(HI, i)];
        if p.mode == 0u {
            bound = midpoint(lo, hi);
        } else if p.mode == 1u {
            bound = lo - 1u;
            counting = lo > 0u;
        } else {
            bound = hi;
        }
        if p.fresh == 0u {
            count = state[slot(into, i)];
        }
    }
    var acc: array<u32, TILE>;
    for (var first = p.data_begin; first < p.data_end; first += TILE) {
        let n = min(TILE, p.data_end - first);
        tile_keys(first, n, lid, i, live, &acc);
        if counting {
            for (var t = 0u; t < n; t++) {
                if acc[t] <= bound && p.index_base + first + t != own {
                    count += 1u;
                }
            }
        }
    }
    if live {
        state[slot(into, i)] = count;
    }
}

@compute @workgroup_size(WG)
fn bisect(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = group_index(wid, nwg) * WG + lid;
    if i >= p.query_rows {
        return;
    }
    let lo = state[slot(LO, i)];
    let hi = state[slot(HI, i)];
    if lo < hi {
        let mid = midpoint(lo, hi);
        if state[slot(COUNT, i)] >= p.k {
            state[slot(HI, i)] = mid;
        } else {
            state[slot(LO, i)] = mid + 1u;
        }
    }
}

@compute @workgroup_size(WG)
fn fill(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = group_index(wid, nwg) * WG + lid;
    let live = i < p.query_rows;
    let own = own_index(i);
    var threshold = 0u;
    var ties_wanted = 0u;
    var pos = 0u;
    var ties = 0u;
    var start = 0u;
    if live {
        threshold = state[slot(LO, i)];
        ties_wanted = state[slot(CAP, i)] - state[slot(LESS, i)];
        start = state[slot(START, i)];
        if p.fresh == 0u {
            pos = state[slot(POS, i)];
            ties = state[slot(TIES, i)];
        }
    }
    var acc: array<u32, TILE>;
    for (var first = p.data_begin; first < p.data_end; first += TILE) {
        let n = min(TILE, p.data_end - first);
        tile_keys(first, n, lid, i, live, &acc);
        if live {
            for (var t = 0u; t < n; t++) {
                let key = acc[t];
                let j = p.index_base + first + t;
                var take = key < threshold;
                if key == threshold && ties < ties_wanted && j != own {
                    take = true;
                    ties += 1u;
                }
                if take && j != own {
                    out[2u * (start + pos)] = key;
                    out[2u * (start + pos) + 1u] = j;
                    pos += 1u;
                }
            }
        }
    }
    if live {
        state[slot(POS, i)] = pos;
        state[slot(TIES, i)] = ties;
    }
}
