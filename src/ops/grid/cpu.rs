//! The grid on the CPU: cells keyed by a hash of their coordinates,
//! points sorted by key, and each query's 3^D neighbouring cells found by
//! binary search.

use super::MAX_DIM;
use crate::cpu::map_indices;
use crate::ops::topk::{SelfOffset, Within, order_key};

/// The points sorted by cell, and where each distinct cell key's run
/// starts.
pub(crate) struct Grid {
    cells: Cells,
    /// The distinct keys, ascending.
    keys: Vec<u32>,
    /// Run `c` of `order` (the points of key `keys[c]`) is
    /// `starts[c]..starts[c + 1]`.
    starts: Vec<usize>,
    /// Point indices sorted by key, ties by index.
    order: Vec<u32>,
}

/// How coordinates map to cells for a search radius: cells a little wider
/// than the radius, counted from the middle of some data.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cells {
    dim: usize,
    /// Coordinates minus `origin`, times `inv`, floored, give a point's
    /// cell.
    origin: [f32; MAX_DIM],
    inv: f32,
    /// How far from `origin` (per coordinate) a query may lie for its
    /// cells to be trusted: twice the data's extent, plus the radius.
    reach: f64,
    /// How many cells the data's bounding box spans. No more are
    /// occupied: a point's cell is monotone in each coordinate, and a NaN
    /// coordinate's cell (0) is the origin's, inside the box.
    box_cells: f64,
}

/// A cell's integer coordinates (zeros past the grid's dimension).
pub(crate) type Cell = [i32; MAX_DIM];

/// A cell's key: a hash of its coordinates (the classic multiply-xor of
/// spatial hashing), in wrapping `u32` arithmetic.
fn key(c: &Cell) -> u32 {
    const PRIMES: [u32; MAX_DIM] = [73_856_093, 19_349_663, 83_492_791, 2_654_435_761];
    c.iter()
        .zip(PRIMES)
        .fold(0u32, |h, (&v, p)| h ^ (v as u32).wrapping_mul(p))
}

impl Cells {
    /// Cells for searches within squared distance `bound` among `data`
    /// (`dim` coordinates each), for queries within their reach (see
    /// [`Cells::covers`]), or `None` where cells cannot be trusted: `dim`
    /// above [`MAX_DIM`], a radius that is 0 or not finite, or cells too
    /// fine for the coordinates (more than 2^20 cells across the reach,
    /// where `f32` rounding is no longer small against one cell). Cells
    /// count from the middle of the data, so data far from the origin is no
    /// obstacle; only its extent is.
    pub fn new(data: &[f32], dim: usize, bound: f32) -> Option<Self> {
        if dim == 0 || dim > MAX_DIM || !(bound.is_finite() && bound > 0.0) {
            return None;
        }
        // The radius, rounded up: every score `<= bound` is a distance
        // `<= radius`.
        let radius = f64::from(bound).sqrt() * (1.0 + 1e-6);
        let mut lo = [f32::INFINITY; MAX_DIM];
        let mut hi = [f32::NEG_INFINITY; MAX_DIM];
        for x in data.chunks_exact(dim) {
            for (a, &v) in x.iter().enumerate() {
                lo[a] = lo[a].min(v);
                hi[a] = hi[a].max(v);
            }
        }
        let mut origin = [0.0f32; MAX_DIM];
        for a in 0..dim {
            origin[a] = ((f64::from(lo[a]) + f64::from(hi[a])) / 2.0) as f32;
        }
        let largest = (0..dim)
            .map(|a| (f64::from(hi[a]) - f64::from(lo[a])) / 2.0)
            .fold(0.0f64, f64::max);
        let reach = 2.0 * largest + radius;
        let cells_across = reach / radius;
        if cells_across > f64::from(1u32 << 20) {
            return None;
        }
        // Two points within the radius are within `radius * inv <= 1 - s`
        // cells of each other, and rounding `x - origin` and then its
        // product with `inv` to f32 moves each by at most
        // `cells_across * 2^-23` cells: with `s` above twice that, their
        // floors differ by at most 1, so 3^D cells hold every neighbour.
        let shrink = (4.0 * cells_across * f64::from(f32::EPSILON)).max(1e-6);
        let inv = ((1.0 - shrink) / radius) as f32;
        let mut cells = Self {
            dim,
            origin,
            inv,
            reach,
            box_cells: 0.0,
        };
        let (first, last) = (cells.cell(&lo[..dim]), cells.cell(&hi[..dim]));
        cells.box_cells = (0..dim)
            .map(|a| f64::from(last[a]) - f64::from(first[a]) + 1.0)
            .product();
        Some(cells)
    }

    /// Coordinates per point.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// The point cells count from (0 past the dimension): what the GPU's
    /// cells (`grid.wgsl`) subtract, bit for bit.
    pub fn origin(&self) -> [f32; MAX_DIM] {
        self.origin
    }

