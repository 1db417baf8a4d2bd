//! Local response normalization across the channels (the last, contiguous axis), and its
//! gradient. Pixels are independent: chunks of whole pixels run on the rayon pool.

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

impl Lrn {
    /// `norm[c] = bias + alpha · Σ_window x²` of one pixel's channels `x`.
    fn norms(&self, x: &[f32], norm: &mut [f32]) {
        let c = x.len();
        for (k, n) in norm.iter_mut().enumerate() {
            let (lo, hi) = self.window(k, c);
            *n = self.bias + self.alpha * x[lo..hi].iter().map(|v| v * v).sum::<f32>();
        }
    }

    /// The channels `[lo, hi)` of channel `k`'s window among `c`.
    fn window(&self, k: usize, c: usize) -> (usize, usize) {
        (k.saturating_sub(self.radius), (k + self.radius + 1).min(c))
    }

    /// The forward pass over rows of `c` channels: `y` (same length as `x`) overwritten.
    pub fn forward(&self, x: &[f32], c: usize, y: &mut [f32]) {
        if c == 0 {
            return;
        }
        let rows = task_rows(c) * c;
        y.par_chunks_mut(rows)
            .zip(x.par_chunks(rows))
            .for_each(|(yc, xc)| {
                let mut norm = vec![0f32; c];
                for (yr, xr) in yc.chunks_exact_mut(c).zip(xc.chunks_exact(c)) {
                    self.norms(xr, &mut norm);
                    for ((o, &v), &n) in yr.iter_mut().zip(xr).zip(&norm) {
                        *o = v * n.powf(-self.beta);
                    }
                }
            });
    }

    /// The gradient for the upstream `dy` at input `x`:
    /// `dx_j = dy_j · N_j^-beta - 2·alpha·beta·x_j · Σ_{|i-j| <= radius} dy_i·x_i·N_i^(-beta-1)`.
    pub fn backward(&self, dy: &[f32], x: &[f32], c: usize, dx: &mut [f32]) {
        if c == 0 {
            return;
        }
        let rows = task_rows(c) * c;
        let scale = 2.0 * self.alpha * self.beta;
        dx.par_chunks_mut(rows)
            .zip(x.par_chunks(rows).zip(dy.par_chunks(rows)))
            .for_each(|(dc, (xc, gc))| {
                let mut norm = vec![0f32; c];
                let mut t = vec![0f32; c];
                for ((dr, xr), gr) in dc
                    .chunks_exact_mut(c)
                    .zip(xc.chunks_exact(c))
                    .zip(gc.chunks_exact(c))
                {
                    self.norms(xr, &mut norm);
                    for (k, tk) in t.iter_mut().enumerate() {
                        *tk = gr[k] * xr[k] * norm[k].powf(-self.beta - 1.0);
                    }
                    for (j, d) in dr.iter_mut().enumerate() {
                        let (lo, hi) = self.window(j, c);
                        let s: f32 = t[lo..hi].iter().sum();
                        *d = gr[j] * norm[j].powf(-self.beta) - scale * xr[j] * s;
                    }
                }
            });
    }
}
