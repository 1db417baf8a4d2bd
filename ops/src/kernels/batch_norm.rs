//! Batch normalization of a tensor viewed as `[rows, channels]` (NHWC with the channels
//! last and contiguous), and its gradient: the per-channel sums in one parallel pass over
//! blocks of whole rows, combined in f64, then one element-wise pass.

use crate::kernels::isa::multiversion;
use rayon::prelude::*;

/// Floats per parallel task for rows of `c` channels: whole rows, about 64 KB, which stay
/// in the core's cache for a block's second look at them (never 0, even without channels).
fn block_len(c: usize) -> usize {
    ((1 << 14) / c.max(1)).max(1) * c.max(1)
}

/// Per-channel statistics of a tensor `[rows, c]`: each block's partial sums are combined
/// in f64, so long reductions keep f32's precision.
struct Partial {
    rows: usize,
    a: Vec<f32>,
    b: Vec<f32>,
}

multiversion! {
    /// Each block's row count, mean and sum of squared deviations from that mean (two looks
    /// at the block, the second from cache).
    fn block_moments(x: &[f32], c: usize) -> Vec<Partial> {
        x.par_chunks(block_len(c))
            .map(|xb| {
                let rows = xb.len() / c;
                let mut mean = vec![0f32; c];
                for r in xb.chunks_exact(c) {
                    mean.iter_mut().zip(r).for_each(|(m, &v)| *m += v);
                }
                let inv = 1.0 / rows as f32;
                mean.iter_mut().for_each(|m| *m *= inv);
                let mut m2 = vec![0f32; c];
                for r in xb.chunks_exact(c) {
                    for ((s, &v), &m) in m2.iter_mut().zip(r).zip(&mean) {
                        let d = v - m;
                        *s += d * d;
                    }
                }
                Partial { rows, a: mean, b: m2 }
            })
            .collect()
    }
}

/// The per-channel mean and population (biased) variance of `x` viewed as `[rows, c]`
/// (Chan's combination of the blocks' moments). Empty `x` gives zeros.
pub(crate) fn moments(x: &[f32], c: usize) -> (Vec<f32>, Vec<f32>) {
    let parts = block_moments(x, c);
    let n = (x.len() / c.max(1)) as f64;
    let mut mean = vec![0f64; c];
    for p in &parts {
        for (m, &a) in mean.iter_mut().zip(&p.a) {
            *m += p.rows as f64 * a as f64;
        }
    }
    mean.iter_mut().for_each(|m| *m /= n.max(1.0));
    let mut m2 = vec![0f64; c];
    for p in &parts {
        for ((s, (&a, &b)), &m) in m2.iter_mut().zip(p.a.iter().zip(&p.b)).zip(&mean) {
            let d = a as f64 - m;
            *s += b as f64 + p.rows as f64 * d * d;
        }
    }
    let var = m2.iter().map(|s| (s / n.max(1.0)) as f32).collect();
    (mean.iter().map(|&m| m as f32).collect(), var)
}

multiversion! {
    /// `y = x · a + b` per channel, `x` and `y` viewed as `[rows, a.len()]`; `x` is `y`
    /// itself when `None`.
    pub(crate) fn affine(x: Option<&[f32]>, a: &[f32], b: &[f32], y: &mut [f32]) {
        let c = a.len();
        let block = block_len(c);
        match x {
            Some(x) => y.par_chunks_mut(block).zip(x.par_chunks(block)).for_each(|(yb, xb)| {
                for (yr, xr) in yb.chunks_exact_mut(c).zip(xb.chunks_exact(c)) {
                    for (((o, &v), &s), &t) in yr.iter_mut().zip(xr).zip(a).zip(b) {
                        *o = v * s + t;
                    }
                }
            }),
            None => y.par_chunks_mut(block).for_each(|yb| {
                for yr in yb.chunks_exact_mut(c) {
                    for ((o, &s), &t) in yr.iter_mut().zip(a).zip(b) {
                        *o = *o * s + t;
                    }
                }
            }),
        }
    }
}

/// The per-channel `(scale / sqrt(var + epsilon), offset - mean · that)`: normalization as
/// one multiply-add.
pub(crate) fn coefficients(
    scale: &[f32],
    offset: &[f32],
    mean: &[f32],
    var: &[f32],
    epsilon: f32,
) -> (Vec<f32>, Vec<f32>) {
    let a: Vec<f32> = scale
        .iter()
        .zip(var)
        .map(|(&s, &v)| s / (v + epsilon).sqrt())
        .collect();
    let b = offset
        .iter()
        .zip(mean)
        .zip(&a)
        .map(|((&o, &m), &a)| o - m * a)
        .collect();
    (a, b)
}

