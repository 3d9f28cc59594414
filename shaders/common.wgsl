// Shared by every stage. The host prepends `const DIM: u32 = <dim>u;` (the
// row length: private arrays need a constant size) and a stage's other
// fixed choices (kernel, optional inputs) as constants too, then this file
// and the stage's own files (see src/gpu/pipelines.rs). Only sizes are
// pipeline-overridable.

// Threads per workgroup.
override WG: u32 = 64u;

// Linear index of a workgroup. Dispatches wider than the 65 535 groups a
// dimension allows are laid out as a 2-D grid of `num_workgroups.x` columns;
// groups past the end find no query and do nothing.
fn group_index(wid: vec3<u32>, nwg: vec3<u32>) -> u32 {
    return wid.y * nwg.x + wid.x;
}
