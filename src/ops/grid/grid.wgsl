// The grid's cells on the device, shared by its build (build.wgsl) and its
// radius search (search.wgsl); the CPU twin is `Cells` in cpu.rs. The host
// prepends DIM (1 to 4) and AROUND (3^DIM).
//
// A point's cell is floor((v - origin) * inv) per coordinate, in f32: a
// subtraction then a product, which no compiler can fuse into one rounding
// (a fused multiply-add is a * b + c), so every coordinate is the CPU's to
// the bit, save on a device that flushes subnormals to zero, where a
// difference or product below 2^-126 in magnitude, negative, floors to
// cell 0 instead of -1. That moves a point by less than 2^-126 cells,
// far inside the margin `Cells::new` leaves, so the device's searches stay
// exact; only its cells, for such points, are not the CPU's. The key is
// the CPU's multiply-xor hash in wrapping u32 arithmetic (WGSL's integer
// arithmetic wraps, as `wrapping_mul` does).

// The grid's header, 6 words: word 0 the number of non-empty cells
// (distinct keys), word 1 the bits of inv, words 2 to 5 the bits of the
// origin's coordinates (0 past DIM).
const H_CELLS: u32 = 0u;
const H_INV: u32 = 1u;
const H_ORIGIN: u32 = 2u;

// Coordinates past DIM are 0, which adds nothing to the hash.
fn cell_key(c: array<i32, 4>) -> u32 {
    let primes = array<u32, 4>(73856093u, 19349663u, 83492791u, 2654435761u);
    var h = 0u;
    for (var a = 0u; a < 4u; a++) {
        h = h ^ (bitcast<u32>(c[a]) * primes[a]);
    }
    return h;
}

// One coordinate's cell: the CPU's `((v - o) * inv).floor() as i32`. Every
// value here lies within the cells' reach (at most 2^20 cells from the
// origin), far inside i32.
fn cell_coord(v: f32, o: f32, inv: f32) -> i32 {
    return i32(floor((v - o) * inv));
}
