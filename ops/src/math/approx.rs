//! Branch-free float32 `exp` (of non-positive numbers), `sigmoid` and `tanh`, as Eigen (and so TensorFlow's CPU
//! kernels) computes them: written with selects instead of branches and with no library
//! calls, so that a loop over a slice compiles to vector instructions. Within a few ulps of
//! the exact values (see the tests).

/// `e^x` for `x <= 0` (what sigmoid needs): Cephes' range reduction `x = n ln 2 + r` and
/// degree-5 polynomial for `e^r`, scaled by `2^n` in two halves (so that results below
/// `f32::MIN_POSITIVE` come out subnormal, and 0 below -104). NaN stays NaN. Relative error
/// below 3e-7.
#[inline(always)]
pub(crate) fn exp_neg(x: f32) -> f32 {
    // `clamp`'s lower half, which keeps NaN.
    let x = if x < -104.0 { -104.0 } else { x };
    let n = (x * std::f32::consts::LOG2_E + 0.5).floor();
    let r = x - n * 0.693_359_4 - n * -2.121_944_4e-4;
    let p = 1.987_569_1e-4f32;
    let p = p * r + 1.398_199_9e-3;
    let p = p * r + 8.333_452e-3;
    let p = p * r + 4.166_579_6e-2;
    let p = p * r + 1.666_666_6e-1;
    let p = p * r + 0.5;
    let y = p * r * r + r + 1.0;
    let n = n as i32;
    let half = n >> 1;
    let scale = |k: i32| f32::from_bits(((k + 127) as u32) << 23);
    y * scale(half) * scale(n - half)
}

/// The logistic function `1 / (1 + e^-x)`, from `e = e^-|x|` (so that `e` never overflows):
/// `1 / (1 + e)` for `x >= 0`, `e / (1 + e)` below, which stays subnormal rather than 0 down
/// to `x` ≈ -103; 1 far right, never NaN for a number. Relative error below 2e-7.
#[inline(always)]
pub(crate) fn sigmoid(x: f32) -> f32 {
    let e = exp_neg(-x.abs());
    let num = if x >= 0.0 { 1.0 } else { e };
    num / (1.0 + e)
}

/// The hyperbolic tangent as Eigen's `ptanh` for float: a 13/6 rational approximation on
/// `[-7.9988, 7.9988]` (beyond which `tanh` is 1 to float precision), `x` itself below
/// 0.0004. Relative error below 4e-7.
#[inline(always)]
pub(crate) fn tanh(x: f32) -> f32 {
    let c = 7.998_811_7;
    let x = x.clamp(-c, c);
    let x2 = x * x;
    let p = -2.760_768_4e-16f32;
    let p = p * x2 + 2.000_188e-13;
    let p = p * x2 + -8.604_672e-11;
    let p = p * x2 + 5.122_297_3e-8;
    let p = p * x2 + 1.485_722_35e-5;
    let p = p * x2 + 6.372_619_5e-4;
    let p = (p * x2 + 4.893_524_6e-3) * x;
    let q = 1.198_258_4e-6f32;
    let q = q * x2 + 1.185_347_1e-4;
    let q = q * x2 + 2.268_434_7e-3;
    let q = q * x2 + 4.893_525e-3;
    if x.abs() < 0.0004 {
        x
    } else {
        p / q
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The largest relative error of `f` against `exact` over a fine grid of `[lo, hi]`,
    /// counting an absolute error below `floor` as none.
    fn worst(f: fn(f32) -> f32, exact: fn(f64) -> f64, lo: f32, hi: f32, floor: f64) -> f64 {
        let n = 200_001;
        (0..n)
            .map(|k| lo + (hi - lo) * k as f32 / (n - 1) as f32)
            .map(|x| {
                let (got, want) = (f64::from(f(x)), exact(f64::from(x)));
                let err = (got - want).abs();
                if err <= floor {
                    0.0
                } else {
                    err / want.abs()
                }
            })
            .fold(0.0, f64::max)
    }

    #[test]
    fn exp_is_within_a_few_ulps() {
        assert!(worst(exp_neg, f64::exp, -87.0, 0.0, 0.0) < 3e-7);
        assert_eq!(exp_neg(-200.0), 0.0);
        assert!(exp_neg(-100.0) > 0.0 && exp_neg(-100.0) < 1e-43);
        assert!(exp_neg(f32::NAN).is_nan());
    }

    #[test]
    fn sigmoid_is_within_a_few_ulps() {
        let exact = |x: f64| 1.0 / (1.0 + (-x).exp());
        assert!(worst(sigmoid, exact, -30.0, 30.0, 0.0) < 2e-7);
        assert_eq!(sigmoid(500.0), 1.0);
        assert_eq!(sigmoid(-500.0), 0.0);
        // Subnormal results: within an ulp of e^x / (1 + e^x).
        for x in [-88.0f32, -95.0, -100.0, -103.0] {
            let want = (exact(f64::from(x)) as f32).to_bits();
            assert!(sigmoid(x).to_bits().abs_diff(want) <= 1, "sigmoid({x})");
        }
        assert!(sigmoid(f32::NAN).is_nan());
    }

    #[test]
    fn tanh_is_within_a_few_ulps() {
        assert!(worst(tanh, f64::tanh, -12.0, 12.0, 0.0) < 4e-7);
        assert_eq!(tanh(1e-6), 1e-6);
        assert_eq!(tanh(0.0), 0.0);
        assert!((tanh(50.0) - 1.0).abs() < 1e-6);
        assert!(tanh(f32::NAN).is_nan());
    }
}
