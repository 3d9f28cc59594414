//! Connected components of a graph whose edges arrive chunk after chunk:
//! for every vertex, the lowest vertex of its component. That answer is
//! unique, so both backends give the same labels whatever the order in
//! which edges are joined or threads run (DBSCAN's clusters of core
//! points).
//!
//! On the GPU (`gpu.rs`, `components.wgsl`) a union-find's parent array
//! stays on the device across chunks: each chunk of edges is hooked
//! (the higher root links to the lower) in rounds until one changes
//! nothing, then jumping leaves every vertex linked to its root. Memory is
//! the parent array plus one chunk of edges. The CPU twin (`cpu.rs`) is a
//! union-find with atomic links, which also links only to lower roots.

pub(crate) mod cpu;
pub(crate) mod gpu;

use crate::context::{Context, Inner};
use crate::error::{Error, Result};

/// Edges per chunk sent to the device (8 bytes each), where a binding
/// holds that many: few enough to bound memory, many enough that a
/// chunk's rounds are worth their submission.
const CHUNK_EDGES: usize = 1 << 22;

/// Components being joined on a context's backend.
pub(crate) enum Components {
    Cpu(cpu::Forest),
    Gpu(gpu::Components),
}

impl Components {
    /// `n` lone vertices on `ctx`'s backend. On a GPU whose largest
    /// binding cannot hold the parent array (4 bytes a vertex, which
    /// cannot be split), the CPU twin, which gives the same roots.
    pub async fn new(ctx: &Context, n: usize) -> Result<Self> {
        match ctx.inner() {
            Inner::Gpu(g) if gpu::fits(g, n) => {
                Ok(Self::Gpu(gpu::Components::new(g, n, CHUNK_EDGES).await?))
            }
            _ => Ok(Self::Cpu(cpu::Forest::new(n))),
        }
    }

    fn len(&self) -> usize {
        match self {
            Self::Cpu(f) => f.len(),
            Self::Gpu(c) => c.len(),
        }
    }

    /// Joins the endpoints of each of `edges`; an error, with nothing
    /// joined, where an endpoint is not a vertex.
    pub async fn add(&mut self, edges: &[[u32; 2]]) -> Result<()> {
        let n = self.len();
        if let Some(e) = edges.iter().find(|e| e.iter().any(|&v| v as usize >= n)) {
            return Err(Error::InvalidParameter {
                name: "edges",
                value: format!("{e:?} among {n} vertices"),
                reason: "endpoints must be vertices",
            });
        }
        match self {
            Self::Cpu(f) => {
                crate::cpu::map_indices(edges.len(), |i| f.union(edges[i][0], edges[i][1]));
                Ok(())
            }
            Self::Gpu(c) => c.add(edges).await,
        }
    }

