//! Host side of `components.wgsl`: the forest on the device, the edges sent
//! one chunk at a time, and rounds recorded several to a submission.

use std::sync::Arc;

use bytemuck::{Pod, Zeroable};

use crate::error::{Error, Result};
use crate::gpu::Gpu;
use crate::gpu::batch::Batch;
use crate::gpu::buffers::{Readback, storage, upload, words};
use crate::gpu::pipelines::{Access, COMMON, Pipeline, Spec, Stage, StageDef};

/// The components stage: `hook` over a chunk's edges, `jump` over the
/// vertices.
pub(crate) const COMPONENTS: StageDef = StageDef {
    name: "components",
    sources: &[COMMON, include_str!("components.wgsl")],
    storage: &[Access::Read, Access::ReadWrite, Access::ReadWrite],
    row_extra: 0,
    audited: false,
};

/// Rounds recorded into one submission, each with its own flag word: the
/// host reads back only the last round's flag, which is clear once any
/// round has found nothing to change (the rounds after a fixed point
/// change nothing either). Most chunks need a few rounds, so one
/// submission usually settles a chunk.
const ROUNDS: usize = 8;

#[repr(C)]
#[derive(Clone, Copy, Pod, Zeroable)]
struct Params {
    count: u32,
    round: u32,
    pad: [u32; 6],
}

/// A graph's components on the device: the parent array (4 bytes a
/// vertex) for as long as this lives, and one chunk of edges at a time.
pub(crate) struct Components {
    gpu: Arc<Gpu>,
    hook: Arc<Pipeline>,
    jump: Arc<Pipeline>,
    n: usize,
    parent: wgpu::Buffer,
    /// One flag word per round of a submission.
    changed: wgpu::Buffer,
    /// The chunk's buffer, made on the first chunk at that chunk's size:
    /// every chunk but the last is full, so the first is the largest.
    edges: Option<wgpu::Buffer>,
    /// Edges per chunk.
    capacity: usize,
    /// Endpoints of the edges not yet sent, two per edge.
    pending: Vec<u32>,
}

impl Components {
    /// The forest of `n` lone vertices on `g`, taking edges in chunks of at
    /// most `chunk_edges` (fewer where a binding holds fewer). An error
    /// where the parent array does not fit one binding: a union-find's
    /// links go anywhere, so the array cannot be split.
    pub async fn new(g: &Arc<Gpu>, n: usize, chunk_edges: usize) -> Result<Self> {
        if !fits(g, n) {
            return Err(Error::Gpu(format!(
                "{n} vertices need a {} byte parent array, larger than the largest binding ({} bytes)",
                4 * n as u64,
                g.max_binding()
            )));
        }
        let wg = g.workgroup_size();
        let entry = |entry: &'static str| {
            g.pipeline(Spec {
                stage: Stage(&COMPONENTS),
                entry,
                dim: 1,
                consts: Vec::new(),
                overrides: vec![("WG", wg)],
                rows_per_group: wg,
            })
        };
        let (hook, jump) = (entry("hook").await?, entry("jump").await?);
        let (parent, changed) = g
            .scoped(|| {
                let lone: Vec<u32> = (0..n as u32).collect();
                (
                    upload(g, "parents", &lone),
                    storage(g, "changed", 4 * ROUNDS as u64),
                )
            })
            .await?;
        let per_binding = usize::try_from(g.max_binding() / 8).unwrap_or(usize::MAX);
        Ok(Self {
            gpu: Arc::clone(g),
            hook,
            jump,
            n,
            parent,
            changed,
            edges: None,
            capacity: chunk_edges.min(per_binding).max(1),
            pending: Vec::new(),
        })
    }

    pub fn len(&self) -> usize {
        self.n
    }

    /// Takes `edges` (endpoints below `n`, the caller checks), sending
    /// each chunk as it fills.
    pub async fn add(&mut self, edges: &[[u32; 2]]) -> Result<()> {
        for e in edges {
            self.pending.extend(e);
            if self.pending.len() == 2 * self.capacity {
                self.flush().await?;
            }
        }
        Ok(())
    }

    /// Joins the pending edges on the device: hook rounds until a round
    /// changes nothing, when every edge lies within one tree.
    async fn flush(&mut self) -> Result<()> {
        let m = self.pending.len() / 2;
        if m == 0 {
            return Ok(());
        }
        let g = &*self.gpu;
        let (edges, pending) = (&mut self.edges, &self.pending);
        g.scoped(|| {
            let edges = edges.get_or_insert_with(|| storage(g, "edges", 8 * m as u64));
            g.write(edges, bytemuck::cast_slice(pending));
        })
        .await?;
        while changed(g, g.scoped(|| self.rounds(g, Kernel::Hook, m)).await?).await? {}
        self.pending.clear();
        Ok(())
    }

    /// Records `ROUNDS` rounds of `kernel` over `count` threads and the
    /// read of the last round's flag (and, after jumps, of the parents),
    /// and submits them.
    fn rounds(&self, g: &Gpu, kernel: Kernel, count: usize) -> Readback {
        let pipeline = match kernel {
            Kernel::Hook => &self.hook,
            Kernel::Jump => &self.jump,
        };
        // The jump reads no edges: before any chunk, a placeholder stands
        // in for them.
        let edges = self.edges.as_ref().unwrap_or(g.placeholder());
        let buffers = [edges, &self.parent, &self.changed];
        let mut batch = Batch::new(g);
        batch.clear(&self.changed);
        for round in 0..ROUNDS {
            let params = Params {
                count: count as u32,
                round: round as u32,
                pad: [0; 6],
            };
            batch.dispatch(pipeline, params, &buffers, count);
        }
        batch.read(&self.changed, 4 * (ROUNDS as u64 - 1), 4);
        if kernel == Kernel::Jump {
            batch.read(&self.parent, 0, 4 * self.n as u64);
        }
        batch.submit()
    }

    /// Every vertex's root, the lowest vertex of its component: the
    /// pending edges joined, then jump rounds until every vertex links to
    /// its root. Each submission reads the parents back with its flag, so
    /// the last costs no further wait.
    pub async fn roots(mut self) -> Result<Vec<u32>> {
        self.flush().await?;
        let g = &*self.gpu;
        loop {
            let readback = g.scoped(|| self.rounds(g, Kernel::Jump, self.n)).await?;
            let bytes = readback.wait(g).await?;
            if words(&bytes[0]) == [0] {
                // A read of no bytes still fills a word (n = 0).
                let mut roots = words(&bytes[1]);
                roots.truncate(self.n);
                return Ok(roots);
            }
        }
    }
}

/// Whether `n` vertices' parent array fits one binding of `g`.
pub(crate) fn fits(g: &Gpu, n: usize) -> bool {
    4 * n as u64 <= g.max_binding()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kernel {
    Hook,
    Jump,
}

/// Whether the submission's last round changed anything.
async fn changed(g: &Gpu, readback: Readback) -> Result<bool> {
    Ok(words(&readback.wait(g).await?[0]) != [0])
}
