//! Local response normalization across the channels (the last, contiguous axis), and its
//! gradient. Pixels are independent: chunks of whole pixels run on the rayon pool.

use crate::kernels::isa::multiversion;
use rayon::prelude::*;

/// LRN's parameters: `y_c = x_c / (bias + alpha · Σ_{|c'-c| <= radius} x_{c'}²)^beta`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Lrn {
    pub radius: usize,
    pub bias: f32,
    pub alpha: f32,
    pub beta: f32,
}

/// Pixels per parallel task, for rows of `c` channels.
fn task_rows(c: usize) -> usize {
    ((1 << 14) / c.max(1)).max(1)
}

/// `n^-beta` for each element of `n`, in place; the exponents LRN is used with (0.75, the
/// CIFAR tutorial's and AlexNet's, 0.5 and 1) by square roots and a division, which vectorize
/// (`powf` is a call per element).
#[inline(always)]
fn pow_neg(n: &mut [f32], beta: f32) {
    if beta == 0.75 {
        n.iter_mut().for_each(|v| {
            let s = v.sqrt();
            *v = 1.0 / (s * s.sqrt());
        });
    } else if beta == 0.5 {
        n.iter_mut().for_each(|v| *v = 1.0 / v.sqrt());
    } else if beta == 1.0 {
        n.iter_mut().for_each(|v| *v = 1.0 / *v);
    } else {
        n.iter_mut().for_each(|v| *v = v.powf(-beta));
    }
}

multiversion! {
    /// [`Lrn::forward`]'s loops.
    fn forward(p: &Lrn, x: &[f32], c: usize, y: &mut [f32]) {
        let rows = task_rows(c) * c;
        y.par_chunks_mut(rows)
            .zip(x.par_chunks(rows))
            .for_each(|(yc, xc)| {
                let mut norm = vec![0f32; c];
                for (yr, xr) in yc.chunks_exact_mut(c).zip(xc.chunks_exact(c)) {
                    p.norms(xr, &mut norm);
                    pow_neg(&mut norm, p.beta);
                    for ((o, &v), &n) in yr.iter_mut().zip(xr).zip(&norm) {
                        *o = v * n;
                    }
                }
            });
    }
}

multiversion! {
    /// [`Lrn::backward`]'s loops.
    fn backward(p: &Lrn, dy: &[f32], x: &[f32], c: usize, dx: &mut [f32]) {
        let rows = task_rows(c) * c;
        let scale = 2.0 * p.alpha * p.beta;
        dx.par_chunks_mut(rows)
            .zip(x.par_chunks(rows).zip(dy.par_chunks(rows)))
            .for_each(|(dc, (xc, gc))| {
                let mut norm = vec![0f32; c];
                let mut pow = vec![0f32; c];
                let mut t = vec![0f32; c];
                for ((dr, xr), gr) in dc
                    .chunks_exact_mut(c)
                    .zip(xc.chunks_exact(c))
                    .zip(gc.chunks_exact(c))
                {
                    p.norms(xr, &mut norm);
                    pow.copy_from_slice(&norm);
                    pow_neg(&mut pow, p.beta);
                    for (((tk, &g), &v), (&pk, &nk)) in
                        t.iter_mut().zip(gr).zip(xr).zip(pow.iter().zip(&norm))
                    {
                        *tk = g * v * (pk / nk);
                    }
                    for (j, d) in dr.iter_mut().enumerate() {
                        let (lo, hi) = p.window(j, c);
                        let s: f32 = t[lo..hi].iter().sum();
                        *d = gr[j] * pow[j] - scale * xr[j] * s;
                    }
                }
            });
    }
}

impl Lrn {
    /// `norm[c] = bias + alpha · Σ_window x²` of one pixel's channels `x`.
    #[inline(always)]
    fn norms(&self, x: &[f32], norm: &mut [f32]) {
        let c = x.len();
        for (k, n) in norm.iter_mut().enumerate() {
            let (lo, hi) = self.window(k, c);
            *n = self.bias + self.alpha * x[lo..hi].iter().map(|v| v * v).sum::<f32>();
        }
    }

    /// The channels `[lo, hi)` of channel `k`'s window among `c`.
    #[inline(always)]
    fn window(&self, k: usize, c: usize) -> (usize, usize) {
        (k.saturating_sub(self.radius), (k + self.radius + 1).min(c))
    }

    /// The forward pass over rows of `c` channels: `y` (same length as `x`) overwritten.
    pub fn forward(&self, x: &[f32], c: usize, y: &mut [f32]) {
        if c > 0 {
            forward(self, x, c, y);
        }
    }

    /// The gradient for the upstream `dy` at input `x`:
    /// `dx_j = dy_j · N_j^-beta - 2·alpha·beta·x_j · Σ_{|i-j| <= radius} dy_i·x_i·N_i^(-beta-1)`.
    pub fn backward(&self, dy: &[f32], x: &[f32], c: usize, dx: &mut [f32]) {
        if c > 0 {
            backward(self, dy, x, c, dx);
        }
    }
}
