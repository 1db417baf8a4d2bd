//! Direct convolution loops with any strides and dilations, for ordinary (`Conv2D`) and
//! depthwise (`DepthwiseConv2dNative`) filters, and both their gradients: per output pixel
//! and in-bounds filter tap, a channel loop over contiguous memory (which vectorizes). The
//! forward pass and the input gradient run images in parallel; the filter gradient sums
//! per-task partial filters.

use rayon::prelude::*;

/// How the filter `[kh, kw, c, m]` maps input channels to output channels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `Conv2D`: output channel `o` sums every input channel with `f[.., .., c, o]`.
    Full,
    /// Depthwise: output channel `c·m + j` is input channel `c` with `f[.., .., c, j]`.
    Depthwise,
}

/// The run-time geometry of a dilated, strided 2-D window over an NHWC input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geom {
    pub n: usize,
    pub h: usize,
    pub w: usize,
    pub c: usize,
    pub kh: usize,
    pub kw: usize,
    /// The filter's last dimension (output channels, or the depthwise multiplier).
    pub m: usize,
    pub strides: (usize, usize),
    pub dilations: (usize, usize),
    pub oh: usize,
    pub ow: usize,
    pub pad_top: usize,
    pub pad_left: usize,
    pub kind: Kind,
}

impl Geom {
    /// Output channels.
    pub fn out_c(&self) -> usize {
        match self.kind {
            Kind::Full => self.m,
            Kind::Depthwise => self.c * self.m,
        }
    }

    /// Elements of one input image and one output image.
    fn lens(&self) -> (usize, usize) {
        (self.h * self.w * self.c, self.oh * self.ow * self.out_c())
    }

    /// Calls `tap(x_off, f_off, y_off)` for every output pixel of image `img` and every tap
    /// of its window inside the input: the pixel's element offsets within the image's input
    /// and output and the tap's within the filter.
    fn for_each_tap(&self, mut tap: impl FnMut(usize, usize, usize)) {
        let (sh, sw) = self.strides;
        let (dh, dw) = self.dilations;
        let per_tap = self.c * self.m;
        for oy in 0..self.oh {
            for ky in 0..self.kh {
                let Some(iy) = (oy * sh + ky * dh)
                    .checked_sub(self.pad_top)
                    .filter(|&i| i < self.h)
                else {
                    continue;
                };
                for ox in 0..self.ow {
                    let y_off = (oy * self.ow + ox) * self.out_c();
                    for kx in 0..self.kw {
                        let Some(ix) = (ox * sw + kx * dw)
                            .checked_sub(self.pad_left)
                            .filter(|&i| i < self.w)
                        else {
                            continue;
                        };
                        tap(
                            (iy * self.w + ix) * self.c,
                            (ky * self.kw + kx) * per_tap,
                            y_off,
                        );
                    }
                }
            }
        }
    }

    /// The convolution of `x` with `f` into `y` (overwritten).
    pub fn forward(&self, x: &[f32], f: &[f32], y: &mut [f32]) {
        let (il, ol) = self.lens();
        if ol == 0 {
            return;
        }
        let (c, m, kind) = (self.c, self.m, self.kind);
        y.par_chunks_mut(ol).enumerate().for_each(|(i, yi)| {
            yi.fill(0.0);
            let xi = &x[i * il..(i + 1) * il];
            self.for_each_tap(|xo, fo, yo| {
                let (xp, ft) = (&xi[xo..xo + c], &f[fo..fo + c * m]);
                let yp = &mut yi[yo..yo + self.out_c()];
                match kind {
                    Kind::Full => {
                        for (&v, fr) in xp.iter().zip(ft.chunks_exact(m)) {
                            yp.iter_mut().zip(fr).for_each(|(o, &w)| *o += v * w);
                        }
                    }
                    Kind::Depthwise => {
                        for ((&v, fr), yr) in xp
                            .iter()
                            .zip(ft.chunks_exact(m))
                            .zip(yp.chunks_exact_mut(m))
                        {
                            yr.iter_mut().zip(fr).for_each(|(o, &w)| *o += v * w);
                        }
                    }
                }
            });
        });
    }

    /// The gradient with respect to the input, for the upstream `dy`, into `dx` (overwritten).
    pub fn backprop_input(&self, dy: &[f32], f: &[f32], dx: &mut [f32]) {
        let (il, ol) = self.lens();
        if il == 0 {
            return;
        }
        let (c, m) = (self.c, self.m);
        dx.par_chunks_mut(il).enumerate().for_each(|(i, dxi)| {
            dxi.fill(0.0);
            if ol == 0 {
                return;
            }
            let dyi = &dy[i * ol..(i + 1) * ol];
            self.for_each_tap(|xo, fo, yo| {
                let (ft, g) = (&f[fo..fo + c * m], &dyi[yo..yo + self.out_c()]);
                let dp = &mut dxi[xo..xo + c];
                match self.kind {
                    Kind::Full => {
                        for (d, fr) in dp.iter_mut().zip(ft.chunks_exact(m)) {
                            *d += fr.iter().zip(g).map(|(&w, &v)| w * v).sum::<f32>();
                        }
                    }
                    Kind::Depthwise => {
                        for ((d, fr), gr) in
                            dp.iter_mut().zip(ft.chunks_exact(m)).zip(g.chunks_exact(m))
                        {
                            *d += fr.iter().zip(gr).map(|(&w, &v)| w * v).sum::<f32>();
                        }
                    }
                }
            });
        });
    }

    /// The gradient with respect to the filter, for the upstream `dy`, into `df`
    /// (overwritten).
    pub fn backprop_filter(&self, x: &[f32], dy: &[f32], df: &mut [f32]) {
        let (il, ol) = self.lens();
        let (c, m) = (self.c, self.m);
        let partial = |i: usize, acc: &mut Vec<f32>| {
            let (xi, dyi) = (&x[i * il..(i + 1) * il], &dy[i * ol..(i + 1) * ol]);
            self.for_each_tap(|xo, fo, yo| {
                let (xp, g) = (&xi[xo..xo + c], &dyi[yo..yo + self.out_c()]);
                let dt = &mut acc[fo..fo + c * m];
                match self.kind {
                    Kind::Full => {
                        for (&v, dr) in xp.iter().zip(dt.chunks_exact_mut(m)) {
                            dr.iter_mut().zip(g).for_each(|(d, &u)| *d += v * u);
                        }
                    }
                    Kind::Depthwise => {
                        for ((&v, dr), gr) in
                            xp.iter().zip(dt.chunks_exact_mut(m)).zip(g.chunks_exact(m))
                        {
                            dr.iter_mut().zip(gr).for_each(|(d, &u)| *d += v * u);
                        }
                    }
                }
            });
        };
        let sum = if il == 0 || ol == 0 {
            vec![0f32; df.len()]
        } else {
            (0..self.n)
                .into_par_iter()
                .fold(
                    || vec![0f32; df.len()],
                    |mut acc, i| {
                        partial(i, &mut acc);
                        acc
                    },
                )
                .reduce(
                    || vec![0f32; df.len()],
                    |mut a, b| {
                        a.iter_mut().zip(&b).for_each(|(x, y)| *x += y);
                        a
                    },
                )
        };
        df.copy_from_slice(&sum);
    }
}
