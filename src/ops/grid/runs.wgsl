// The runs of the grid's points in the cells around a point (the CPU
// twin: `Grid::around`), shared by the grid's radius search (search.wgsl)
// and mean shift's sums through it (kernel_sums/shift_grid_runs.wgsl,
// grid_most.wgsl). After grid.wgsl; the including stage binds the grid's
// `cell_keys`, `starts` and `header` (gpu.rs `DeviceGrid`).
//
// For the AROUND cells around q's home cell, each distinct key once
// (cells with one hash share a run), found by binary search among the
// distinct keys: [runs[r].x, runs[r].y) of the grid's order for r below
// the count returned, in the order of the cells' offsets.
fn runs_around(q: array<f32, 4>, runs: ptr<function, array<vec2<u32>, AROUND>>) -> u32 {
    let inv = bitcast<f32>(header[H_INV]);
    var home = array<i32, 4>(0, 0, 0, 0);
    for (var a = 0u; a < DIM; a++) {
        home[a] = cell_coord(q[a], bitcast<f32>(header[H_ORIGIN + a]), inv);
    }
    let cells = header[H_CELLS];
    var seen: array<u32, AROUND>;
    var distinct = 0u;
    var found = 0u;
    for (var n = 0u; n < AROUND; n++) {
        var c = home;
        var rest = n;
        for (var a = 0u; a < DIM; a++) {
            c[a] = c[a] + i32(rest % 3u) - 1;
            rest = rest / 3u;
        }
        let k = cell_key(c);
        var again = false;
        for (var s = 0u; s < distinct; s++) {
            again = again || seen[s] == k;
        }
        if again {
            continue;
        }
        seen[distinct] = k;
        distinct += 1u;
        // The first distinct key not below k.
        var lo = 0u;
        var hi = cells;
        while lo < hi {
            let mid = lo + (hi - lo) / 2u;
            if cell_keys[mid] < k {
                lo = mid + 1u;
            } else {
                hi = mid;
            }
        }
        if lo < cells && cell_keys[lo] == k {
            (*runs)[found] = vec2<u32>(starts[lo], starts[lo + 1u]);
            found += 1u;
        }
    }
    return found;
}
