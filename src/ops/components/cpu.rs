//! The CPU twin: a union-find whose links are atomic, so threads can join
//! pairs at once (DBSCAN's grid walk joins core pairs as it finds them).

use std::sync::atomic::{AtomicU32, Ordering};

/// Union-find over `0..n`. A root only ever links to a lower root, so
/// every link points to a lower index, no cycle can form, and each root
/// is the lowest index of its tree: the roots are the components' lowest
/// vertices whatever the order of the unions (only the trees' shapes
/// vary, and nothing reads those), as on the GPU.
pub(crate) struct Forest(Vec<AtomicU32>);

impl Forest {
    pub fn new(n: usize) -> Self {
        Self((0..n as u32).map(AtomicU32::new).collect())
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    fn parent(&self, i: u32) -> u32 {
        self.0[i as usize].load(Ordering::Relaxed)
    }

    /// The root of `i`'s tree, halving the path on the way (a node's link
    /// only moves to one of its ancestors, which stays one).
    pub fn find(&self, mut i: u32) -> u32 {
        loop {
            let up = self.parent(i);
            if up == i {
                return i;
            }
            let above = self.parent(up);
            if above == up {
                return up;
            }
            // Written only when it changes: a store, even of the same
            // value, takes the cache line from the other threads.
            self.0[i as usize].store(above, Ordering::Relaxed);
            i = above;
        }
    }

    /// Joins the trees of `a` and `b`: the higher root links to the lower
    /// one if it is still a root; if another thread linked it first, again
    /// from the new roots.
    pub fn union(&self, a: u32, b: u32) {
        loop {
            let (ra, rb) = (self.find(a), self.find(b));
            if ra == rb {
                return;
            }
            let (low, high) = if ra < rb { (ra, rb) } else { (rb, ra) };
            let linked = self.0[high as usize].compare_exchange(
                high,
                low,
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
            if linked.is_ok() {
                return;
            }
        }
    }

    /// Every vertex's root: the lowest vertex of its component.
    pub fn roots(&self) -> Vec<u32> {
        (0..self.0.len() as u32).map(|i| self.find(i)).collect()
    }
}
