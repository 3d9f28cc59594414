// Streaming data rows through workgroup memory, shared by the stages that
// compare every query with every data row. The including stage declares the
// storage binding `data: array<f32>` (row-major, DIM values per row).

// The host prepends TILE: u32, the data rows per tile. Results never depend
// on it: every sum runs over the data in index order whatever the tile.

var<workgroup> tile: array<f32, TILE * DIM>;

// Copies `rows` data rows starting at `first` into `tile`, all threads of
// the workgroup sharing the copy. Call between two workgroupBarrier()s.
fn stage_tile(first: u32, rows: u32, lid: u32) {
    let base = first * DIM;
    for (var e = lid; e < rows * DIM; e += WG) {
        tile[e] = data[base + e];
    }
}

// Squared distance from tile row `t` to the query, summed over the
// coordinates in order like the CPU twin's `squared_distance`.
fn tile_d2(t: u32, q: ptr<function, array<f32, DIM>>) -> f32 {
    let base = t * DIM;
    var acc = 0.0;
    for (var k = 0u; k < DIM; k++) {
        let diff = tile[base + k] - (*q)[k];
        acc = acc + diff * diff;
    }
    return acc;
}
