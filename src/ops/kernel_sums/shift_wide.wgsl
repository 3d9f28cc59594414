// The fused mean-shift sums for wide rows (CPU twin: cpu.rs,
// `shift`), for dimensions where a thread can no longer keep whole
// query rows in registers, nor a workgroup whole data rows in its memory;
// what they compute, the bindings and the layout of `sums` are in
// shift_common.wgsl.
//
// The feature axis is split: a workgroup has QB groups of SLICES threads,
// each group covering QPT queries, and thread (group b, slice s) keeps the
// coordinates k = s, s + SLICES, s + 2 SLICES, ... of its QPT queries and
// of their `num`. The data stream straight from storage, TILE rows at a
// time, neighbouring threads reading neighbouring coordinates; no row has
// to fit workgroup memory. Per tile:
//   1. every thread reads its coordinates of each row of the tile once,
//      keeps them in registers (up to KEPT_COORDS of them per row), and
//      sums (x_k - q_k)^2 over them, in increasing k, for each of its
//      queries, into workgroup memory;
//   2. one thread per (query, row) pair adds that pair's SLICES partial
//      sums in the order s = 0, 1, ..., SLICES - 1, and computes the pair's
//      weight (and count term) once for all its threads;
//   3. every thread adds w * (x_k - q_k) to its coordinates of each of its
//      queries' `num`, from the values kept in step 1, rows in index
//      order, and den and cnt follow.
// A workgroup sums its queries over one span of the data (shift_common.wgsl).
// So each data value is read from storage once per workgroup and tile,
// and serves all QB * QPT queries. (Rows of more than KEPT_COORDS
// coordinates per thread, above D = 512, are read again from storage for
// each query in each step, as the kept values would no longer fit
// registers.) SLICES is a function of DIM alone
// (shape.rs, `slices`); a query's terms, each squared distance included,
// are computed by the same operations in the same order whatever its
// thread, so every sum comes out the same whatever QB, QPT and TILE,
// which the host tunes per adapter. (A distance's terms are added in
// another order than in shift.wgsl and the CPU twin, so the two
// strategies may differ in the last bits.)

// Constants the host prepends besides those of shift_common.wgsl:
//   SLICES: u32   threads per query (a function of DIM)
//   QB: u32       groups of SLICES threads per workgroup; the WG override
//                 is QB * SLICES
//   QPT: u32      queries per thread
//   TILE: u32     data rows per tile
//   KEPT_COORDS: u32  coordinates of a row a thread keeps in registers, at
//                 most (shape.rs, WIDE_COORDS_PER_THREAD)

// Coordinates per thread: FULL in every slice and one more in the first
// REM slices; PER_THREAD in all.
const FULL: u32 = DIM / SLICES;
const REM: u32 = DIM % SLICES;
const PER_THREAD: u32 = (DIM + SLICES - 1u) / SLICES;

// Whether a thread keeps its coordinates of the tile's rows in registers:
// where it has at most KEPT_COORDS of them per row (up to D = 512).
const KEEP: bool = PER_THREAD <= KEPT_COORDS;

// (query, row) pairs of a tile: pair e = a * TILE + r for query a of the
// workgroup (a = u * QB + b for query u of group b). The partial sum of
// pair e from slice s is at part[s * PART_STRIDE + e]; the stride is
// padded by one so that neither the threads of one query (writing) nor
// those of consecutive pairs (reading) fall on a single bank.
const QUERIES: u32 = QB * QPT;
const PAIRS: u32 = QUERIES * TILE;
const PART_STRIDE: u32 = PAIRS + 1u;

var<workgroup> part: array<f32, SLICES * PART_STRIDE>;
var<workgroup> pair_weight: array<f32, PAIRS>;
var<workgroup> pair_count: array<f32, PAIRS>;
var<workgroup> tile_weights: array<f32, TILE>;

// This thread's coordinates of its queries (coordinate s + c * SLICES of
// query u at u * PER_THREAD + c) and of their sums; den and cnt are the
// queries', kept by all their threads alike and stored by slice 0.
var<private> q: array<f32, QPT * PER_THREAD>;
var<private> num: array<f32, QPT * PER_THREAD>;
var<private> den: array<f32, QPT>;
var<private> cnt: array<f32, QPT>;
// Whether each of this thread's queries is summed and stored.
var<private> live: array<bool, QPT>;
// Where KEEP: this thread's coordinates of the tile's rows (coordinate
// s + c * SLICES of row r at r * PER_THREAD + c), read in step 1 and used
// again in step 3. Otherwise unused (and sized to fit the smaller rows).
var<private> x: array<f32, TILE * min(PER_THREAD, KEPT_COORDS)>;

// Reads this thread's coordinates of data row `j`, row `r` of the tile,
// into `x`.
fn load_row(j: u32, r: u32, s: u32) {
    let base = j * DIM + s;
    let at = r * PER_THREAD;
    for (var c = 0u; c < FULL; c++) {
        x[at + c] = data[base + c * SLICES];
    }
    if REM > 0u && s < REM {
        x[at + FULL] = data[base + FULL * SLICES];
    }
}

// This thread's coordinate s + c * SLICES of data row `j`, row `r` of the
// tile: kept in `x` or, where not KEEP, read from storage.
fn value(j: u32, r: u32, c: u32, s: u32) -> f32 {
    if KEEP {
        return x[r * PER_THREAD + c];
    }
    return data[j * DIM + s + c * SLICES];
}

