//! Direct convolution for inputs with few channels (one channel under a 5x5 window, say). There im2col would build a matrix only 25 wide and the GEMM would
//! run far below its speed; looping over the window's taps with the output channels in
//! vector registers does the same arithmetic without the matrix.
//!
//! Each image is first copied into a zero-padded buffer that covers every tap, so the inner
//! loops need no bounds checks. Output channels go in blocks of up to 64 (the filter and the
//! output gradient are padded to a multiple of 16 channels).

#[cfg(target_arch = "x86_64")]
use crate::kernels::bcast::{avx512, avx512::block_taps};
use crate::kernels::window::Window;
use rayon::prelude::*;

/// Patch rows (tap x input channel) per register block in the filter gradient.
const ROWS: usize = 6;

/// At most this many partial filter gradients are summed (a fixed partition of the images,
/// so that results do not depend on scheduling).
const MAX_GROUPS: usize = 8;

/// `a · b + c`, in one rounding where the CPU fuses them (so that the loops compile to FMA
/// instructions: Rust never contracts `a * b + c` by itself), else in two.
#[inline(always)]
fn fmadd(a: f32, b: f32, c: f32) -> f32 {
    if cfg!(target_feature = "fma") {
        a.mul_add(b, c)
    } else {
        a * b + c
    }
}

/// The padded geometry of one image: every tap of every output pixel falls inside.
struct Padded {
    ph: usize,
    pw: usize,
    /// Offset of each patch row (tap-major, then channel) from its pixel's first tap.
    offs: Vec<usize>,
}

impl Padded {
    fn new(win: &Window) -> Padded {
        let ph = win.oh.saturating_sub(1) * win.sh + win.kh;
        let pw = win.ow.saturating_sub(1) * win.sw + win.kw;
        let mut offs = Vec::with_capacity(win.kh * win.kw * win.c);
        for t in 0..win.kh {
            for u in 0..win.kw {
                for ci in 0..win.c {
                    offs.push((t * pw + u) * win.c + ci);
                }
            }
        }
        Padded { ph, pw, offs }
    }

    /// Copies image `xi` into `buf` with zeros around it.
    fn fill(&self, win: &Window, xi: &[f32], buf: &mut Vec<f32>) {
        pad_image(win, xi, (self.ph, self.pw), buf);
    }

    /// Offset of output pixel (oy, ox)'s first tap.
    fn pixel(&self, win: &Window, oy: usize, ox: usize) -> usize {
        (oy * win.sh * self.pw + ox * win.sw) * win.c
    }
}

/// Copies image `xi` (one image of `win`'s input) into `buf` as `ph x pw` pixels with zeros
/// around it: input pixel (y, x) lands at (y + pad_top, x + pad_left), and what falls past
/// the padded size is dropped.
pub(crate) fn pad_image(win: &Window, xi: &[f32], (ph, pw): (usize, usize), buf: &mut Vec<f32>) {
    let c = win.c;
    buf.clear();
    buf.resize(ph * pw * c, 0.0);
    for y in 0..win.h {
        let py = y + win.pad_top;
        if py >= ph {
            break;
        }
        let cols = win.w.min(pw.saturating_sub(win.pad_left));
        let dst = (py * pw + win.pad_left) * c;
        buf[dst..dst + cols * c].copy_from_slice(&xi[y * win.w * c..(y * win.w + cols) * c]);
    }
}

/// Writes the `rows x co` row-major `m` into `out`, each row padded with zeros to `cop`
/// columns (`out` is reused, so a loop over images allocates once).
fn pad_cols(m: &[f32], co: usize, cop: usize, out: &mut Vec<f32>) {
    out.clear();
    out.resize(m.len() / co.max(1) * cop, 0.0);
    for (o, r) in out.chunks_exact_mut(cop).zip(m.chunks_exact(co)) {
        o[..co].copy_from_slice(r);
    }
}

/// The forward convolution, as [`crate::kernels::conv::conv2d_forward`] defines it, with
/// the filter padded once; it runs over any whole images.
pub(crate) struct Forward<'a> {
    win: &'a Window,
    co: usize,
    /// Output channels padded to a multiple of 16.
    cop: usize,
    /// The filter with `cop` columns.
    fp: Vec<f32>,
    pad: Padded,
}

