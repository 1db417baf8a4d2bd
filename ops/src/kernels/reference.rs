//! What the kernels' unit tests share: deterministic data, the convolution's definition
//! product by product, and the tolerance against an f64 reference.

use crate::kernels::window::Window;

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

/// `c0 + a · b` (or `a · b` without `c0`) in f64, for `m x k` a given by `a(i, t)`, row-major
/// `k x n` b and `m x n` c0.
pub(crate) fn product(
    (m, n, k): (usize, usize, usize),
    a: impl Fn(usize, usize) -> f32,
    b: &[f32],
    c0: Option<&[f32]>,
) -> Vec<f64> {
    let mut want: Vec<f64> = match c0 {
        Some(c0) => c0.iter().map(|&v| v as f64).collect(),
        None => vec![0.0; m * n],
    };
    for (i, row) in want.chunks_exact_mut(n).enumerate() {
        for t in 0..k {
            let av = a(i, t) as f64;
            for (w, &bv) in row.iter_mut().zip(&b[t * n..(t + 1) * n]) {
                *w += av * bv as f64;
            }
        }
    }
    want
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
