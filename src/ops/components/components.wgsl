// Connected components of a graph whose edges arrive in chunks (CPU twin:
// cpu.rs). parent[] is a forest over the vertices that lives on the device
// across chunks; every link points to a lower index (links go from a root
// to a lower root), so no cycle forms and each root is the lowest vertex of
// its tree. Trees only ever merge: a root links by compare-exchange, only
// while it is still a root, and the other writes (path halving, jumping)
// move a vertex's link to one of its ancestors. So whatever the order the
// threads run in, the fixed point is unique: every vertex's root is the
// lowest vertex of its component.
//
// - hook: for each edge of the chunk, both endpoints' roots; where they
//   differ, the higher root links to the lower. A round that links, fails
//   a compare-exchange (another thread linked first) or stops a find at
//   FIND_STEPS sets changed[round]: the host runs rounds until one sets
//   nothing, when every edge of the chunk lies within one tree.
// - jump: every vertex's link to its grandparent, setting changed[round]
//   where one moves; a round that moves none leaves stars (each vertex
//   linked to its root), which the host reads back.
// Integer work only.

struct Params {
    // Vertices (jump) or edges in the chunk (hook).
    count: u32,
    // The word of `changed` this round sets.
    round: u32,
    _pad0: u32,
    _pad1: u32,
    _pad2: u32,
    _pad3: u32,
    _pad4: u32,
    _pad5: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
// Edge e joins edges[2e] and edges[2e + 1]; every endpoint is a vertex
// (the host checks).
@group(0) @binding(1) var<storage, read> edges: array<u32>;
@group(0) @binding(2) var<storage, read_write> parent: array<atomic<u32>>;
@group(0) @binding(3) var<storage, read_write> changed: array<atomic<u32>>;

// Links a find follows before it gives up for this round (drivers that cut
// long loops short count every iteration); the halving on the way shortens
// the path for the next round.
const FIND_STEPS: u32 = 64u;
// What a find that gave up returns: no vertex has this index.
const UNFOUND: u32 = 0xffffffffu;

fn mark() {
    atomicStore(&changed[p.round], 1u);
}

// The root of v's tree, halving the path on the way (v's link moves to its
// grandparent, an ancestor and a lower index, so atomicMin keeps whichever
// of two concurrent moves goes further); UNFOUND after FIND_STEPS links.
fn find(start: u32) -> u32 {
    var v = start;
    for (var s = 0u; s < FIND_STEPS; s++) {
        let up = atomicLoad(&parent[v]);
        if up == v {
            return v;
        }
        let above = atomicLoad(&parent[up]);
        if above == up {
            return up;
        }
        atomicMin(&parent[v], above);
        v = above;
    }
    return UNFOUND;
}

fn thread(wid: vec3<u32>, nwg: vec3<u32>, lid: u32) -> u32 {
    return group_index(wid, nwg) * WG + lid;
}

@compute @workgroup_size(WG)
fn hook(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let e = thread(wid, nwg, lid);
    if e >= p.count {
        return;
    }
    let a = find(edges[2u * e]);
    let b = find(edges[2u * e + 1u]);
    if a == UNFOUND || b == UNFOUND {
        mark();
        return;
    }
    if a == b {
        return;
    }
    let low = min(a, b);
    let high = max(a, b);
    // Linked or not (another thread linked `high` first), the round
    // changed the forest or must be run again.
    atomicCompareExchangeWeak(&parent[high], high, low);
    mark();
}

@compute @workgroup_size(WG)
fn jump(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let v = thread(wid, nwg, lid);
    if v >= p.count {
        return;
    }
    let up = atomicLoad(&parent[v]);
    let above = atomicLoad(&parent[up]);
    if above != up {
        atomicMin(&parent[v], above);
        mark();
    }
}