impl<'a> Forward<'a> {
    pub(crate) fn new(f: &[f32], win: &'a Window, co: usize) -> Forward<'a> {
        let cop = co.div_ceil(16) * 16;
        let mut fp = Vec::new();
        pad_cols(f, co, cop, &mut fp);
        Forward {
            win,
            co,
            cop,
            fp,
            pad: Padded::new(win),
        }
    }

    /// The convolution of the images of `x` into `y` (as many images as `y` holds), on this
    /// thread.
    pub(crate) fn run(&self, x: &[f32], y: &mut [f32]) {
        let (win, co, cop, pad) = (self.win, self.co, self.cop, &self.pad);
        let out_img = win.oh * win.ow * co;
        if out_img == 0 {
            return;
        }
        let mut buf = Vec::new();
        for (xi, yi) in x
            .chunks_exact(win.in_len())
            .zip(y.chunks_exact_mut(out_img))
        {
            pad.fill(win, xi, &mut buf);
            #[cfg(target_arch = "x86_64")]
            if avx512() {
                self.image_avx512(&buf, yi);
                continue;
            }
            for oy in 0..win.oh {
                for kb in (0..cop).step_by(64) {
                    let args = Row {
                        xp: &buf,
                        fp: &self.fp,
                        win,
                        pad,
                        oy,
                        co,
                        cop,
                        kb,
                    };
                    match (cop - kb).min(64) / 16 {
                        1 => args.run::<1, 8>(yi),
                        2 => args.run::<2, 4>(yi),
                        3 => args.run::<3, 6>(yi),
                        _ => args.run::<4, 4>(yi),
                    }
                }
            }
        }
    }
}

impl Forward<'_> {
    /// One padded image `xp` into its output `yi`, a row of output pixels and 64 output
    /// channels at a time, with the register-blocked product of [`crate::kernels::bcast`]
    /// (the patches gathered by their tap offsets).
    #[cfg(target_arch = "x86_64")]
    fn image_avx512(&self, xp: &[f32], yi: &mut [f32]) {
        let (win, co, pad) = (self.win, self.co, &self.pad);
        let last = pad.offs.last().copied().unwrap_or(0);
        assert!(pad.pixel(win, win.oh - 1, win.ow - 1) + last < xp.len());
        assert!(yi.len() >= win.oh * win.ow * co && self.fp.len() >= pad.offs.len() * self.cop);
        for oy in 0..win.oh {
            for kb in (0..co).step_by(64) {
                // SAFETY: the CPU has AVX-512F; the asserts above bound every tap of every
                // pixel, every filter row (`cop` wide, read to column `kb + 64` at most) and
                // every output element written.
                unsafe {
                    block_taps(
                        win.ow,
                        (co - kb).min(64),
                        xp.as_ptr().add(pad.pixel(win, oy, 0)),
                        win.sw * win.c,
                        &pad.offs,
                        self.fp.as_ptr().add(kb),
                        self.cop,
                        yi.as_mut_ptr().add(oy * win.ow * co + kb),
                        co,
                    );
                }
            }
        }
    }
}

/// One output row's pixels and one block of output channels (from `kb`) of the forward pass.
struct Row<'a> {
    xp: &'a [f32],
    fp: &'a [f32],
    win: &'a Window,
    pad: &'a Padded,
    oy: usize,
    co: usize,
    cop: usize,
    kb: usize,
}

impl Row<'_> {
    /// The row's output channels `kb..kb + 16 Q` into the image's output `yi`, `PX` pixels at
    /// a time: sums over the patch rows in registers.
    #[inline(always)]
    fn run<const Q: usize, const PX: usize>(&self, yi: &mut [f32]) {
        let (win, co, cop, kb) = (self.win, self.co, self.cop, self.kb);
        let n = (co - kb).min(16 * Q);
        for ox0 in (0..win.ow).step_by(PX) {
            let npx = PX.min(win.ow - ox0);
            // Pixels past the row's end repeat the last one; their sums are dropped.
            let pix: [usize; PX] =
                std::array::from_fn(|p| self.pad.pixel(win, self.oy, ox0 + p.min(npx - 1)));
            // Every tap of every pixel is inside the padded image (see `Padded`).
            let offs = &self.pad.offs;
            let last = offs.last().copied().unwrap_or(0);
            assert!(pix.iter().all(|&p| p + last < self.xp.len()));
            let mut acc = [[[0f32; 16]; Q]; PX];
            for (frow, &o) in self.fp.chunks_exact(cop).zip(offs) {
                let frow = &frow[kb..kb + 16 * Q];
                let fv: [[f32; 16]; Q] = std::array::from_fn(|q| {
                    frow[16 * q..16 * q + 16].try_into().expect("16 lanes")
                });
                for (a, &p) in acc.iter_mut().zip(&pix) {
                    // SAFETY: `o ≤ last` (the offsets increase), so `p + o` is in bounds by
                    // the assertion above.
                    let xv = unsafe { *self.xp.get_unchecked(p + o) };
                    for (aq, fq) in a.iter_mut().zip(&fv) {
                        for (s, &w) in aq.iter_mut().zip(fq) {
                            *s = fmadd(xv, w, *s);
                        }
                    }
                }
            }
            for (p, a) in acc.iter().enumerate().take(npx) {
                let o = (self.oy * win.ow + ox0 + p) * co + kb;
                yi[o..o + n].copy_from_slice(&a.as_flattened()[..n]);
            }
        }
    }
}

