// The centre update of a Lloyd step on the device, so that several steps
// go in one submission: each new centre coordinate is its cluster's sum
// divided by its mass (the member count, or the weights' sum), correctly
// rounded to f32 — the bits of the host's update, `f32(f64(sum) / mass)`,
// since rounding the f64 quotient to f32 is the correct rounding of the
// f32 quotient (53 >= 2 x 24 + 2 bits: double rounding is innocuous for
// division). WGSL's `/` promises only 2.5 ulp, so the division here is
// integer long division on the values' bits.
//
// Whatever the host would do differently, the device leaves to it and
// says so in `status[0]` (1): an empty cluster (the host moves a far
// point into it), a count past 2^24 (not an f32), and operands or
// quotients that are not normal numbers (a GPU may flush them). Then the
// centres stay as they were (`commit` copies nothing), so the steps after
// repeat this one and the host takes over from its sums.
//
// Entry points (one thread per centre coordinate, k x DIM):
// - divide: next = sums / mass, and the status.
// - commit: centres = next, unless the status says otherwise.

struct Params {
    k: u32,
    _pad0: u32,
    _pad1: vec2<u32>,
    _pad2: vec4<u32>,
}

@group(0) @binding(0) var<uniform> p: Params;
// k label counts (and, at k, how many changed).
@group(0) @binding(1) var<storage, read> counts: array<u32>;
// The reduction's final span offsets: cluster c's row is span_off[c] when
// span_off[c + 1] > span_off[c].
@group(0) @binding(2) var<storage, read> span_off: array<u32>;
// The final rows, W wide (DIM sums, then the weights' sum when weighted),
// as f32 bits.
@group(0) @binding(3) var<storage, read> rows: array<u32>;
@group(0) @binding(4) var<storage, read_write> next: array<u32>;
@group(0) @binding(5) var<storage, read_write> status: array<atomic<u32>>;
@group(0) @binding(6) var<storage, read_write> centres: array<u32>;

// `a / b` correctly rounded (to nearest, ties to even), for a normal or
// zero `a` and a positive normal `b`, and a normal quotient; `ok` false
// otherwise.
struct Quotient {
    bits: u32,
    ok: bool,
}

fn divide_rn(a: u32, b: u32) -> Quotient {
    let sign = a & 0x80000000u;
    let ea = i32((a >> 23u) & 0xffu);
    let eb = i32((b >> 23u) & 0xffu);
    if ea == 0 && (a & 0x7fffffu) == 0u {
        return Quotient(sign, (b & 0x80000000u) == 0u && eb != 0 && eb != 255);
    }
    if ea == 0 || ea == 255 || eb == 0 || eb == 255 || (b & 0x80000000u) != 0u {
        return Quotient(0u, false);
    }
    let mb = (b & 0x7fffffu) | 0x800000u;
    var r = (a & 0x7fffffu) | 0x800000u;
    var e = ea - eb + 127;
    if r < mb {
        r = r << 1u;
        e = e - 1;
    }
    // mb <= r < 2 mb: 24 quotient bits and a round bit, one per step; the
    // remainder stays below 2 mb < 2^25, so its doubling fits.
    var q = 0u;
    for (var i = 0u; i < 25u; i = i + 1u) {
        q = q << 1u;
        if r >= mb {
            q = q | 1u;
            r = r - mb;
        }
        r = r << 1u;
    }
    let round = q & 1u;
    q = q >> 1u;
    if round == 1u && (r != 0u || (q & 1u) == 1u) {
        q = q + 1u;
    }
    if q == 0x1000000u {
        q = 0x800000u;
        e = e + 1;
    }
    if e <= 0 || e >= 255 {
        return Quotient(0u, false);
    }
    return Quotient(sign | (u32(e) << 23u) | (q & 0x7fffffu), true);
}

@compute @workgroup_size(WG)
fn divide(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = group_index(wid, nwg) * WG + lid;
    if i >= p.k * DIM {
        return;
    }
    let c = i / DIM;
    let f = i % DIM;
    let filled = span_off[c + 1u] > span_off[c];
    let row = span_off[c] * W;
    var mass = 0u;
    if W > DIM {
        if filled {
            mass = rows[row + DIM];
        }
    } else if counts[c] < 0x1000000u {
        mass = bitcast<u32>(f32(counts[c]));
    }
    var sum = 0u;
    if filled {
        sum = rows[row + f];
    }
    let q = divide_rn(sum, mass);
    if !q.ok {
        atomicOr(&status[0], 1u);
    }
    next[i] = q.bits;
}

@compute @workgroup_size(WG)
fn commit(
    @builtin(local_invocation_index) lid: u32,
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
) {
    let i = group_index(wid, nwg) * WG + lid;
    if i >= p.k * DIM || atomicLoad(&status[0]) != 0u {
        return;
    }
    centres[i] = next[i];
}