multiversion! {
    /// Each block's `Σ dy` and `Σ dy · (x - mean)` per channel of `g` (`dy`); with `k1`,
    /// then `dx = dy · k1` over the block in `g`, in the same pass.
    fn block_grad_sums(g: &mut [f32], x: &[f32], mean: &[f32], k1: Option<&[f32]>) -> Vec<Partial> {
        let c = mean.len();
        let block = block_len(c);
        g.par_chunks_mut(block)
            .zip(x.par_chunks(block))
            .map(|(gb, xb)| {
                let mut sdy = vec![0f32; c];
                let mut sdyx = vec![0f32; c];
                for (gr, xr) in gb.chunks_exact(c).zip(xb.chunks_exact(c)) {
                    for (((s, t), (&d, &v)), &m) in
                        sdy.iter_mut().zip(&mut sdyx).zip(gr.iter().zip(xr)).zip(mean)
                    {
                        *s += d;
                        *t += d * (v - m);
                    }
                }
                if let Some(k1) = k1 {
                    for gr in gb.chunks_exact_mut(c) {
                        gr.iter_mut().zip(k1).for_each(|(d, &k)| *d *= k);
                    }
                }
                Partial { rows: gb.len() / c, a: sdy, b: sdyx }
            })
            .collect()
    }
}

multiversion! {
    /// `dx = dy · k1 + x · k2 + k3` per channel in `g` (`dy` in, `dx` out), viewed as
    /// `[rows, k1.len()]`.
    fn grad_x(g: &mut [f32], x: &[f32], k1: &[f32], k2: &[f32], k3: &[f32]) {
        let c = k1.len();
        let block = block_len(c);
        g.par_chunks_mut(block)
            .zip(x.par_chunks(block))
            .for_each(|(gb, xb)| {
                for (gr, xr) in gb.chunks_exact_mut(c).zip(xb.chunks_exact(c)) {
                    for ((d, &v), ((&p, &q), &r)) in
                        gr.iter_mut().zip(xr).zip(k1.iter().zip(k2).zip(k3))
                    {
                        *d = *d * p + v * q + r;
                    }
                }
            });
    }
}