/// The filter gradient, as [`crate::kernels::conv::conv2d_backprop_filter`] defines it.
pub(crate) fn conv2d_backprop_filter(
    x: &[f32],
    dy: &[f32],
    win: &Window,
    co: usize,
    df: &mut [f32],
) {
    df.fill(0.0);
    let k_len = win.kh * win.kw * win.c;
    if win.n == 0 || co == 0 || k_len == 0 || win.oh * win.ow == 0 {
        return;
    }
    let cop = co.div_ceil(16) * 16;
    let pad = Padded::new(win);
    let groups = win.n.min(MAX_GROUPS);
    let out_img = win.oh * win.ow * co;
    let partials: Vec<Vec<f32>> = (0..groups)
        .into_par_iter()
        .map(|g| {
            let mut acc = vec![0f32; k_len * cop];
            let mut buf = Vec::new();
            let mut dyp = Vec::new();
            for img in win.n * g / groups..win.n * (g + 1) / groups {
                pad.fill(
                    win,
                    &x[img * win.in_len()..(img + 1) * win.in_len()],
                    &mut buf,
                );
                pad_cols(&dy[img * out_img..(img + 1) * out_img], co, cop, &mut dyp);
                for r0 in (0..k_len).step_by(ROWS) {
                    for kb in (0..cop).step_by(64) {
                        let args = (&buf[..], &dyp[..], &pad, win, cop, kb, r0);
                        match (cop - kb).min(64) / 16 {
                            1 => filter_block::<1>(args, &mut acc),
                            2 => filter_block::<2>(args, &mut acc),
                            3 => filter_block::<3>(args, &mut acc),
                            _ => filter_block::<4>(args, &mut acc),
                        }
                    }
                }
            }
            acc
        })
        .collect();
    for p in &partials {
        for (d, r) in df.chunks_exact_mut(co).zip(p.chunks_exact(cop)) {
            d.iter_mut().zip(r).for_each(|(d, &v)| *d += v);
        }
    }
}

/// Adds, for patch rows `r0..r0 + ROWS` and output channels `kb..kb + 16 Q`, the sum over
/// one image's pixels of `patch value x output gradient` into `acc` (`k_len x cop`).
#[inline(always)]
fn filter_block<const Q: usize>(
    (xp, dyp, pad, win, cop, kb, r0): (&[f32], &[f32], &Padded, &Window, usize, usize, usize),
    acc: &mut [f32],
) {
    let k_len = pad.offs.len();
    let rows = ROWS.min(k_len - r0);
    // Rows past the end repeat the last one; their sums are dropped.
    let offs: [usize; ROWS] = std::array::from_fn(|i| pad.offs[r0 + i.min(rows - 1)]);
    let mut sum = [[[0f32; 16]; Q]; ROWS];
    for oy in 0..win.oh {
        for ox in 0..win.ow {
            let p = pad.pixel(win, oy, ox);
            let g = &dyp[(oy * win.ow + ox) * cop + kb..(oy * win.ow + ox) * cop + kb + 16 * Q];
            let gv: [[f32; 16]; Q] =
                std::array::from_fn(|q| g[16 * q..16 * q + 16].try_into().expect("16 lanes"));
            for (s, &o) in sum.iter_mut().zip(&offs) {
                let xv = xp[p + o];
                for (sq, gq) in s.iter_mut().zip(&gv) {
                    for (a, &b) in sq.iter_mut().zip(gq) {
                        *a = fmadd(xv, b, *a);
                    }
                }
            }
        }
    }
    for (i, s) in sum.iter().enumerate().take(rows) {
        let dst = &mut acc[(r0 + i) * cop + kb..(r0 + i) * cop + kb + 16 * Q];
        dst.iter_mut()
            .zip(s.as_flattened())
            .for_each(|(d, &v)| *d += v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::conv::{ConvKernel, ConvProblem, Pass};
    use crate::kernels::reference::{close, data, each_product};
    use crate::nn::padding::Padding;
    use rustflow_graph::KernelPolicy;

    #[test]
    fn forward_and_filter_gradient_match_the_definition() {
        for &(dims, k, s, pad, co) in &[
            ([2, 28, 28, 1], (5, 5), (1, 1), Padding::Same, 32),
            ([2, 9, 7, 1], (3, 5), (2, 1), Padding::Same, 20),
            ([3, 6, 6, 3], (2, 2), (2, 2), Padding::Valid, 5),
            ([1, 5, 8, 4], (4, 4), (1, 3), Padding::Same, 70),
        ] {
            let win = Window::new(&dims, k, s, pad).unwrap();
            let p = ConvProblem {
                win,
                co,
                policy: KernelPolicy::Exact,
            };
            assert_eq!(p.select(Pass::Forward), ConvKernel::Direct);
            let x = data(dims.iter().product(), 1);
            let f = data(k.0 * k.1 * dims[3] * co, 2);
            let out_len = win.n * win.oh * win.ow * co;
            let dy = data(out_len, 3);
            let (mut y_want, mut df_want) = (vec![0f64; out_len], vec![0f64; f.len()]);
            each_product(&win, co, |o, xi, fi| {
                y_want[o] += x[xi] as f64 * f[fi] as f64;
                df_want[fi] += x[xi] as f64 * dy[o] as f64;
            });
            let mut y = vec![f32::NAN; out_len];
            Forward::new(&f, &win, co).run(&x, &mut y);
            let mut df = vec![f32::NAN; f.len()];
            conv2d_backprop_filter(&x, &dy, &win, co, &mut df);
            close(&y, &y_want, &format!("{dims:?} y"));
            close(&df, &df_want, &format!("{dims:?} df"));
        }
    }
}
