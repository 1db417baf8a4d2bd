//! 2-D pooling over NHWC tensors (max and average, and their gradients): the problem, the
//! one place its kernel is chosen, and the kernels. Every loop runs innermost over channels,
//! which are contiguous; images are split over the rayon pool.

use crate::kernels::isa::multiversion;
use crate::kernels::pool_grad_grad::max_pool_grad_grad;
use crate::kernels::window::{Padding, Window};
use rayon::prelude::*;
use rustflow_graph::{fmt_dims, Error, Result};

/// Channels per step of the 2x2 gradient's inner loop.
const LANES: usize = 16;

/// About this many input elements per parallel task.
const TASK_ELEMS: usize = 1 << 15;

/// Which pool a kernel computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PoolKind {
    Max,
    Avg,
}

/// A pool to compute: which pool, and its window's geometry over an NHWC input.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PoolProblem {
    pub kind: PoolKind,
    pub win: Window,
}

/// A pass of a pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PoolPass {
    /// The pooled output.
    Forward,
    /// The gradient with respect to the input.
    Backprop,
}

/// The kernels of the pooling family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PoolKernel {
    /// Windows that tile the input in disjoint 2x2 blocks: four inputs per output, as
    /// straight-line selects over channels.
    Tiles2x2,
    /// Any window: the in-bounds taps of each output pixel.
    Windows,
}

impl PoolProblem {
    /// The `kind` pool of windows `ksize` moved by `strides` over a run-time input of shape
    /// `x`, or a kernel error naming the shape and attributes.
    pub fn new(
        kind: PoolKind,
        x: &[usize],
        ksize: (usize, usize),
        strides: (usize, usize),
        padding: Padding,
    ) -> Result<PoolProblem> {
        let win = Window::new(x, ksize, strides, padding).map_err(|m| {
            Error::Kernel(format!(
                "{m}: input {}, ksize [1,{},{},1], strides [1,{},{},1], padding {padding}",
                fmt_dims(x),
                ksize.0,
                ksize.1,
                strides.0,
                strides.1,
            ))
        })?;
        Ok(PoolProblem { kind, win })
    }

    /// The pooled output's shape `[n, oh, ow, c]`.
    pub fn out_shape(&self) -> [usize; 4] {
        let w = &self.win;
        [w.n, w.oh, w.ow, w.c]
    }

    /// Checks that an upstream gradient `dy` has the pooled shape.
    pub fn check_out_backprop(&self, dy: &[usize]) -> Result<()> {
        let want = self.out_shape();
        if dy == want {
            return Ok(());
        }
        Err(Error::Kernel(format!(
            "the upstream gradient has shape {} but the pooled output has shape {}",
            fmt_dims(dy),
            fmt_dims(&want)
        )))
    }

    /// The kernel of `pass`. Every kernel choice of the family is here (with
    /// [`Self::pools_first`] for fused kernels, and `TASK_ELEMS` input elements per parallel
    /// task): a max pool, forward or gradient, whose 2x2 windows at stride 2 tile the input
    /// runs as disjoint 2x2 blocks; anything else visits each window's in-bounds taps (the
    /// gradient of a max pool's gradient always does).
    pub fn select(&self, pass: PoolPass) -> PoolKernel {
        let w = &self.win;
        let tiles = (w.kh, w.kw, w.sh, w.sw) == (2, 2, 2, 2) && w.oh * 2 == w.h && w.ow * 2 == w.w;
        match (self.kind, pass) {
            (PoolKind::Max, PoolPass::Forward | PoolPass::Backprop) if tiles => {
                PoolKernel::Tiles2x2
            }
            _ => PoolKernel::Windows,
        }
    }

    /// Whether a fused kernel pools its product before an element-wise epilogue (a bias per
    /// channel and an activation, `monotone` when non-decreasing) rather than after: a max
    /// pool then picks the same element of each window, and maps only the pooled values.
    pub fn pools_first(&self, monotone: bool) -> bool {
        self.kind == PoolKind::Max && monotone
    }

    /// Output elements per image.
    fn out_len(&self) -> usize {
        self.win.oh * self.win.ow * self.win.c
    }

    /// Runs `f(first image, output chunk)` over chunks of whole images of `out` (`per_image`
    /// elements each), in parallel, about `TASK_ELEMS` input elements a task.
    pub(super) fn par_images(
        &self,
        out: &mut [f32],
        per_image: usize,
        f: impl Fn(usize, &mut [f32]) + Sync,
    ) {
        if out.is_empty() || per_image == 0 {
            return;
        }
        let b = (TASK_ELEMS / self.win.in_len().max(1)).max(1);
        if b >= self.win.n {
            f(0, out);
        } else {
            out.par_chunks_mut(b * per_image)
                .enumerate()
                .for_each(|(i, chunk)| f(i * b, chunk));
        }
    }

