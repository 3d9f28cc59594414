// The mean-shift sums with distances expanded into a matrix product (CPU
// twin: cpu_gemm.rs), opted into by `Distances::Expanded` for rows of more
// than 32 coordinates; the bindings, parameters, spans and the layout of
// `sums` are shift_common.wgsl's.
//
// For query q and data row x (k in increasing order, each sum from 0):
//   qq  = sum q_k^2,  xx = sum x_k^2,  dot = sum q_k x_k
//   d2  = max((qq + xx) - 2 dot, 0)
//   w   = K(d2) * sample_weight
// and over each span's rows, in index order, from zero:
//   num += w * x      (positions, not displacements)
//   den += w
//   cnt += sample_weight where d2 <= h^2
// After the spans are added (shift_spans.wgsl), `centre` turns `num` into
// the displacement sum the finishing stages expect: num - q * den, so the
// moved position is q + (num - q den) / den.
//
// A workgroup owns QB queries and walks its span TILE rows at a time:
//   1. the dot products of its QB x TILE (query, row) pairs, as a tiled
//      matrix product: both operands staged in workgroup memory KB
//      coordinates at a time, each thread a 2 x 2 register micro-tile,
//      k in increasing order; with the rows' xx, each pair's weight;
//   2. W (QB x TILE) times the tile's rows: each thread a register tile of
//      QM queries x its coordinates (c, c + CG, c + 2 CG, ...) of `num`,
//      rows in index order.
// Each value comes from the same operations in the same order whatever
// the thread, so the result is the twin's wherever the device neither
// fuses multiply-adds nor rounds otherwise (the gaussian's exp2 is the
// device's own).
//
// Expanding the distance loses precision where |x - q| << |x|: qq + xx
// and 2 dot nearly cancel, with an error of a few ulp of |x|^2 rather
// than of |x - q|^2. Centred data (the fit subtracts the mean) keep |x|
// small; the clamp keeps a cancelled d2 from going negative.

// The fixed shape: QB queries per workgroup, TILE data rows per tile, KB
// coordinates per staged slice, WG = 256 threads. Phase 1: thread
// (ta, tr) = (lid / 16, lid % 16) owns queries ta + 16 u and rows
// tr + 16 v, u, v in 0..2. Phase 2: thread (g, c) = (lid / CG, lid % CG)
// owns queries g + 8 u, u in 0..QM, and coordinates c + CG m.
const QB: u32 = 32u;
const TILE: u32 = 32u;
const KB: u32 = 16u;
const THREADS: u32 = 256u;
const SIDE: u32 = 16u;
const CG: u32 = 32u;
const QM: u32 = 4u;
const PER_THREAD: u32 = (DIM + CG - 1u) / CG;

var<workgroup> q_tile: array<f32, QB * KB>;
var<workgroup> x_tile: array<f32, TILE * KB>;
var<workgroup> qq: array<f32, QB>;
var<workgroup> xx: array<f32, TILE>;
var<workgroup> tile_weights: array<f32, TILE>;
var<workgroup> pair_weight: array<f32, QB * TILE>;
var<workgroup> pair_count: array<f32, QB * TILE>;

// Phase 2's register tile: query u's coordinate c + CG m at u * PER_THREAD + m.
var<private> num: array<f32, QM * PER_THREAD>;
var<private> den: array<f32, QM>;
var<private> cnt: array<f32, QM>;
var<private> live: array<bool, QM>;

// Coordinate `m` of phase 2's thread `c` (past DIM where m is the last
// and DIM not a multiple of CG).
fn coord(c: u32, m: u32) -> u32 {
    return c + m * CG;
}

// Phase 1 for one tile: each pair's weight and count term.
fn weigh_tile(first: u32, rows: u32, i0: u32, lid: u32) {
    let ta = lid / SIDE;
    let tr = lid % SIDE;
    // Each row's xx, k in increasing order.
    for (var r = lid; r < rows; r += THREADS) {
        let base = (first + r) * DIM;
        var acc = 0.0;
        for (var k = 0u; k < DIM; k++) {
            let v = data[base + k];
            acc = acc + v * v;
        }
        xx[r] = acc;
    }
    var dot = array<f32, 4>(0.0, 0.0, 0.0, 0.0);
    for (var k0 = 0u; k0 < DIM; k0 += KB) {
        let width = min(KB, DIM - k0);
        // Stage the slice; rows and queries past the end read as 0 and
        // are never stored.
        for (var e = lid; e < QB * KB; e += THREADS) {
            let a = e / KB;
            let k = k0 + e % KB;
            var v = 0.0;
            if k < DIM && i0 + a < p.query_rows {
                v = queries[(p.query_first + i0 + a) * DIM + k];
            }
            q_tile[e] = v;
        }
        for (var e = lid; e < TILE * KB; e += THREADS) {
            let r = e / KB;
            let k = k0 + e % KB;
            var v = 0.0;
            if k < DIM && r < rows {
                v = data[(first + r) * DIM + k];
            }
            x_tile[e] = v;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < width; kk++) {
            for (var u = 0u; u < 2u; u++) {
                let qv = q_tile[(ta + u * SIDE) * KB + kk];
                for (var v = 0u; v < 2u; v++) {
                    let xv = x_tile[(tr + v * SIDE) * KB + kk];
                    dot[u * 2u + v] = dot[u * 2u + v] + qv * xv;
                }
            }
        }
        workgroupBarrier();
    }
    for (var u = 0u; u < 2u; u++) {
        let a = ta + u * SIDE;
        for (var v = 0u; v < 2u; v++) {
            let r = tr + v * SIDE;
            if r < rows {
                let d2 = max((qq[a] + xx[r]) - 2.0 * dot[u * 2u + v], 0.0);
                var sw = 1.0;
                if WEIGHTED {
                    sw = tile_weights[r];
                }
                if SUMS {
                    pair_weight[a * TILE + r] = kernel_weight(d2) * sw;
                }
                if COUNT {
                    pair_count[a * TILE + r] = select(0.0, sw, d2 <= p.h2);
                }
            }
        }
    }
}