/// The gradient of batch normalization `y = scale · (x - mean) / sqrt(var + epsilon) +
/// offset` over `[rows, c]`: `g` holds the upstream `dy` and receives `dx`; returns
/// `(dscale, doffset)`. With `training`, `mean` and `var` are the batch's own (biased)
/// statistics and the gradient flows through them too (two passes); otherwise they are
/// constants (one pass).
pub(crate) fn backward(
    g: &mut [f32],
    x: &[f32],
    scale: &[f32],
    mean: &[f32],
    var: &[f32],
    epsilon: f32,
    training: bool,
) -> (Vec<f32>, Vec<f32>) {
    let c = scale.len();
    let rinv: Vec<f32> = var.iter().map(|&v| 1.0 / (v + epsilon).sqrt()).collect();
    let k1: Vec<f32> = scale.iter().zip(&rinv).map(|(&s, &r)| s * r).collect();
    let parts = block_grad_sums(g, x, mean, (!training).then_some(&k1[..]));
    let (mut sdy, mut sdyx) = (vec![0f64; c], vec![0f64; c]);
    for p in &parts {
        sdy.iter_mut().zip(&p.a).for_each(|(s, &a)| *s += a as f64);
        sdyx.iter_mut().zip(&p.b).for_each(|(s, &b)| *s += b as f64);
    }
    let dscale = sdyx
        .iter()
        .zip(&rinv)
        .map(|(&s, &r)| (s * r as f64) as f32)
        .collect();
    let doffset = sdy.iter().map(|&s| s as f32).collect();
    if training {
        let n = (x.len() / c.max(1)).max(1) as f64;
        let mut k2 = vec![0f32; c];
        let mut k3 = vec![0f32; c];
        for ch in 0..c {
            let (k, r) = (k1[ch] as f64, rinv[ch] as f64);
            let q = -k * sdyx[ch] * r * r / n;
            k2[ch] = q as f32;
            k3[ch] = (-k * sdy[ch] / n - mean[ch] as f64 * q) as f32;
        }
        grad_x(g, x, &k1, &k2, &k3);
    }
    (dscale, doffset)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` values in [-0.5, 0.5) from a splitmix64 sequence started at `seed`.
    fn data(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_add(0x9E37_79B9_7F4A_7C15);
                let mut z = s;
                z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 24) as f32 - 0.5
            })
            .collect()
    }

    /// Naive batch norm statistics and gradient, in f64, straight from the definitions.
    fn naive_moments(x: &[f32], c: usize) -> (Vec<f64>, Vec<f64>) {
        let n = (x.len() / c) as f64;
        let mut mean = vec![0f64; c];
        x.chunks(c).for_each(|r| {
            r.iter()
                .enumerate()
                .for_each(|(k, &v)| mean[k] += v as f64 / n)
        });
        let mut var = vec![0f64; c];
        x.chunks(c).for_each(|r| {
            r.iter()
                .enumerate()
                .for_each(|(k, &v)| var[k] += (v as f64 - mean[k]).powi(2) / n)
        });
        (mean, var)
    }

    fn near(a: &[f32], b: &[f64], tol: f64) {
        assert_eq!(a.len(), b.len());
        for (i, (&x, &y)) in a.iter().zip(b).enumerate() {
            assert!(
                (x as f64 - y).abs() <= tol * (1.0 + y.abs()),
                "{i}: {x} vs {y}"
            );
        }
    }

    #[test]
    fn moments_and_affine_match_the_definition_on_random_shapes() {
        for (seed, (rows, c)) in [(1, 7), (300, 3), (1000, 64), (517, 130), (2, 1)]
            .into_iter()
            .enumerate()
        {
            // An offset far from zero checks the precision of the variance.
            let x: Vec<f32> = data(rows * c, seed as u64)
                .iter()
                .map(|v| v + 100.0)
                .collect();
            let (mean, var) = moments(&x, c);
            let (m, v) = naive_moments(&x, c);
            near(&mean, &m, 1e-6);
            near(&var, &v, 1e-3);
            let (scale, offset) = (data(c, 9), data(c, 10));
            let (a, b) = coefficients(&scale, &offset, &mean, &var, 1e-3);
            let mut y = vec![0f32; x.len()];
            affine(Some(&x), &a, &b, &mut y);
            let mut z = x.clone();
            affine(None, &a, &b, &mut z);
            assert_eq!(y, z);
            let want: Vec<f64> = x
                .iter()
                .enumerate()
                .map(|(i, &e)| {
                    let k = i % c;
                    scale[k] as f64 * (e as f64 - m[k]) / (v[k] + 1e-3).sqrt() + offset[k] as f64
                })
                .collect();
            near(&y, &want, 1e-3);
        }
    }

    #[test]
    fn backward_matches_the_closed_form_in_both_modes() {
        for (rows, c) in [(5, 3), (700, 64), (33, 130)] {
            let x = data(rows * c, 3);
            let dy = data(rows * c, 4);
            let scale = data(c, 5);
            let (m, v) = naive_moments(&x, c);
            let (mean, var): (Vec<f32>, Vec<f32>) = (
                m.iter().map(|&a| a as f32).collect(),
                v.iter().map(|&a| a as f32).collect(),
            );
            let eps = 1e-3;
            let n = rows as f64;
            for training in [true, false] {
                let mut dx = dy.clone();
                let (dscale, doffset) = backward(&mut dx, &x, &scale, &mean, &var, eps, training);
                let mut sdy = vec![0f64; c];
                let mut sdyx = vec![0f64; c];
                for i in 0..x.len() {
                    let k = i % c;
                    sdy[k] += dy[i] as f64;
                    sdyx[k] += dy[i] as f64 * (x[i] as f64 - m[k]);
                }
                let r: Vec<f64> = v.iter().map(|&v| 1.0 / (v + eps as f64).sqrt()).collect();
                let want_dx: Vec<f64> = (0..x.len())
                    .map(|i| {
                        let k = i % c;
                        let s = scale[k] as f64 * r[k];
                        if training {
                            let xc = x[i] as f64 - m[k];
                            s * (dy[i] as f64 - sdy[k] / n - xc * r[k] * r[k] * sdyx[k] / n)
                        } else {
                            s * dy[i] as f64
                        }
                    })
                    .collect();
                near(&dx, &want_dx, 1e-4);
                near(&doffset, &sdy, 1e-5);
                let want_ds: Vec<f64> = sdyx.iter().zip(&r).map(|(s, r)| s * r).collect();
                near(&dscale, &want_ds, 1e-4);
            }
        }
    }
}