    /// The inverse of a cell's width: what the GPU's cells multiply by.
    pub fn inv(&self) -> f32 {
        self.inv
    }

    /// The cell of `x`: its coordinates minus `origin`, times `inv`,
    /// floored (all in `f32`).
    pub fn cell(&self, x: &[f32]) -> Cell {
        let mut c = [0i32; MAX_DIM];
        for ((c, v), o) in c.iter_mut().zip(x).zip(&self.origin) {
            *c = ((v - o) * self.inv).floor() as i32;
        }
        c
    }

    /// The key of the cell of `x`: what [`Grid::build`] sorts the points
    /// by.
    fn key_of(&self, x: &[f32]) -> u32 {
        key(&self.cell(x))
    }

    /// Whether [`Grid::build`] over `data` with these cells would have at
    /// least `at_least` cells (distinct keys), found without building it:
    /// no when the data's bounding box holds fewer cells, else by counting
    /// distinct keys in a table of at most `4 at_least` slots (no sort),
    /// stopping as soon as `at_least` are seen.
    pub fn has_cells(&self, data: &[f32], at_least: usize) -> bool {
        if at_least == 0 {
            return true;
        }
        // No more cells than points, nor than the box holds.
        let n = data.len() / self.dim;
        if n < at_least || self.box_cells < at_least as f64 {
            return false;
        }
        // Open addressing with linear probing, at most half full; a slot
        // holds a key widened to u64, so `EMPTY` is no key.
        const EMPTY: u64 = u64::MAX;
        let bits = (2 * at_least)
            .next_power_of_two()
            .trailing_zeros()
            .clamp(1, 32);
        let mut table = vec![EMPTY; 1 << bits];
        let mask = table.len() - 1;
        let mut found = 0;
        let mut last = None;
        for x in data.chunks_exact(self.dim) {
            let k = self.key_of(x);
            // Neighbouring points often share a cell.
            if last == Some(k) {
                continue;
            }
            last = Some(k);
            // Fibonacci hashing: the keys' own low bits are poorly mixed.
            let mut slot = (k.wrapping_mul(0x9E37_79B9) >> (32 - bits)) as usize;
            loop {
                match table[slot] {
                    EMPTY => {
                        table[slot] = u64::from(k);
                        found += 1;
                        if found == at_least {
                            return true;
                        }
                        break;
                    }
                    held if held == u64::from(k) => break,
                    _ => slot = (slot + 1) & mask,
                }
            }
        }
        false
    }

    /// Whether every point of `queries` lies within the cells' reach,
    /// where the cells around a point's hold every point within the
    /// radius of it.
    pub fn covers(&self, queries: &[f32]) -> bool {
        queries.chunks_exact(self.dim).all(|q| {
            q.iter()
                .zip(&self.origin)
                .all(|(v, o)| (f64::from(*v) - f64::from(*o)).abs() <= self.reach)
        })
    }

    /// The 3^D cells around `home`, itself included.
    pub fn around(&self, home: &Cell) -> impl Iterator<Item = Cell> {
        let (dim, home) = (self.dim, *home);
        (0..3usize.pow(dim as u32)).map(move |n| {
            let mut c = home;
            let mut rest = n;
            for v in c.iter_mut().take(dim) {
                *v = v.wrapping_add((rest % 3) as i32 - 1);
                rest /= 3;
            }
            c
        })
    }
}

impl Grid {
    /// The grid for searches within squared distance `bound` among `data`
    /// (`dim` coordinates each): there is one exactly where
    /// [`Cells::new`] gives cells (nothing after it fails), so a caller
    /// that only asks whether there would be a grid, and how many cells
    /// ([`Cells::has_cells`]), need not build it.
    pub fn build(data: &[f32], dim: usize, bound: f32) -> Option<Self> {
        let cells = Cells::new(data, dim, bound)?;
        let n = data.len() / dim;
        let keys: Vec<u32> = data.chunks_exact(dim).map(|x| cells.key_of(x)).collect();
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.sort_by_key(|&i| keys[i as usize]);
        let mut distinct: Vec<u32> = Vec::new();
        let mut starts: Vec<usize> = Vec::new();
        for (at, &i) in order.iter().enumerate() {
            let k = keys[i as usize];
            if distinct.last() != Some(&k) {
                distinct.push(k);
                starts.push(at);
            }
        }
        starts.push(n);
        Some(Self {
            cells,
            keys: distinct,
            starts,
            order,
        })
    }

    /// The point indices by key, the distinct keys and the run starts, to
    /// compare with the device's build.
    #[cfg(test)]
    pub fn parts(&self) -> (&[u32], &[u32], Vec<u32>) {
        let starts = self.starts.iter().map(|&s| s as u32).collect();
        (&self.order, &self.keys, starts)
    }

    /// Non-empty cells (distinct keys; cells sharing a hash count once):
    /// what [`Cells::has_cells`] answers for without the grid.
    #[cfg(test)]
    pub fn cells(&self) -> usize {
        self.keys.len()
    }

