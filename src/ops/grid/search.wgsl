// Radius search through the grid (host: gpu.rs; CPU twin: `Grid::within`
// in cpu.rs, with brute force's semantics, ops/topk). For query row i: its
// home cell (grid.wgsl's arithmetic, as the points' cells were found), the
// keys of the AROUND cells around it, each distinct key once (cells with
// one hash share a run), each found by binary search among the distinct
// keys, and the points of those runs scored.
//
// The runs of one query, one after another, are its candidates; entries
// see only candidates [p.lo, p.hi) of that sequence, so the host can cut a
// query's work into dispatches within a driver's loop budget, the state
// carrying counts and positions from one to the next:
// - totals: the number of candidates into state[COUNT];
// - count: the candidates scoring at most the bound (not the query's own
//   row) into state[COUNT], continued unless p.fresh;
// - fill: those candidates' (order key, index) pairs into out from pair
//   state[START] + position (the position carried in state[COUNT]).
// The host sorts each list by (score, index).
//
// Where the queries are the grid's own points, all of them (p.in_order),
// invocation t serves query order[t], not query t: the queries of one
// cell are adjacent in the grid's order, so neighbouring invocations (a
// GPU's SIMD group) walk the same runs, loop as many times and read the
// same candidates at once, where queries in index order would lie in
// unrelated cells. Each query still reads and writes only its own state
// and pairs, so which invocation serves it changes nothing in the result.
//
// A score is brute force's (topk.wgsl's tile_keys with SCORE 0): from 0.0,
// d = x - q and s = s + d * d per coordinate in index order, the same
// expression in the same order, so the same bits where the compiler
// treats it alike in both stages (fusing s + d * d into one rounding in
// both or in neither), and compared through the same order key.

struct Params {
    query_rows: u32,
    // Row of the queries buffer of query 0.
    query_base: u32,
    // Data index query 0 may not take (then query i: self_base + i);
    // NO_SELF when the queries are not the data.
    self_base: u32,
    // The candidates this dispatch sees: [lo, hi) of each query's.
    lo: u32,
    hi: u32,
    // 1: start the carried count afresh; 0: continue it.
    fresh: u32,
    // The order key of the squared-distance bound.
    limit: u32,
    // 1: the queries are the grid's points, all of them (query_base 0),
    // served in the grid's order (above); 0: in index order.
    in_order: u32,
}

const NO_SELF: u32 = 0xffffffffu;
const COUNT: u32 = 0u;
const START: u32 = 1u;

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> queries: array<f32>;
@group(0) @binding(2) var<storage, read> data: array<f32>;
// The grid (gpu.rs `DeviceGrid`): points by cell, distinct keys, run
// starts, header.
@group(0) @binding(3) var<storage, read> order: array<u32>;
@group(0) @binding(4) var<storage, read> cell_keys: array<u32>;
@group(0) @binding(5) var<storage, read> starts: array<u32>;
@group(0) @binding(6) var<storage, read> header: array<u32>;
// Blocks of query_rows words: COUNT (count or position), START.
@group(0) @binding(7) var<storage, read_write> state: array<u32>;
// fill: (key, index) pairs.
@group(0) @binding(8) var<storage, read_write> out: array<u32>;

// The position of a score in f32::total_cmp's order (as topk.wgsl's).
fn order_key(s: f32) -> u32 {
    let b = bitcast<u32>(s);
    if (b & 0x80000000u) != 0u {
        return ~b;
    }
    return b | 0x80000000u;
}

fn slot(block: u32, i: u32) -> u32 {
    return block * p.query_rows + i;
}

fn query(i: u32) -> array<f32, 4> {
    var q = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
    for (var a = 0u; a < DIM; a++) {
        q[a] = queries[(p.query_base + i) * DIM + a];
    }
    return q;
}

// Brute force's score of data row j against q.
fn score(j: u32, q: array<f32, 4>) -> f32 {
    var s = 0.0;
    for (var c = 0u; c < DIM; c++) {
        let x = data[j * DIM + c];
        let d = x - q[c];
        s = s + d * d;
    }
    return s;
}

fn own_index(i: u32) -> u32 {
    if p.self_base == NO_SELF {
        return NO_SELF;
    }
    return p.self_base + i;
}

// The query row the invocation serves (above), or query_rows or more if
// none.
fn query_row(lid: u32, wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    let t = group_index(wid, nwg) * WG + lid;
    if p.in_order != 0u && t < p.query_rows {
        return order[t];
    }
    return t;
}

@compute @workgroup_size(WG)
fn totals(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = query_row(lid, wid, nwg);
    if i >= p.query_rows {
        return;
    }
    var runs: array<vec2<u32>, AROUND>;
    let found = runs_around(query(i), &runs);
    var total = 0u;
    for (var r = 0u; r < found; r++) {
        total += runs[r].y - runs[r].x;
    }
    state[slot(COUNT, i)] = total;
}

// Calls for count and fill: the candidates in [p.lo, p.hi) of query row i
// within the bound, but its own row; `write` 0 counts them, 1 writes them.
fn visit(i: u32, write: bool) {
    let q = query(i);
    let own = own_index(i);
    var runs: array<vec2<u32>, AROUND>;
    let found = runs_around(q, &runs);
    var pos = 0u;
    if p.fresh == 0u {
        pos = state[slot(COUNT, i)];
    }
    var start = 0u;
    if write {
        start = state[slot(START, i)];
    }
    // Where the run begins in the query's sequence of candidates.
    var base = 0u;
    for (var r = 0u; r < found && base < p.hi; r++) {
        let a = runs[r].x;
        let len = runs[r].y - a;
        let first = max(base, p.lo);
        let end = min(base + len, p.hi);
        for (var v = first; v < end; v++) {
            let j = order[a + v - base];
            let key = order_key(score(j, q));
            if key <= p.limit && j != own {
                if write {
                    out[2u * (start + pos)] = key;
                    out[2u * (start + pos) + 1u] = j;
                }
                pos += 1u;
            }
        }
        base += len;
    }
    state[slot(COUNT, i)] = pos;
}

@compute @workgroup_size(WG)
fn count(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = query_row(lid, wid, nwg);
    if i < p.query_rows {
        visit(i, false);
    }
}

@compute @workgroup_size(WG)
fn fill(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = query_row(lid, wid, nwg);
    if i < p.query_rows {
        visit(i, true);
    }
}
