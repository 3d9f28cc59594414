// The fused mean-shift sums, whole queries per thread (CPU twin:
// cpu.rs, `shift`); what they compute, the bindings and
// the layout of `sums` are in shift_common.wgsl.
//
// A workgroup owns WG * QPT queries and one span of the data: each thread
// keeps QPT of them, their sums in registers, and the span's rows stream
// through workgroup memory a tile at a time, so memory is O(N D) and never
// N x N, and every data value read from workgroup memory serves QPT
// queries. Every sum runs over its span in index order, so the workgroup
// size, QPT and TILE, which the host tunes per adapter, never change a
// bit.

// Audited (StageDef::audited: built without wgpu's runtime checks under
// GpuOptions::trusted_shaders). Every index stays in range and every loop
// ends, given what the host (gpu.rs, `Sums::record`) guarantees:
// - `queries` holds (query_first + query_rows) x DIM values and `sums`
//   spans x (DIM + 2) or, in standard mode, spans x (DIM + 2) + 3 words
//   per query row, of query_rows rows: only rows i < query_rows are read
//   or written (query_is_live), in the slab of a span below `spans`, and
//   the seek status read at (spans (DIM + 2) + 2) x query_rows + i exists
//   whenever SKIP_SETTLED is set;
// - data_begin < data_end <= the rows of the bound `data` chunk (and of
//   `weights`, read only when WEIGHTED), span_rows >= 1, and the spans of
//   rows chunk_base + [data_begin, data_end) are below `spans`: a
//   workgroup's [begin, end) lies within [data_begin, data_end), and
//   tiles read rows first + t with t < rows = min(TILE, end - first);
// - a chunk holds fewer than 2^30 rows (bindings are below 4 GiB), so
//   `first += TILE` cannot wrap, and every loop's bound is a constant or
//   one of these counts;
// - private and workgroup arrays are indexed below QPT x DIM and
//   TILE x DIM by construction; integer divisions (work_of) are by
//   span_rows and a count of groups, neither 0.

// Constants the host prepends besides those of shift_common.wgsl:
//   QPT: u32           queries per thread
//   TILE: u32          data rows per tile (shaders/tile.wgsl)

var<workgroup> tile_weights: array<f32, TILE>;

// This thread's queries (query r of the thread at r * DIM) and their sums.
var<private> q: array<f32, QPT * DIM>;
var<private> num: array<f32, QPT * DIM>;
var<private> den: array<f32, QPT>;
var<private> cnt: array<f32, QPT>;

// Adds tile row `t` to the sums of all this thread's queries. The row is
// read from workgroup memory once and used QPT times.
fn visit(t: u32) {
    var x: array<f32, DIM>;
    for (var k = 0u; k < DIM; k++) {
        x[k] = tile[t * DIM + k];
    }
    var sw = 1.0;
    if WEIGHTED {
        sw = tile_weights[t];
    }
    for (var r = 0u; r < QPT; r++) {
        var d2 = 0.0;
        for (var k = 0u; k < DIM; k++) {
            let diff = x[k] - q[r * DIM + k];
            d2 = d2 + diff * diff;
        }
        if SUMS {
            let w = kernel_weight(d2) * sw;
            for (var k = 0u; k < DIM; k++) {
                num[r * DIM + k] = num[r * DIM + k] + w * (x[k] - q[r * DIM + k]);
            }
            den[r] = den[r] + w;
        }
        if COUNT {
            cnt[r] = cnt[r] + select(0.0, sw, d2 <= p.h2);
        }
    }
}

// Row of this thread's query r, coalesced: the workgroup's threads take
// consecutive rows for each r.
fn query_row(group: u32, lid: u32, r: u32) -> u32 {
    return (group * QPT + r) * WG + lid;
}

@compute @workgroup_size(WG)
fn accumulate(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let w = work_of(group_index(wid, nwg), QPT * WG);
    // Groups past the end of a 2-D grid: the whole workgroup leaves
    // together, before any barrier.
    if !w.live {
        return;
    }
    let group = w.group;
    let num_at = w.slab;
    let den_at = num_at + p.query_rows * DIM;
    let cnt_at = den_at + p.query_rows;
    var live: array<bool, QPT>;
    var any_live = false;
    for (var r = 0u; r < QPT; r++) {
        live[r] = query_is_live(query_row(group, lid, r));
        any_live = any_live || live[r];
    }
    if SKIP_SETTLED && !workgroup_any(lid, any_live) {
        return;
    }

    for (var r = 0u; r < QPT; r++) {
        let i = query_row(group, lid, r);
        if live[r] {
            for (var k = 0u; k < DIM; k++) {
                q[r * DIM + k] = queries[(p.query_first + i) * DIM + k];
            }
            if !w.fresh {
                if SUMS {
                    for (var k = 0u; k < DIM; k++) {
                        num[r * DIM + k] = bitcast<f32>(sums[num_at + i * DIM + k]);
                    }
                    den[r] = bitcast<f32>(sums[den_at + i]);
                }
                if COUNT {
                    cnt[r] = bitcast<f32>(sums[cnt_at + i]);
                }
            }
        }
    }

    for (var first = w.begin; first < w.end; first += TILE) {
        let rows = min(TILE, w.end - first);
        workgroupBarrier();
        stage_tile(first, rows, lid);
        if WEIGHTED {
            for (var t = lid; t < rows; t += WG) {
                tile_weights[t] = weights[first + t];
            }
        }
        workgroupBarrier();
        if rows == TILE {
            // A whole tile: a constant trip count, which compilers unroll
            // into constant workgroup-memory offsets.
            for (var t = 0u; t < TILE; t++) {
                visit(t);
            }
        } else {
            for (var t = 0u; t < rows; t++) {
                visit(t);
            }
        }
    }

    for (var r = 0u; r < QPT; r++) {
        let i = query_row(group, lid, r);
        if live[r] {
            if SUMS {
                for (var k = 0u; k < DIM; k++) {
                    sums[num_at + i * DIM + k] = bitcast<u32>(num[r * DIM + k]);
                }
                sums[den_at + i] = bitcast<u32>(den[r]);
            }
            if COUNT {
                sums[cnt_at + i] = bitcast<u32>(cnt[r]);
            }
        }
    }
}