    /// The pool of `x` into `y` (shaped [`Self::out_shape`], every element written), in
    /// parallel.
    pub fn forward(&self, x: &[f32], y: &mut [f32]) {
        let in_len = self.win.in_len();
        self.par_images(y, self.out_len(), |i0, yc| {
            self.forward_images(&x[i0 * in_len..], yc)
        });
    }

    /// [`Self::forward`] of the first images of `x` into `y` (as many as `y` holds), on this
    /// thread.
    pub fn forward_images(&self, x: &[f32], y: &mut [f32]) {
        match (self.kind, self.select(PoolPass::Forward)) {
            (PoolKind::Max, PoolKernel::Tiles2x2) => max_pool_2x2(x, &self.win, y),
            (PoolKind::Max, PoolKernel::Windows) => max_pool_windows(x, &self.win, y),
            (PoolKind::Avg, _) => avg_pool_windows(x, &self.win, y),
        }
    }

    /// The gradient `dx` (shaped like `x`, overwritten) of the pool of `x` for the upstream
    /// gradient `dy` (an average pool reads only `dy`).
    pub fn backprop(&self, x: &[f32], dy: &[f32], dx: &mut [f32]) {
        match (self.kind, self.select(PoolPass::Backprop)) {
            (PoolKind::Max, kernel) => max_pool_grad(self, kernel, x, dy, dx),
            (PoolKind::Avg, _) => avg_pool_grad(self, dy, dx),
        }
    }

    /// The gradient of [`Self::backprop`] with respect to `dy`, for the upstream `g` (shaped
    /// like `x`), into `y` (shaped like the pooled output, overwritten); both gradients are
    /// linear in `dy`: a max pool's picks `g` at each window's first maximum of `x`, an
    /// average pool's is the pool of `g`.
    pub fn grad_grad(&self, x: &[f32], g: &[f32], y: &mut [f32]) {
        match self.kind {
            PoolKind::Max => max_pool_grad_grad(self, x, g, y),
            PoolKind::Avg => self.forward(g, y),
        }
    }
}

/// Calls `visit(o, taps)` for each output pixel of the `nb` images from image `i0`: `o` is
/// the pixel's first element within those images' output, and `taps` yields the element
/// offsets (within the whole input) of the window's in-bounds input pixels, row-major.
pub(super) fn for_each_window(
    win: &Window,
    i0: usize,
    nb: usize,
    mut visit: impl FnMut(usize, &mut dyn Iterator<Item = usize>),
) {
    let c = win.c;
    for img in 0..nb {
        let base = (i0 + img) * win.in_len();
        for oh in 0..win.oh {
            let (th0, th1) = Window::taps(oh, win.sh, win.pad_top, win.kh, win.h);
            for ow in 0..win.ow {
                let (tw0, tw1) = Window::taps(ow, win.sw, win.pad_left, win.kw, win.w);
                let out_pix = (img * win.oh + oh) * win.ow + ow;
                let mut taps = (th0..th1).flat_map(|t| {
                    let ih = oh * win.sh + t - win.pad_top;
                    (tw0..tw1).map(move |u| {
                        let iw = ow * win.sw + u - win.pad_left;
                        base + (ih * win.w + iw) * c
                    })
                });
                visit(out_pix * c, &mut taps);
            }
        }
    }
}

/// In a 2x2 tiling, each output pixel's four inputs (top-left, top-right, bottom-left,
/// bottom-right; `c` channels each) for the images of `x`, in output order: each output row
/// reads two input rows.
fn quads_2x2<'a>(x: &'a [f32], win: &Window) -> impl Iterator<Item = [&'a [f32]; 4]> {
    let (c, row) = (win.c, win.w * win.c);
    x.chunks_exact(2 * row).flat_map(move |rows| {
        let (top, bottom) = rows.split_at(row);
        let pairs = top.chunks_exact(2 * c).zip(bottom.chunks_exact(2 * c));
        pairs.map(move |(t, u)| {
            let ((a, b), (d, e)) = (t.split_at(c), u.split_at(c));
            [a, b, d, e]
        })
    })
}

/// The first `LANES` elements of `s`.
fn lanes(s: &[f32]) -> [f32; LANES] {
    let mut a = [0.0; LANES];
    a.copy_from_slice(&s[..LANES]);
    a
}

