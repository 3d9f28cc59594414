//! Lane maths for the CPU twin: fixed-size arrays of `f32` that LLVM turns
//! into SIMD registers, and an `exp2` it can vectorise.
//!
//! The shift stage works on [`LANES`] queries at once, one per lane, and
//! writes every step as a plain loop over the lanes. Each lane performs
//! exactly the scalar operations its query would on its own, in the same
//! order, so results never depend on which lane, block or thread a query
//! lands in. Rust never contracts `a * b + c` into a fused multiply-add, so
//! the same code gives the same bits whether it is compiled for SSE2,
//! AVX2, AVX-512, NEON or WebAssembly: runtime feature dispatch (see
//! `ops/kernel_sums/cpu.rs`) changes the speed, never the answer.
//!
//! `f32::exp2` is a libm call per value and stops the vectoriser, so the
//! gaussian kernel uses [`exp2`] below: a range reduction and a degree-6
//! polynomial built from adds, multiplies and integer bit operations only.

/// Queries processed together: one AVX-512 register of `f32`, two AVX2
/// registers, four SSE, NEON or WebAssembly SIMD registers. Enough
/// independent work per data row to hide the latency of the `exp2` chain.
pub(crate) const LANES: usize = 16;

/// One value per lane.
pub(crate) type Lanes = [f32; LANES];

/// Coefficients `c1..c6` of `p(f) = 1 + c1 f + ... + c6 f^6`, the minimax
/// approximation of `2^f` on `[-0.5, 0.5]` in relative error (about 2e-9,
/// far below `f32` rounding; these are, to `f32` precision, the
/// coefficients of Cephes' `exp2f`; `c1` rounds to `ln 2`). The constant
/// term is exactly 1, so `exp2(0) = 1`: a point's weight for itself is
/// exactly 1.
const EXP2_POLY: [f32; 6] = [
    std::f32::consts::LN_2,
    0.240_226_48,
    0.055_503_324,
    0.009_618_437,
    0.001_339_887_4,
    0.000_153_533_62,
];

/// `1.5 * 2^23`: adding it to `|x| < 2^22` leaves `round(x)` (ties to even)
/// in the low mantissa bits, with the default rounding mode and no
/// `round` instruction, which SSE2 and WebAssembly lack.
const ROUNDER: f32 = 12_582_912.0;

/// Below this input the result would be subnormal (`< 2^-126`) and is
/// flushed to 0, as GPUs' `exp2` may do. Subnormal arithmetic takes a slow
/// path on x86 CPUs (tens of times slower per operation), and such weights
/// are too small to change a sum that holds any normal weight (every
/// blurring window holds its own point, with weight 1). Where `f32::exp2`
/// underflows to 0 (`x <= -150`), this gives 0 too.
pub(crate) const EXP2_FLUSH: f32 = -126.0;

/// Inputs above this are clamped so the exponent field cannot overflow:
/// `2^x` for `x > 127` gives about `2^127`. The kernels pass only `x <= 0`.
const EXP2_MAX: f32 = 127.0;

/// `2^x` for one lane, for `x <= 127`: within 1.23 ulp of the exact value
/// where that is at least `2^-126` (the polynomial's own error is far
/// smaller; what remains is `f32` rounding in its evaluation), 0 below
/// (see [`EXP2_FLUSH`]); NaN gives NaN. Written so LLVM vectorises a loop
/// over lanes of it: see [`exp2`].
#[inline(always)]
pub(crate) fn exp2_lane(x: f32) -> f32 {
    // A comparison rather than f32::min, which adds NaN handling: a NaN
    // fails the test and flows through to the result.
    let clamped = if x > EXP2_MAX { EXP2_MAX } else { x };
    // x = n + f with n an integer and |f| <= 0.5; f is exact.
    let shifted = clamped + ROUNDER;
    let f = clamped - (shifted - ROUNDER);
    // 2^f by Horner's rule.
    let mut p = EXP2_POLY[5];
    for &c in EXP2_POLY[..5].iter().rev() {
        p = p * f + c;
    }
    p = p * f + 1.0;
    // p * 2^n, by adding n to p's exponent field (exact, as the multiply
    // would be: the result is normal wherever it is kept). The rounder's
    // bits end in nine zeros, so shifting `shifted`'s bits left by 23
    // leaves n << 23, in two's complement. Inputs below EXP2_FLUSH give
    // garbage here, replaced by 0 below.
    let y = f32::from_bits(p.to_bits().wrapping_add(shifted.to_bits() << 23));
    if x < EXP2_FLUSH { 0.0 } else { y }
}

