//! What the kernels' unit tests share: deterministic data, the convolution's definition
//! product by product, and the tolerance against an f64 reference.

use crate::nn::padding::Window;

/// `n` values in [-0.5, 0.5), a fixed function of the index and `seed`.
pub(crate) fn data(n: usize, seed: u32) -> Vec<f32> {
    (0..n)
        .map(|i| {
            ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) >> 8) as f32
                / (1u32 << 24) as f32
                - 0.5
        })
        .collect()
}

/// Calls `f(output index, input index, filter index)` for every product of the definition
/// of the convolution over `win` (NHWC input, HWIO filter, `co` output channels).
pub(crate) fn each_product(win: &Window, co: usize, mut f: impl FnMut(usize, usize, usize)) {
    for n in 0..win.n {
        for oy in 0..win.oh {
            for ox in 0..win.ow {
                for t in 0..win.kh {
                    for u in 0..win.kw {
                        let iy = (oy * win.sh + t) as isize - win.pad_top as isize;
                        let ix = (ox * win.sw + u) as isize - win.pad_left as isize;
                        if iy < 0 || ix < 0 || iy >= win.h as isize || ix >= win.w as isize {
                            continue;
                        }
                        let x0 = ((n * win.h + iy as usize) * win.w + ix as usize) * win.c;
                        let o0 = ((n * win.oh + oy) * win.ow + ox) * co;
                        for c in 0..win.c {
                            for k in 0..co {
                                f(o0 + k, x0 + c, ((t * win.kw + u) * win.c + c) * co + k);
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Asserts `|got - want| <= 1e-4 (1 + |want|)` elementwise.
pub(crate) fn close(got: &[f32], want: &[f64], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g as f64 - w).abs() <= 1e-4 * (1.0 + w.abs()),
            "{what}[{i}]: {g} vs {w}"
        );
    }
}