    /// Coordinates per point.
    pub fn dim(&self) -> usize {
        self.cells.dim
    }

    /// Whether every query lies within the grid's reach, where its cells
    /// hold all its neighbours.
    pub fn covers(&self, queries: &[f32]) -> bool {
        self.cells.covers(queries)
    }

    /// The run of points of `key`, if any.
    fn run(&self, key: u32) -> &[u32] {
        match self.keys.binary_search(&key) {
            Ok(c) => &self.order[self.starts[c]..self.starts[c + 1]],
            Err(_) => &[],
        }
    }

    /// Calls `f(j, score)` for every data row `j` within squared distance
    /// `bound` (the grid's) of `q`, which lies within [`Grid::covers`]'s
    /// reach: in cell order, not sorted, the query's own row included
    /// when it is a data row. Each row is visited once.
    pub fn visit(&self, data: &[f32], q: &[f32], bound: f32, f: impl FnMut(u32, f32)) {
        self.visit_below(data, q, bound, u32::MAX, f);
    }

    /// [`Grid::visit`] for the rows of index below `below` only, which
    /// costs no distance for the others (a run holds its rows in index
    /// order).
    pub fn visit_below(
        &self,
        data: &[f32],
        q: &[f32],
        bound: f32,
        below: u32,
        mut f: impl FnMut(u32, f32),
    ) {
        self.visit_until(data, q, bound, below, |j, s| {
            f(j, s);
            false
        });
    }

    /// [`Grid::visit_below`] until `f` returns `true`; returns whether it
    /// did.
    pub fn visit_until(
        &self,
        data: &[f32],
        q: &[f32],
        bound: f32,
        below: u32,
        mut f: impl FnMut(u32, f32) -> bool,
    ) -> bool {
        let dim = self.cells.dim;
        let limit = order_key(bound);
        let (keys, distinct) = self.keys_around(&self.cells.cell(q));
        for &k in &keys[..distinct] {
            for &j in self.run(k).iter().take_while(|&&j| j < below) {
                let at = j as usize * dim;
                let s = crate::cpu::squared_distance(&data[at..at + dim], q);
                if order_key(s) <= limit && f(j, s) {
                    return true;
                }
            }
        }
        false
    }

    /// The keys of the 3^D cells around `home` (itself included), each
    /// once (cells with one hash share a run), and how many there are.
    fn keys_around(&self, home: &Cell) -> ([u32; 3usize.pow(MAX_DIM as u32)], usize) {
        let mut keys = [0u32; 3usize.pow(MAX_DIM as u32)];
        let mut distinct = 0;
        for c in self.cells.around(home) {
            let k = key(&c);
            if !keys[..distinct].contains(&k) {
                keys[distinct] = k;
                distinct += 1;
            }
        }
        (keys, distinct)
    }

    /// The queries grouped by the cell each lies in: every group's cell
    /// and its queries' indices, ascending. Queries of one cell share the
    /// cells around it, so a group can be searched as a block.
    pub fn home_cells(&self, queries: &[f32]) -> Vec<(Cell, Vec<u32>)> {
        let cells: Vec<Cell> = queries
            .chunks_exact(self.cells.dim)
            .map(|q| self.cells.cell(q))
            .collect();
        let mut order: Vec<u32> = (0..cells.len() as u32).collect();
        // Stable: each group's indices stay ascending.
        order.sort_by_key(|&i| cells[i as usize]);
        let mut groups: Vec<(Cell, Vec<u32>)> = Vec::new();
        for i in order {
            let c = cells[i as usize];
            match groups.last_mut() {
                Some((last, members)) if *last == c => members.push(i),
                _ => groups.push((c, vec![i])),
            }
        }
        groups
    }

    /// The data rows in the 3^D cells around `home`, ascending: every row
    /// within the grid's radius of any point of `home`, and others.
    pub fn around(&self, home: &Cell) -> Vec<u32> {
        let (keys, distinct) = self.keys_around(home);
        let mut rows: Vec<u32> = keys[..distinct]
            .iter()
            .flat_map(|&k| self.run(k))
            .copied()
            .collect();
        rows.sort_unstable();
        rows
    }

    /// Every data row within squared distance `bound` (the grid's) of
    /// each query, all within [`Grid::covers`]'s reach (as
    /// `topk::within` gives them: the query's own row left out with
    /// `exclude`, lists sorted by (score, index)).
    pub fn within(&self, data: &[f32], queries: &[f32], bound: f32, exclude: SelfOffset) -> Within {
        let dim = self.cells.dim;
        let rows = map_indices(queries.len() / dim, |i| {
            let own = exclude.map(|o| (o + i) as u32);
            let mut found = Vec::new();
            self.visit(data, &queries[i * dim..(i + 1) * dim], bound, |j, s| {
                if Some(j) != own {
                    found.push((s, j));
                }
            });
            found
        });
        Within::from_lists(rows)
    }
}