// The sum of (x_k - q_k)^2 over this thread's coordinates k of data row
// `j`, row `r` of the tile, and query `u`, in increasing k.
fn partial_d2(j: u32, r: u32, u: u32, s: u32) -> f32 {
    let qu = u * PER_THREAD;
    var acc = 0.0;
    for (var c = 0u; c < FULL; c++) {
        let diff = value(j, r, c, s) - q[qu + c];
        acc = acc + diff * diff;
    }
    if REM > 0u && s < REM {
        let diff = value(j, r, FULL, s) - q[qu + FULL];
        acc = acc + diff * diff;
    }
    return acc;
}

// Data row `j`, row `r` of the tile: its coordinates kept, and each
// query's partial squared distance to it stored for step 2.
fn distances(j: u32, r: u32, b: u32, s: u32) {
    if KEEP {
        load_row(j, r, s);
    }
    for (var u = 0u; u < QPT; u++) {
        part[s * PART_STRIDE + (u * QB + b) * TILE + r] = partial_d2(j, r, u, s);
    }
}

// Adds data row `j`, row `r` of the tile, to the sums of this thread's
// queries.
fn visit(j: u32, r: u32, b: u32, s: u32) {
    for (var u = 0u; u < QPT; u++) {
        let e = (u * QB + b) * TILE + r;
        if SUMS {
            let w = pair_weight[e];
            let qu = u * PER_THREAD;
            for (var c = 0u; c < FULL; c++) {
                num[qu + c] = num[qu + c] + w * (value(j, r, c, s) - q[qu + c]);
            }
            if REM > 0u && s < REM {
                num[qu + FULL] = num[qu + FULL] + w * (value(j, r, FULL, s) - q[qu + FULL]);
            }
            den[u] = den[u] + w;
        }
        if COUNT {
            cnt[u] = cnt[u] + pair_count[e];
        }
    }
}

@compute @workgroup_size(WG)
fn accumulate(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let s = lid % SLICES;
    let b = lid / SLICES;
    let w = work_of(group_index(wid, nwg), QUERIES);
    // Groups past the end of a 2-D grid: the whole workgroup leaves
    // together, before any barrier.
    if !w.live {
        return;
    }
    // Query u of this thread is i0 + u * QB.
    let i0 = w.group * QUERIES + b;
    let num_at = w.slab;
    let den_at = num_at + p.query_rows * DIM;
    let cnt_at = den_at + p.query_rows;
    var any_live = false;
    for (var u = 0u; u < QPT; u++) {
        let i = i0 + u * QB;
        live[u] = query_is_live(i);
        if !live[u] {
            continue;
        }
        any_live = true;
        let base = i * DIM + s;
        let query_base = (p.query_first + i) * DIM + s;
        let qu = u * PER_THREAD;
        for (var c = 0u; c < PER_THREAD; c++) {
            if c < FULL || s < REM {
                q[qu + c] = queries[query_base + c * SLICES];
            }
        }
        if !w.fresh {
            if SUMS {
                for (var c = 0u; c < PER_THREAD; c++) {
                    if c < FULL || s < REM {
                        num[qu + c] = bitcast<f32>(sums[num_at + base + c * SLICES]);
                    }
                }
                den[u] = bitcast<f32>(sums[den_at + i]);
            }
            if COUNT {
                cnt[u] = bitcast<f32>(sums[cnt_at + i]);
            }
        }
    }
    if SKIP_SETTLED && !workgroup_any(lid, any_live) {
        return;
    }

    for (var first = w.begin; first < w.end; first += TILE) {
        let rows = min(TILE, w.end - first);
        // Sample weights and part[] were last read in step 2 of the
        // previous tile, before its second barrier.
        if WEIGHTED {
            for (var t = lid; t < rows; t += WG) {
                tile_weights[t] = weights[first + t];
            }
        }
        // 1. Partial squared distances. A whole tile has a constant trip
        // count, which compilers can unroll (and so keep `x` in
        // registers).
        if rows == TILE {
            for (var r = 0u; r < TILE; r++) {
                distances(first + r, r, b, s);
            }
        } else {
            for (var r = 0u; r < rows; r++) {
                distances(first + r, r, b, s);
            }
        }
        workgroupBarrier();
        // 2. Each pair's squared distance, in slice order, and its terms.
        for (var e = lid; e < PAIRS; e += WG) {
            let r = e % TILE;
            if r < rows {
                var d2 = 0.0;
                for (var t = 0u; t < SLICES; t++) {
                    d2 = d2 + part[t * PART_STRIDE + e];
                }
                var sw = 1.0;
                if WEIGHTED {
                    sw = tile_weights[r];
                }
                if SUMS {
                    pair_weight[e] = kernel_weight(d2) * sw;
                }
                if COUNT {
                    pair_count[e] = select(0.0, sw, d2 <= p.h2);
                }
            }
        }
        workgroupBarrier();
        // 3. The rows' terms, in index order. pair_weight and pair_count
        // are next written after the next tile's first barrier.
        if rows == TILE {
            for (var r = 0u; r < TILE; r++) {
                visit(first + r, r, b, s);
            }
        } else {
            for (var r = 0u; r < rows; r++) {
                visit(first + r, r, b, s);
            }
        }
    }

    for (var u = 0u; u < QPT; u++) {
        if !live[u] {
            continue;
        }
        let i = i0 + u * QB;
        if SUMS {
            let base = i * DIM + s;
            let qu = u * PER_THREAD;
            for (var c = 0u; c < PER_THREAD; c++) {
                if c < FULL || s < REM {
                    sums[num_at + base + c * SLICES] = bitcast<u32>(num[qu + c]);
                }
            }
        }
        if s == 0u {
            if SUMS {
                sums[den_at + i] = bitcast<u32>(den[u]);
            }
            if COUNT {
                sums[cnt_at + i] = bitcast<u32>(cnt[u]);
            }
        }
    }
}