// Phase 2 for one tile: W times the tile's rows, rows in index order.
fn add_tile(first: u32, rows: u32, lid: u32) {
    let g = lid / CG;
    let c = lid % CG;
    for (var r = 0u; r < rows; r++) {
        if SUMS {
            let base = (first + r) * DIM;
            for (var m = 0u; m < PER_THREAD; m++) {
                let k = coord(c, m);
                if k < DIM {
                    let xv = data[base + k];
                    for (var u = 0u; u < QM; u++) {
                        let w = pair_weight[(g + u * (THREADS / CG)) * TILE + r];
                        num[u * PER_THREAD + m] = num[u * PER_THREAD + m] + w * xv;
                    }
                }
            }
        }
        for (var u = 0u; u < QM; u++) {
            let e = (g + u * (THREADS / CG)) * TILE + r;
            if SUMS {
                den[u] = den[u] + pair_weight[e];
            }
            if COUNT {
                cnt[u] = cnt[u] + pair_count[e];
            }
        }
    }
}

@compute @workgroup_size(WG)
fn accumulate(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let w = work_of(group_index(wid, nwg), QB);
    if !w.live {
        return;
    }
    let i0 = w.group * QB;
    let g = lid / CG;
    let c = lid % CG;
    let num_at = w.slab;
    let den_at = num_at + p.query_rows * DIM;
    let cnt_at = den_at + p.query_rows;
    var any_live = false;
    for (var u = 0u; u < QM; u++) {
        let i = i0 + g + u * (THREADS / CG);
        live[u] = query_is_live(i);
        if !live[u] || w.fresh {
            continue;
        }
        if SUMS {
            for (var m = 0u; m < PER_THREAD; m++) {
                if coord(c, m) < DIM {
                    num[u * PER_THREAD + m] = bitcast<f32>(sums[num_at + i * DIM + coord(c, m)]);
                }
            }
            den[u] = bitcast<f32>(sums[den_at + i]);
        }
        if COUNT {
            cnt[u] = bitcast<f32>(sums[cnt_at + i]);
        }
    }
    for (var u = 0u; u < QM; u++) {
        any_live = any_live || live[u];
    }
    if SKIP_SETTLED && !workgroup_any(lid, any_live) {
        return;
    }
    // Each query's qq, k in increasing order.
    for (var a = lid; a < QB; a += THREADS) {
        var acc = 0.0;
        if i0 + a < p.query_rows {
            let base = (p.query_first + i0 + a) * DIM;
            for (var k = 0u; k < DIM; k++) {
                let v = queries[base + k];
                acc = acc + v * v;
            }
        }
        qq[a] = acc;
    }

    for (var first = w.begin; first < w.end; first += TILE) {
        let rows = min(TILE, w.end - first);
        // tile_weights, xx and the pairs were last read in phase 2 of the
        // previous tile, before this barrier.
        workgroupBarrier();
        if WEIGHTED {
            for (var t = lid; t < rows; t += THREADS) {
                tile_weights[t] = weights[first + t];
            }
        }
        weigh_tile(first, rows, i0, lid);
        workgroupBarrier();
        add_tile(first, rows, lid);
    }

    for (var u = 0u; u < QM; u++) {
        if !live[u] {
            continue;
        }
        let i = i0 + g + u * (THREADS / CG);
        if SUMS {
            for (var m = 0u; m < PER_THREAD; m++) {
                if coord(c, m) < DIM {
                    sums[num_at + i * DIM + coord(c, m)] = bitcast<u32>(num[u * PER_THREAD + m]);
                }
            }
        }
        if c == 0u {
            if SUMS {
                sums[den_at + i] = bitcast<u32>(den[u]);
            }
            if COUNT {
                sums[cnt_at + i] = bitcast<u32>(cnt[u]);
            }
        }
    }
}

// After the spans are added into the first slab: num = num - q * den per
// coordinate, one thread per (query, coordinate) word. Settled seeds,
// whose sums were not taken again, are left alone.
@compute @workgroup_size(WG)
fn centre(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let e = group_index(wid, nwg) * WG + lid;
    let i = e / DIM;
    if !query_is_live(i) {
        return;
    }
    let q = queries[(p.query_first + i) * DIM + e % DIM];
    let den_i = bitcast<f32>(sums[p.query_rows * DIM + i]);
    sums[e] = bitcast<u32>(bitcast<f32>(sums[e]) - q * den_i);
}