/// For `L` channels of one 2x2 window with inputs `[a, b, d, e]` (row-major) and upstream
/// gradient `g`: the gradient of each input, `g` at the first maximal input and 0 elsewhere
/// (TensorFlow's rule), written as selects so that the loop vectorizes.
#[inline(always)]
fn route_2x2<const L: usize>(v: [[f32; L]; 4], g: [f32; L]) -> [[f32; L]; 4] {
    let [a, b, d, e] = v;
    let mut out = [[0f32; L]; 4];
    for l in 0..L {
        let over_a = b[l] > a[l];
        let m = if over_a { b[l] } else { a[l] };
        let over_ab = d[l] > m;
        let m = if over_ab { d[l] } else { m };
        let over_abd = e[l] > m;
        let (g, z) = (g[l], 0.0);
        out[3][l] = if over_abd { g } else { z };
        out[2][l] = if over_ab && !over_abd { g } else { z };
        out[1][l] = if over_a && !over_ab && !over_abd {
            g
        } else {
            z
        };
        out[0][l] = if !over_a && !over_ab && !over_abd {
            g
        } else {
            z
        };
    }
    out
}

multiversion! {
    /// The max pool of the first images of `x` into `y` (as many as `y` holds) for windows
    /// that tile the input in 2x2 blocks, on this thread.
    fn max_pool_2x2(x: &[f32], win: &Window, y: &mut [f32]) {
        let c = win.c;
        for (out, [a, b, d, e]) in y.chunks_exact_mut(c).zip(quads_2x2(x, win)) {
            let taps = a.iter().zip(b).zip(d.iter().zip(e));
            for (o, ((&a, &b), (&d, &e))) in out.iter_mut().zip(taps) {
                // The first of equal values wins, and NaN only if it comes first, as in
                // [`max_pool_windows`].
                let mut m = a;
                for v in [b, d, e] {
                    m = if v > m { v } else { m };
                }
                *o = m;
            }
        }
    }
}

multiversion! {
    /// The max pool of the first images of `x` into `y` (as many as `y` holds), on this
    /// thread; padding never wins (it acts as −inf).
    fn max_pool_windows(x: &[f32], win: &Window, y: &mut [f32]) {
        let c = win.c;
        let nb = y.len() / (win.oh * win.ow * c).max(1);
        for_each_window(win, 0, nb, |o, taps| {
            let out = &mut y[o..o + c];
            out.fill(f32::NEG_INFINITY);
            if let Some(first) = taps.next() {
                out.copy_from_slice(&x[first..first + c]);
            }
            for off in taps {
                for (m, &v) in out.iter_mut().zip(&x[off..off + c]) {
                    if v > *m {
                        *m = v;
                    }
                }
            }
        });
    }
}

multiversion! {
    /// The gradient of a max pool by `kernel`: each window's upstream value goes entirely to
    /// the first maximal input of the window in row-major order (TensorFlow's rule);
    /// overlapping windows add. Writes `dx` (overwritten).
    fn max_pool_grad(
        p: &PoolProblem,
        kernel: PoolKernel,
        x: &[f32],
        dy: &[f32],
        dx: &mut [f32],
    ) {
        let (win, c) = (&p.win, p.win.c);
        let out_len = p.out_len();
        let in_len = win.in_len();
        if kernel == PoolKernel::Tiles2x2 {
            // Disjoint windows: every dx element is written once, by its window.
            return p.par_images(dx, in_len, |i0, dxc| {
                let nb = dxc.len() / in_len;
                let xc = &x[i0 * in_len..(i0 + nb) * in_len];
                let dyc = &dy[i0 * out_len..(i0 + nb) * out_len];
                // The input quads and, in the same order, the output quads: each output row
                // writes two rows of dx.
                let row = win.w * c;
                let douts = dxc.chunks_exact_mut(2 * row).flat_map(|rows| {
                    let (top, bottom) = rows.split_at_mut(row);
                    let pairs = top
                        .chunks_exact_mut(2 * c)
                        .zip(bottom.chunks_exact_mut(2 * c));
                    pairs.map(move |(t, u)| {
                        let ((a, b), (d, e)) = (t.split_at_mut(c), u.split_at_mut(c));
                        [a, b, d, e]
                    })
                });
                let quads = quads_2x2(xc, win).zip(dyc.chunks_exact(c));
                for (mut ds, (xs, g)) in douts.zip(quads) {
                    // Sixteen channels at a time through fixed-size local arrays, which the
                    // compiler turns into vector code; the rest one by one.
                    let full = c - c % LANES;
                    for k0 in (0..full).step_by(LANES) {
                        let out = route_2x2(xs.map(|xt| lanes(&xt[k0..])), lanes(&g[k0..]));
                        for (dt, ot) in ds.iter_mut().zip(&out) {
                            dt[k0..k0 + LANES].copy_from_slice(ot);
                        }
                    }
                    for k in full..c {
                        let out = route_2x2(xs.map(|xt| [xt[k]]), [g[k]]);
                        for (dt, ot) in ds.iter_mut().zip(&out) {
                            dt[k] = ot[0];
                        }
                    }
                }
            });
        }
        p.par_images(dx, in_len, |i0, dxc| {
            dxc.fill(0.0);
            let nb = dxc.len() / in_len;
            let base = i0 * in_len;
            let mut best = vec![0f32; c];
            let mut arg = vec![0usize; c];
            for_each_window(win, i0, nb, |o, taps| {
                let Some(first) = taps.next() else { return };
                best.copy_from_slice(&x[first..first + c]);
                arg.iter_mut().enumerate().for_each(|(k, a)| *a = first + k);
                for off in taps {
                    for (k, &v) in x[off..off + c].iter().enumerate() {
                        if v > best[k] {
                            best[k] = v;
                            arg[k] = off + k;
                        }
                    }
                }
                let g = &dy[i0 * out_len + o..i0 * out_len + o + c];
                for (&a, &d) in arg.iter().zip(g) {
                    dxc[a - base] += d;
                }
            });
        });
    }
}