    /// Every vertex's root: the lowest vertex of its component.
    pub async fn roots(self) -> Result<Vec<u32>> {
        match self {
            Self::Cpu(f) => Ok(f.roots()),
            Self::Gpu(c) => c.roots().await,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The plainest union-find, one edge after another: the reference.
    fn sequential(n: usize, edges: &[[u32; 2]]) -> Vec<u32> {
        let mut parent: Vec<u32> = (0..n as u32).collect();
        fn find(parent: &[u32], mut v: u32) -> u32 {
            while parent[v as usize] != v {
                v = parent[v as usize];
            }
            v
        }
        for &[a, b] in edges {
            let (ra, rb) = (find(&parent, a), find(&parent, b));
            parent[ra.max(rb) as usize] = ra.min(rb);
        }
        (0..n as u32).map(|v| find(&parent, v)).collect()
    }

    /// Seeded draws below a bound (0 for a bound of 0).
    fn draws(seed: u64) -> impl FnMut(u32) -> u32 {
        let mut rng = crate::test_data::rng(seed);
        move |bound| rand::RngExt::random_range(&mut rng, 0..bound.max(1))
    }

    /// Named graphs over `n` vertices: random edges (sparse and dense),
    /// chains in both index directions and in shuffled order (the longest
    /// paths), a star to the last vertex, self-loops, and none.
    fn graphs(n: usize) -> Vec<(&'static str, Vec<[u32; 2]>)> {
        let n32 = n as u32;
        let mut next = draws(n as u64 + 1);
        let mut random =
            |m: usize| -> Vec<[u32; 2]> { (0..m).map(|_| [next(n32), next(n32)]).collect() };
        let up: Vec<[u32; 2]> = (1..n32).map(|v| [v - 1, v]).collect();
        let down: Vec<[u32; 2]> = (1..n32).rev().map(|v| [v, v - 1]).collect();
        let mut shuffled = up.clone();
        let mut pick = draws(7);
        for i in (1..shuffled.len()).rev() {
            shuffled.swap(i, pick(i as u32 + 1) as usize);
        }
        // Sent one edge a chunk, a chain over 1.. whose trees only ever
        // grow at the root, so its highest vertex ends up deep; the last
        // edge joins that vertex to 0, further up than one find follows.
        let mut deep: Vec<[u32; 2]> = (2..n32).rev().map(|v| [v, v - 1]).collect();
        deep.extend((n32 > 1).then(|| [n32 - 1, 0]));
        // Every other vertex on a chain, the rest lone or in pairs.
        let gaps: Vec<[u32; 2]> = (2..n32).step_by(2).map(|v| [v, v - 2]).collect();
        vec![
            ("sparse", random(n / 3)),
            ("dense", random(2 * n)),
            ("chain up", up),
            ("chain down", down),
            ("chain shuffled", shuffled),
            ("deep end joined last", deep),
            ("every other", gaps),
            ("star", (0..n32).map(|v| [n32 - 1, v]).collect()),
            ("self-loops", (0..n32).map(|v| [v, v]).collect()),
            ("none", Vec::new()),
        ]
    }

    fn roots(ctx: &Context, n: usize, edges: &[[u32; 2]], pieces: usize) -> Vec<u32> {
        pollster::block_on(async {
            let mut c = Components::new(ctx, n).await?;
            for piece in edges.chunks(edges.len().div_ceil(pieces).max(1)) {
                c.add(piece).await?;
            }
            c.roots().await
        })
        .unwrap()
    }

    #[test]
    fn the_twin_matches_a_sequential_union_find() {
        for n in [0, 1, 2, 63, 64, 65, 1000, 20_000] {
            for (name, edges) in graphs(n) {
                let want = sequential(n, &edges);
                // Each root is its component's lowest vertex.
                assert!(want.iter().enumerate().all(|(v, &r)| r as usize <= v));
                for pieces in [1, 7] {
                    let got = roots(&Context::cpu(), n, &edges, pieces);
                    assert_eq!(got, want, "n {n}, {name}, {pieces} pieces");
                }
            }
        }
    }

    /// The device forest against the twin and the reference: graphs
    /// around a workgroup's size, edges added in pieces and sent in
    /// chunks of a few edges (so later chunks hook onto trees the earlier
    /// ones built) or all at once. Skipped without an adapter unless
    /// `REQUIRE_GPU=1`.
    #[test]
    fn the_gpu_matches_the_twin() {
        let Some(ctx) = crate::context::test_gpu() else {
            return;
        };
        let Inner::Gpu(g) = ctx.inner() else {
            unreachable!("Context::gpu is a GPU context")
        };
        for n in [0, 1, 2, 63, 64, 65, 1000, 20_000] {
            for (name, edges) in graphs(n) {
                let want = sequential(n, &edges);
                assert_eq!(roots(&ctx, n, &edges, 3), want, "n {n}, {name}");
                // Chunks of one edge on the small graphs: every edge its
                // own submissions.
                let single = if n <= 1000 { 1 } else { 97 };
                for chunk in [single, 4096] {
                    let got = pollster::block_on(async {
                        let mut c = gpu::Components::new(g, n, chunk).await?;
                        c.add(&edges).await?;
                        c.roots().await
                    })
                    .unwrap();
                    assert_eq!(got, want, "n {n}, {name}, chunks of {chunk}");
                }
            }
        }
    }

    /// An endpoint past the vertices is an error on both backends; on a
    /// GPU whose binding cannot hold the parents, the device forest is
    /// refused and the op joins on the host.
    #[test]
    fn bad_edges_and_large_graphs() {
        let mut contexts = vec![Context::cpu()];
        contexts.extend(crate::context::test_gpu());
        for ctx in &contexts {
            let err = pollster::block_on(async {
                let mut c = Components::new(ctx, 3).await?;
                c.add(&[[0, 1], [2, 3]]).await
            })
            .unwrap_err();
            assert!(
                matches!(err, Error::InvalidParameter { name: "edges", .. }),
                "{err}"
            );
        }
        if contexts.len() < 2 {
            return;
        }
        let small = crate::gpu::options::GpuOptions {
            max_binding_bytes: Some(256),
            ..Default::default()
        };
        let ctx = Context::gpu_with(&small).unwrap();
        let Inner::Gpu(g) = ctx.inner() else {
            unreachable!("Context::gpu_with is a GPU context")
        };
        let err = pollster::block_on(gpu::Components::new(g, 65, CHUNK_EDGES)).err();
        assert!(matches!(err, Some(Error::Gpu(_))), "{err:?}");
        for n in [64, 65] {
            let edges: Vec<[u32; 2]> = (1..n as u32).rev().map(|v| [v, v - 1]).collect();
            assert_eq!(roots(&ctx, n, &edges, 2), vec![0; n], "n {n}");
        }
    }

    #[test]
    fn the_stage_validates() {
        for wg in [32, 64, 256] {
            for entry in ["hook", "jump"] {
                crate::gpu::pipelines::validate(&gpu::COMPONENTS, 1, entry, &[], &[("WG", wg)]);
            }
        }
    }
}