/// Whether [`exp2_lane`] gives exactly 0 at `x` (flushed: see
/// [`EXP2_FLUSH`]). Callers use it to skip terms that would add nothing.
#[inline(always)]
pub(crate) fn exp2_flushes(x: f32) -> bool {
    x < EXP2_FLUSH
}

/// [`exp2_lane`] on every lane, in place.
#[inline(always)]
pub(crate) fn exp2(x: &mut Lanes) {
    for v in x.iter_mut() {
        *v = exp2_lane(*v);
    }
}

/// The dimension of a block of queries held coordinate-major (one
/// [`Lanes`] per coordinate): `D` where a loop is compiled for a fixed
/// dimension, so its bounds are constants, else `q.len()`.
#[inline(always)]
pub(crate) fn dim_of<const D: usize>(q: &[Lanes]) -> usize {
    if D > 0 {
        assert_eq!(q.len(), D);
        D
    } else {
        q.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Distance from `got` to the exact `want >= 2^-126`, in units of the
    /// spacing of `f32` values at `want`.
    fn ulps(got: f32, want: f64) -> f64 {
        // 2^(e - 23) for want in [2^e, 2^(e+1)), from want's exponent.
        let e = ((want.to_bits() >> 52) & 0x7ff) as i32 - 1023;
        (f64::from(got) - want).abs() / 2f64.powi(e - 23)
    }

    /// Every `step`-th `f32` between `lo < 0` and `hi > 0`, walking the bit
    /// patterns of the negative and of the positive values.
    fn sample(lo: f32, hi: f32, step: usize) -> impl Iterator<Item = f32> {
        let neg = (0..=lo.to_bits() - 0x8000_0000)
            .step_by(step)
            .map(|b| f32::from_bits(b | 0x8000_0000));
        let pos = (0..=hi.to_bits()).step_by(step).map(f32::from_bits);
        neg.chain(pos)
    }

    /// Over the whole range the kernels use and beyond (`-160` to `127`):
    /// every 97th `f32` (23 million values, spread evenly over the bit
    /// patterns, so densest near 0) plus an even grid of 4 million points
    /// on `[-1, 1]`. Where `2^x >= 2^-126`, at most 1.25 ulp from the
    /// exact value (measured here: 1.19); below, exactly 0. The error
    /// depends only on the reduced argument `f` (`2^n` scales exactly), and
    /// an exhaustive run over every `f32` in `[-0.5, 0.5]`, too slow for a
    /// unit test, gave at most 1.23 ulp (at `f = -0.4987`).
    #[test]
    fn exp2_is_within_1_25_ulp_of_the_exact_value() {
        let grid = (0..=4_000_000).map(|i| (i as f32 - 2e6) / 2e6);
        let mut inputs = sample(-160.0, 127.0, 97).chain(grid).peekable();
        let mut worst = (0.0f64, 0.0f32);
        while inputs.peek().is_some() {
            let mut xs = [0.0f32; LANES];
            let mut len = 0;
            for (slot, x) in xs.iter_mut().zip(inputs.by_ref()) {
                *slot = x;
                len += 1;
            }
            let mut ys = xs;
            exp2(&mut ys);
            for (&x, &got) in xs[..len].iter().zip(&ys) {
                let want = f64::from(x).exp2();
                if want < f64::from(f32::MIN_POSITIVE) {
                    assert_eq!(got.to_bits(), 0, "exp2({x}) is flushed to +0");
                    continue;
                }
                let e = ulps(got, want);
                if e > worst.0 {
                    worst = (e, x);
                }
            }
        }
        assert!(worst.0 <= 1.25, "{} ulp at x = {}", worst.0, worst.1);
    }

    #[test]
    fn exp2_special_values() {
        assert_eq!(exp2_lane(0.0).to_bits(), 1.0f32.to_bits());
        assert_eq!(exp2_lane(-0.0).to_bits(), 1.0f32.to_bits());
        for n in -126..=127 {
            assert_eq!(exp2_lane(n as f32), (n as f32).exp2(), "2^{n}");
        }
        assert_eq!(exp2_lane(-126.0001), 0.0);
        assert_eq!(exp2_lane(-150.0), 0.0);
        assert_eq!(exp2_lane(-1e30), 0.0);
        assert_eq!(exp2_lane(f32::NEG_INFINITY), 0.0);
        assert!(exp2_lane(f32::NAN).is_nan());
        // `exp2_flushes` tells where the result is 0.
        for x in [-126.0001, -150.0, -1e30, f32::NEG_INFINITY] {
            assert!(exp2_flushes(x) && exp2_lane(x).to_bits() == 0, "{x}");
        }
        for x in [-126.0, -125.9999, 0.0] {
            assert!(!exp2_flushes(x) && exp2_lane(x) > 0.0, "{x}");
        }
        assert!(!exp2_flushes(f32::NAN));
    }
}