multiversion! {
    /// The average pool of the first images of `x` into `y` (as many as `y` holds), on this
    /// thread: each window divides by its number of in-bounds inputs.
    fn avg_pool_windows(x: &[f32], win: &Window, y: &mut [f32]) {
        let c = win.c;
        let nb = y.len() / (win.oh * win.ow * c).max(1);
        for_each_window(win, 0, nb, |o, taps| {
            let out = &mut y[o..o + c];
            out.fill(0.0);
            let mut count = 0usize;
            for off in taps {
                count += 1;
                for (s, &v) in out.iter_mut().zip(&x[off..off + c]) {
                    *s += v;
                }
            }
            let scale = count.max(1) as f32;
            out.iter_mut().for_each(|s| *s /= scale);
        });
    }
}

multiversion! {
    /// The gradient of an average pool: each window's upstream value divided by its
    /// in-bounds count, added to each of its inputs. Writes `dx` (overwritten).
    fn avg_pool_grad(p: &PoolProblem, dy: &[f32], dx: &mut [f32]) {
        let (win, c) = (&p.win, p.win.c);
        let out_len = p.out_len();
        let in_len = win.in_len();
        p.par_images(dx, in_len, |i0, dxc| {
            dxc.fill(0.0);
            let nb = dxc.len() / in_len;
            let base = i0 * in_len;
            let mut offs: Vec<usize> = Vec::new();
            for_each_window(win, i0, nb, |o, taps| {
                offs.clear();
                offs.extend(taps);
                let scale = offs.len().max(1) as f32;
                let g = &dy[i0 * out_len + o..i0 * out_len + o + c];
                for &off in &offs {
                    for (d, &v) in dxc[off - base..off - base + c].iter_mut().zip(g) {
                        *d += v / scale;
                    }
                }
            });
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::reference::data;

    /// The 2x2 fast path against the definition, with channels past a multiple of 16 and
    /// many ties (values on a coarse grid, and all-equal windows).
    #[test]
    fn max_pool_grad_2x2_routes_to_the_first_maximum() {
        let (n, h, w, c) = (2, 4, 6, 37);
        let p =
            PoolProblem::new(PoolKind::Max, &[n, h, w, c], (2, 2), (2, 2), Padding::Valid).unwrap();
        assert_eq!(p.select(PoolPass::Backprop), PoolKernel::Tiles2x2);
        let mut x: Vec<f32> = data(n * h * w * c, 1)
            .iter()
            .map(|v| (v * 4.0).round())
            .collect();
        x[..2 * w * c].fill(1.0);
        let dy = data(n * (h / 2) * (w / 2) * c, 2);
        let mut dx = vec![f32::NAN; x.len()];
        p.backprop(&x, &dy, &mut dx);
        let mut want = vec![0f32; x.len()];
        let at = |i: usize, y: usize, xx: usize, k: usize| ((i * h + y) * w + xx) * c + k;
        for i in 0..n {
            for (oy, ox, k) in (0..h / 2)
                .flat_map(|oy| (0..w / 2).flat_map(move |ox| (0..c).map(move |k| (oy, ox, k))))
            {
                let taps =
                    [(0, 0), (0, 1), (1, 0), (1, 1)].map(|(t, u)| at(i, 2 * oy + t, 2 * ox + u, k));
                let mut best = taps[0];
                for &t in &taps[1..] {
                    if x[t] > x[best] {
                        best = t;
                    }
                }
                want[best] = dy[((i * (h / 2) + oy) * (w / 2) + ox) * c + k];
            }
        }
        assert_eq!(dx, want);
    }
}
