// The fused mean-shift sums for wide rows (CPU twin: cpu.rs,
// `shift`), for dimensions where a thread can no longer keep whole
// query rows in registers, nor a workgroup whole data rows in its memory;
// what they compute, the bindings and the layout of `sums` are in
// shift_common.wgsl.
//
// The feature axis is split: a workgroup covers QB queries with SLICES
// threads each, and thread (query b, slice s) keeps the coordinates
// k = s, s + SLICES, s + 2 SLICES, ... of its query and of its `num`. The
// data stream straight from storage, TILE rows at a time, neighbouring
// threads reading neighbouring coordinates; no row has to fit workgroup
// memory. Per tile:
//   1. every thread sums (x_k - q_k)^2 over its coordinates, in increasing
//      k, for each row of the tile, into workgroup memory;
//   2. one thread per (query, row) pair adds that pair's SLICES partial
//      sums in the order s = 0, 1, ..., SLICES - 1, and computes the pair's
//      weight (and count term) once for all its threads;
//   3. every thread adds w * (x_k - q_k) to its coordinates of `num`, rows
//      in index order, and den and cnt follow.
// SLICES is a function of DIM alone (shape.rs, `slices`), so each
// squared distance, and so every sum, comes out the same whatever QB and
// TILE, which the host tunes per adapter. (A distance's terms are added in
// another order than in shift.wgsl and the CPU twin, so the two
// strategies may differ in the last bits.)

// Constants the host prepends besides those of shift_common.wgsl:
//   SLICES: u32   threads per query (a function of DIM)
//   QB: u32       queries per workgroup; the WG override is QB * SLICES
//   TILE: u32     data rows per tile

// Coordinates per thread: FULL in every slice and one more in the first
// REM slices; PER_THREAD in all.
const FULL: u32 = DIM / SLICES;
const REM: u32 = DIM % SLICES;
const PER_THREAD: u32 = (DIM + SLICES - 1u) / SLICES;

// (query, row) pairs of a tile: pair e = b * TILE + r. The partial sum of
// pair e from slice s is at part[s * PART_STRIDE + e]; the stride is
// padded by one so that neither the threads of one query (writing) nor
// those of consecutive pairs (reading) fall on a single bank.
const PAIRS: u32 = QB * TILE;
const PART_STRIDE: u32 = PAIRS + 1u;

var<workgroup> part: array<f32, SLICES * PART_STRIDE>;
var<workgroup> pair_weight: array<f32, PAIRS>;
var<workgroup> pair_count: array<f32, PAIRS>;
var<workgroup> tile_weights: array<f32, TILE>;

// This thread's coordinates of its query (coordinate s + c * SLICES at c)
// and of its sums; den and cnt are the query's, kept by all its threads
// alike and stored by slice 0.
var<private> q: array<f32, PER_THREAD>;
var<private> num: array<f32, PER_THREAD>;
var<private> den: f32;
var<private> cnt: f32;

// The sum of (x_k - q_k)^2 over this thread's coordinates k of data row
// `j`, in increasing k.
fn partial_d2(j: u32, s: u32) -> f32 {
    let base = j * DIM + s;
    var acc = 0.0;
    for (var c = 0u; c < FULL; c++) {
        let diff = data[base + c * SLICES] - q[c];
        acc = acc + diff * diff;
    }
    if REM > 0u && s < REM {
        let diff = data[base + FULL * SLICES] - q[PER_THREAD - 1u];
        acc = acc + diff * diff;
    }
    return acc;
}

// Adds data row `j`, pair `e` of the tile, to this thread's sums.
fn visit(j: u32, e: u32, s: u32) {
    if SUMS {
        let w = pair_weight[e];
        let base = j * DIM + s;
        for (var c = 0u; c < FULL; c++) {
            num[c] = num[c] + w * (data[base + c * SLICES] - q[c]);
        }
        if REM > 0u && s < REM {
            let c = PER_THREAD - 1u;
            num[c] = num[c] + w * (data[base + FULL * SLICES] - q[c]);
        }
        den = den + w;
    }
    if COUNT {
        cnt = cnt + pair_count[e];
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
    let group = group_index(wid, nwg);
    // Groups past the end of a 2-D grid: the whole workgroup leaves
    // together, before any barrier.
    if group * QB >= p.query_rows {
        return;
    }
    let i = group * QB + b;
    let den_at = p.query_rows * DIM;
    let cnt_at = den_at + p.query_rows;
    let live = query_is_live(i);
    if SKIP_SETTLED && !workgroup_any(lid, live) {
        return;
    }

    if live {
        let base = i * DIM + s;
        for (var c = 0u; c < PER_THREAD; c++) {
            if c < FULL || s < REM {
                q[c] = queries[base + c * SLICES];
            }
        }
        if p.fresh == 0u {
            if SUMS {
                for (var c = 0u; c < PER_THREAD; c++) {
                    if c < FULL || s < REM {
                        num[c] = bitcast<f32>(sums[base + c * SLICES]);
                    }
                }
                den = bitcast<f32>(sums[den_at + i]);
            }
            if COUNT {
                cnt = bitcast<f32>(sums[cnt_at + i]);
            }
        }
    }

    // Pair (b, r) of this thread's query with tile row r.
    let own = b * TILE;
    for (var first = p.data_begin; first < p.data_end; first += TILE) {
        let rows = min(TILE, p.data_end - first);
        // Sample weights and part[] were last read in step 2 of the
        // previous tile, before its second barrier.
        if WEIGHTED {
            for (var t = lid; t < rows; t += WG) {
                tile_weights[t] = weights[first + t];
            }
        }
        // 1. Partial squared distances. A whole tile has a constant trip
        // count, which compilers can unroll.
        if rows == TILE {
            for (var r = 0u; r < TILE; r++) {
                part[s * PART_STRIDE + own + r] = partial_d2(first + r, s);
            }
        } else {
            for (var r = 0u; r < rows; r++) {
                part[s * PART_STRIDE + own + r] = partial_d2(first + r, s);
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
                visit(first + r, own + r, s);
            }
        } else {
            for (var r = 0u; r < rows; r++) {
                visit(first + r, own + r, s);
            }
        }
    }

    if live {
        if SUMS {
            let base = i * DIM + s;
            for (var c = 0u; c < PER_THREAD; c++) {
                if c < FULL || s < REM {
                    sums[base + c * SLICES] = bitcast<u32>(num[c]);
                }
            }
        }
        if s == 0u {
            if SUMS {
                sums[den_at + i] = bitcast<u32>(den);
            }
            if COUNT {
                sums[cnt_at + i] = bitcast<u32>(cnt);
            }
        }
    }
}
