//! 2-D convolution kernels (NHWC input, HWIO filter): im2col + GEMM for the forward pass,
//! GEMM + col2im for the input gradient, im2colᵀ · dy for the filter gradient.
//!
//! The batch is processed in chunks of a few images so that the im2col matrix of a chunk
//! (`rows x K`, rows = images · out_h · out_w, K = kh · kw · in_channels) stays about the size
//! of a core's L2 cache; chunks run in parallel on the rayon pool, each with a serial GEMM and
//! a per-thread reusable buffer. A batch of one chunk runs one multi-threaded GEMM instead.

use crate::kernels::gemm::{sgemm, sgemm_serial, MatRef};
use crate::kernels::window::{Padding, Window};
use crate::kernels::{direct, winograd};
use rayon::prelude::*;
use rustflow_graph::{fmt_dims, Error, KernelPolicy, Result, SessionOptions};
use std::cell::RefCell;

/// A convolution to compute: the window geometry of an NHWC input and an HWIO filter, the
/// output channels, and how exactly the session computes.
pub(crate) struct ConvProblem {
    pub win: Window,
    pub co: usize,
    pub policy: KernelPolicy,
}

/// A pass of a convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pass {
    Forward,
    BackpropInput,
    BackpropFilter,
}

/// The kernels of the convolution family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ConvKernel {
    /// Winograd's minimal filtering ([`winograd`]): 3x3 or 5x5 at stride 1, channels each
    /// way.
    Winograd,
    /// Winograd's forward pass over one input channel ([`winograd::Single`]).
    WinogradSingle,
    /// Direct sums gathered from a padded image ([`direct`]): few input channels.
    Direct,
    /// im2col + GEMM in cache-sized chunks.
    Gemm,
}

impl ConvProblem {
    /// The problem of a run-time input of shape `x` and filter of shape `f`, or a kernel
    /// error naming both shapes.
    pub fn new(
        x: &[usize],
        f: &[usize],
        strides: (usize, usize),
        padding: Padding,
        options: SessionOptions,
    ) -> Result<ConvProblem> {
        let err = |msg: String| {
            Error::Kernel(format!(
                "{msg}: input {}, filter {}",
                fmt_dims(x),
                fmt_dims(f)
            ))
        };
        let &[kh, kw, ci, co] = f else {
            return Err(err(format!(
                "filter must be 4-dimensional, got rank {}",
                f.len()
            )));
        };
        let win = Window::new(x, (kh, kw), strides, padding).map_err(err)?;
        if win.c != ci {
            return Err(err(format!(
                "input depth must equal the filter's in_channels, but are {} and {ci}",
                win.c
            )));
        }
        Ok(ConvProblem {
            win,
            co,
            policy: options.kernels,
        })
    }

    /// The output's shape `[n, oh, ow, co]`.
    pub fn out_shape(&self) -> [usize; 4] {
        [self.win.n, self.win.oh, self.win.ow, self.co]
    }

    /// Checks that an upstream gradient `dy` has the output's shape.
    pub fn check_out_backprop(&self, dy: &[usize]) -> Result<()> {
        let want = self.out_shape();
        if dy == want {
            return Ok(());
        }
        Err(Error::Kernel(format!(
            "out_backprop has shape {} but the convolution's output has shape {}",
            fmt_dims(dy),
            fmt_dims(&want)
        )))
    }

    /// The kernel of `pass`. Every threshold of the family is here.
    ///
    /// - Winograd F(4x4, r x r) ([`winograd`]), only under [`KernelPolicy::Fast`] (it rounds
    ///   differently from TensorFlow): 3x3 and 5x5 windows at stride 1 with at least 8
    ///   channels each way (below that the products' 16-lane vectors are mostly empty), where
    ///   a cost model of the call says it beats im2col + GEMM. Per image, im2col + GEMM makes
    ///   `r² · ci · co` multiply-adds per output pixel and copies `r² · ci` floats; Winograd
    ///   makes, per 4x4 output tile of `t² = (4 + r - 1)²` points, `t² · ci · co` products at
    ///   about half the GEMM's speed (short products over a block of tiles) plus the
    ///   transforms (about 5 operations per point and input channel, 3 per point and output
    ///   channel), and once per call the filter's transform (`2 r t²` per filter pair). So
    ///   the output's size enters through the tiles it wastes at its edges (a 2x2 output
    ///   still pays a whole tile), and the batch through the filter transform it shares.
    /// - Winograd's single-channel forward kernel ([`winograd::Single`]) for 5x5 windows at
    ///   stride 1 from one input channel into at least 16.
    /// - Direct sums for at most 4 input channels and patches of at most 64 taps (not for
    ///   the input gradient).
    /// - Else im2col + GEMM.
    pub fn select(&self, pass: Pass) -> ConvKernel {
        /// Winograd's products run at this fraction of the GEMM's speed.
        const WINOGRAD_PRODUCT_SPEED: f64 = 0.5;
        /// Operations of the input transform per point and input channel.
        const INPUT_TRANSFORM: f64 = 5.0;
        /// Operations of the output transform per point and output channel.
        const OUTPUT_TRANSFORM: f64 = 3.0;
        /// The fewest channels each way for Winograd.
        const MIN_CHANNELS: usize = 8;
        /// Direct sums: at most this many input channels and taps times channels.
        const DIRECT_CHANNELS: usize = 4;
        const DIRECT_PATCH: usize = 64;
        /// The single-channel Winograd kernel: at least this many output channels.
        const SINGLE_MIN_OUT: usize = 16;

        let (w, co) = (&self.win, self.co);
        let fast = self.policy == KernelPolicy::Fast;
        let stride1 = w.sh == 1 && w.sw == 1;
        let r = w.kh;
        let winograd = fast
            && stride1
            && w.kh == w.kw
            && (r == 3 || r == 5)
            && w.c >= MIN_CHANNELS
            && co >= MIN_CHANNELS
            && {
                let (ci, cof, n) = (w.c as f64, co as f64, w.n as f64);
                let (rf, t2) = ((r * r) as f64, ((3 + r) * (3 + r)) as f64);
                let pixels = n * (w.oh * w.ow) as f64;
                let tiles = n * (w.oh.div_ceil(4) * w.ow.div_ceil(4)) as f64;
                let gemm = pixels * rf * ci * (cof + 1.0);
                let per_tile = t2
                    * (ci * cof / WINOGRAD_PRODUCT_SPEED
                        + INPUT_TRANSFORM * ci
                        + OUTPUT_TRANSFORM * cof);
                tiles * per_tile + 2.0 * r as f64 * t2 * ci * cof < gemm
            };
        let single = fast && stride1 && w.kh == 5 && w.kw == 5 && w.c == 1;
        let direct = w.c <= DIRECT_CHANNELS && w.kh * w.kw * w.c <= DIRECT_PATCH;
        match pass {
            _ if winograd => ConvKernel::Winograd,
            Pass::Forward if single && co >= SINGLE_MIN_OUT => ConvKernel::WinogradSingle,
            Pass::Forward | Pass::BackpropFilter if direct => ConvKernel::Direct,
            _ => ConvKernel::Gemm,
        }
    }
}

/// The target size of one chunk's im2col matrix, in floats (512 KiB).
const CHUNK_FLOATS: usize = 128 * 1024;

/// The most buffer a thread keeps between calls; larger ones are freed after use.
const KEEP_FLOATS: usize = 4 * CHUNK_FLOATS;

/// At most this many partial filter gradients are summed (a fixed partition of the chunks,
/// so that results do not depend on scheduling).
const MAX_GROUPS: usize = 8;

thread_local! {
    static COL: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with a scratch buffer of `len` floats (contents unspecified), reusing this
/// thread's buffer when it is free.
fn with_scratch<R>(len: usize, f: impl FnOnce(&mut [f32]) -> R) -> R {
    COL.with(|cell| match cell.try_borrow_mut() {
        Ok(mut buf) => {
            if buf.len() < len {
                buf.resize(len, 0.0);
            }
            let r = f(&mut buf[..len]);
            if buf.len() > KEEP_FLOATS {
                *buf = Vec::new();
            }
            r
        }
        Err(_) => f(&mut vec![0.0; len]),
    })
}

impl Window {
    /// The length of one im2col row: `kh * kw * c`.
    pub(crate) fn patch_len(&self) -> usize {
        self.kh * self.kw * self.c
    }

    /// Output positions per image.
    pub(crate) fn out_pixels(&self) -> usize {
        self.oh * self.ow
    }

    /// Input elements per image.
    pub(crate) fn in_len(&self) -> usize {
        self.h * self.w * self.c
    }

    /// Images per chunk.
    fn chunk_images(&self) -> usize {
        let per_image = self.out_pixels().saturating_mul(self.patch_len()).max(1);
        (CHUNK_FLOATS / per_image).clamp(1, self.n.max(1))
    }

    /// Whether the im2col matrix is the input itself (1x1 window, stride 1).
    fn is_pointwise(&self) -> bool {
        self.kh == 1 && self.kw == 1 && self.sh == 1 && self.sw == 1
    }
}

/// Writes the im2col matrix of `nb` images `x` into `col` (`nb * oh * ow` rows of
/// `kh * kw * c`, tap-major then channel, matching an HWIO filter's row order); padding reads
/// as 0.
pub(crate) fn im2col(x: &[f32], win: &Window, nb: usize, col: &mut [f32]) {
    let (c, kw) = (win.c, win.kw);
    let k_len = win.patch_len();
    let row_in = win.w * c;
    let mut rows = col.chunks_exact_mut(k_len);
    for xi in x.chunks_exact(win.in_len()).take(nb) {
        for oh in 0..win.oh {
            let (th0, th1) = Window::taps(oh, win.sh, win.pad_top, win.kh, win.h);
            for ow in 0..win.ow {
                let (tw0, tw1) = Window::taps(ow, win.sw, win.pad_left, kw, win.w);
                let Some(dst) = rows.next() else { return };
                for (t, d) in dst.chunks_exact_mut(kw * c).enumerate() {
                    if t < th0 || t >= th1 {
                        d.fill(0.0);
                        continue;
                    }
                    let ih = oh * win.sh + t - win.pad_top;
                    let iw0 = ow * win.sw + tw0 - win.pad_left;
                    let src = &xi[ih * row_in + iw0 * c..ih * row_in + (iw0 + tw1 - tw0) * c];
                    // Plain loops: the runs are short (kw * c floats), where calls to
                    // memcpy/memset cost more than the copy.
                    let (head, rest) = d.split_at_mut(tw0 * c);
                    let (mid, tail) = rest.split_at_mut((tw1 - tw0) * c);
                    head.iter_mut().for_each(|v| *v = 0.0);
                    mid.iter_mut().zip(src).for_each(|(v, &s)| *v = s);
                    tail.iter_mut().for_each(|v| *v = 0.0);
                }
            }
        }
    }
}

/// Adds the im2col-shaped `col` of `nb` images back into their input positions `dx` (the
/// transpose of [`im2col`]); padding taps are dropped.
pub(crate) fn col2im_add(col: &[f32], win: &Window, nb: usize, dx: &mut [f32]) {
    let (c, kw) = (win.c, win.kw);
    let k_len = win.patch_len();
    let row_in = win.w * c;
    let mut rows = col.chunks_exact(k_len);
    for xi in dx.chunks_exact_mut(win.in_len()).take(nb) {
        for oh in 0..win.oh {
            let (th0, th1) = Window::taps(oh, win.sh, win.pad_top, win.kh, win.h);
            for ow in 0..win.ow {
                let (tw0, tw1) = Window::taps(ow, win.sw, win.pad_left, kw, win.w);
                let Some(src) = rows.next() else { return };
                for t in th0..th1 {
                    let ih = oh * win.sh + t - win.pad_top;
                    let iw0 = ow * win.sw + tw0 - win.pad_left;
                    let d = &mut xi[ih * row_in + iw0 * c..ih * row_in + (iw0 + tw1 - tw0) * c];
                    let s = &src[t * kw * c + tw0 * c..t * kw * c + tw1 * c];
                    for (a, &b) in d.iter_mut().zip(s) {
                        *a += b;
                    }
                }
            }
        }
    }
}

/// The convolution `y[n, oh, ow, co] = Σ x[n, ih, iw, ci] · f[kh, kw, ci, co]` of `x`
/// (`[n, h, w, c]`) with `f` (`[kh, kw, c, co]`), into `y` (`[n, oh, ow, co]`,
/// overwritten), then `epilogue` over each group of whole images' outputs while they are in
/// cache (a fused bias and activation; `|_| {}` for none).
pub(crate) fn conv2d_forward(
    p: &ConvProblem,
    x: &[f32],
    f: &[f32],
    y: &mut [f32],
    epilogue: impl Fn(&mut [f32]) + Sync,
) {
    let (win, co) = (&p.win, p.co);
    let out_img = win.out_pixels() * co;
    if y.is_empty() || out_img == 0 {
        return;
    }
    let conv = Forward::new(f, p);
    if let Forward::Gemm { .. } = conv {
        if win.chunk_images() >= win.n {
            // One chunk: one GEMM on all cores.
            gemm_forward(x, f, win, co, y, true);
            y.par_chunks_mut(out_img).for_each(&epilogue);
            return;
        }
    }
    let (group, in_len) = (conv.group(win.n), win.in_len());
    y.par_chunks_mut(group * out_img)
        .enumerate()
        .for_each(|(i, yc)| {
            conv.run(&x[i * group * in_len..], yc);
            epilogue(yc);
        });
}

/// The convolution of [`conv2d_forward`] followed by `finish`, group by group of images
/// while their convolution is still in cache: `finish(conv, out)` turns the convolution of
/// a group of images (`[images, oh, ow, co]`, which it may change) into their part of `out`
/// (`per_image` elements each), which it must overwrite (as a fused pooling layer does).
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv2d_forward_then(
    p: &ConvProblem,
    x: &[f32],
    f: &[f32],
    out: &mut [f32],
    per_image: usize,
    finish: impl Fn(&mut [f32], &mut [f32]) + Sync,
) {
    let (win, co) = (&p.win, p.co);
    let out_img = win.out_pixels() * co;
    if out.is_empty() || per_image == 0 {
        return;
    }
    let conv = Forward::new(f, p);
    let (group, in_len) = (conv.group(win.n), win.in_len());
    out.par_chunks_mut(group * per_image)
        .enumerate()
        .for_each(|(i, oc)| {
            let images = oc.len() / per_image;
            CONV.with(|cell| {
                let mut buf = cell.borrow_mut();
                buf.resize(images * out_img, 0.0);
                conv.run(&x[i * group * in_len..], &mut buf);
                finish(&mut buf, oc);
            });
        });
}

thread_local! {
    /// The convolution of a group of images in [`conv2d_forward_then`].
    static CONV: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// A forward convolution with its filter prepared once, to run over groups of whole images
/// on one thread each, by the kernel [`ConvProblem::select`] picks.
enum Forward<'a> {
    Winograd(winograd::Forward),
    WinogradSingle(winograd::Single),
    Direct(direct::Forward<'a>),
    Gemm {
        f: &'a [f32],
        win: &'a Window,
        co: usize,
    },
}

impl<'a> Forward<'a> {
    fn new(f: &'a [f32], p: &'a ConvProblem) -> Forward<'a> {
        let (win, co) = (&p.win, p.co);
        match p.select(Pass::Forward) {
            ConvKernel::Winograd => Forward::Winograd(winograd::Forward::new(f, win, co)),
            ConvKernel::WinogradSingle => {
                Forward::WinogradSingle(winograd::Single::new(f, win, co))
            }
            ConvKernel::Direct => Forward::Direct(direct::Forward::new(f, win, co)),
            ConvKernel::Gemm => Forward::Gemm { f, win, co },
        }
    }

    /// Images per parallel task when there are `n`.
    fn group(&self, n: usize) -> usize {
        match self {
            Forward::Winograd(w) => w.group(n),
            Forward::WinogradSingle(_) | Forward::Direct(_) => 1,
            Forward::Gemm { win, .. } => win.chunk_images(),
        }
    }

    /// The convolution of the first images of `x` into `y` (as many as `y` holds).
    fn run(&self, x: &[f32], y: &mut [f32]) {
        match self {
            Forward::Winograd(w) => w.run(x, y),
            Forward::WinogradSingle(s) => s.run(x, y),
            Forward::Direct(d) => d.run(x, y),
            Forward::Gemm { f, win, co } => gemm_forward(x, f, win, *co, y, false),
        }
    }
}

/// The im2col + GEMM convolution of the first images of `x` into `y` (as many as `y`
/// holds): one GEMM on all cores if `parallel`, else chunk by chunk on this thread.
fn gemm_forward(x: &[f32], f: &[f32], win: &Window, co: usize, y: &mut [f32], parallel: bool) {
    let (k_len, in_len) = (win.patch_len(), win.in_len());
    let out_img = win.out_pixels() * co;
    if y.is_empty() || k_len == 0 {
        y.fill(0.0);
        return;
    }
    let filter = MatRef::new(f, co, false);
    let gemm = if parallel { sgemm } else { sgemm_serial };
    // Images per GEMM: all of them on all cores, else a cache-sized chunk.
    let b = if parallel {
        y.len() / out_img
    } else {
        win.chunk_images()
    };
    for (i, yc) in y.chunks_mut(b * out_img).enumerate() {
        let nb = yc.len() / out_img;
        let xs = &x[i * b * in_len..(i * b + nb) * in_len];
        let m = nb * win.out_pixels();
        if win.is_pointwise() {
            gemm(
                m,
                co,
                k_len,
                MatRef::new(xs, k_len, false),
                filter,
                yc,
                false,
            );
        } else {
            with_scratch(m * k_len, |col| {
                im2col(xs, win, nb, col);
                gemm(
                    m,
                    co,
                    k_len,
                    MatRef::new(col, k_len, false),
                    filter,
                    yc,
                    false,
                );
            });
        }
    }
}

/// The gradient of [`conv2d_forward`] with respect to its input: `dx = col2im(dy · fᵀ)`,
/// written into `dx` (`[n, h, w, c]`, overwritten).
pub(crate) fn conv2d_backprop_input(p: &ConvProblem, dy: &[f32], f: &[f32], dx: &mut [f32]) {
    let (win, co) = (&p.win, p.co);
    if p.select(Pass::BackpropInput) == ConvKernel::Winograd {
        return winograd::conv2d_backprop_input(dy, f, win, co, dx);
    }
    let (k_len, pix, in_len) = (win.patch_len(), win.out_pixels(), win.in_len());
    let out_img = pix * co;
    if dx.is_empty() {
        return;
    }
    let b = win.chunk_images();
    // fᵀ: `co x k_len`.
    let filter_t = MatRef::new(f, co, true);
    let run = |i0: usize, dxc: &mut [f32], parallel: bool| {
        let nb = dxc.len() / in_len.max(1);
        let dys = &dy[i0 * out_img..(i0 + nb) * out_img];
        let m = nb * pix;
        let gemm = if parallel { sgemm } else { sgemm_serial };
        if win.is_pointwise() {
            gemm(
                m,
                k_len,
                co,
                MatRef::new(dys, co, false),
                filter_t,
                dxc,
                false,
            );
        } else {
            dxc.fill(0.0);
            with_scratch(m * k_len, |col| {
                gemm(
                    m,
                    k_len,
                    co,
                    MatRef::new(dys, co, false),
                    filter_t,
                    col,
                    false,
                );
                col2im_add(col, win, nb, dxc);
            });
        }
    };
    if b >= win.n {
        run(0, dx, true);
    } else {
        dx.par_chunks_mut(b * in_len)
            .enumerate()
            .for_each(|(i, dxc)| run(i * b, dxc, false));
    }
}

/// The gradient of [`conv2d_forward`] with respect to its filter:
/// `df = Σ_chunks im2col(x)ᵀ · dy`, written into `df` (`[kh, kw, c, co]`, overwritten).
pub(crate) fn conv2d_backprop_filter(p: &ConvProblem, x: &[f32], dy: &[f32], df: &mut [f32]) {
    let (win, co) = (&p.win, p.co);
    match p.select(Pass::BackpropFilter) {
        ConvKernel::Winograd => return winograd::conv2d_backprop_filter(x, dy, win, co, df),
        ConvKernel::Direct => return direct::conv2d_backprop_filter(x, dy, win, co, df),
        _ => {}
    }
    let (k_len, pix, in_len) = (win.patch_len(), win.out_pixels(), win.in_len());
    let out_img = pix * co;
    df.fill(0.0);
    if df.is_empty() || win.n == 0 || pix == 0 {
        return;
    }
    let b = win.chunk_images();
    let chunks = win.n.div_ceil(b);
    // Adds the filter gradient of images [i0, i0 + nb) into acc.
    let run = |i0: usize, nb: usize, acc: &mut [f32], parallel: bool| {
        let xs = &x[i0 * in_len..(i0 + nb) * in_len];
        let dys = MatRef::new(&dy[i0 * out_img..(i0 + nb) * out_img], co, false);
        let m = nb * pix;
        let gemm = if parallel { sgemm } else { sgemm_serial };
        if win.is_pointwise() {
            gemm(k_len, co, m, MatRef::new(xs, k_len, true), dys, acc, true);
        } else {
            with_scratch(m * k_len, |col| {
                im2col(xs, win, nb, col);
                gemm(k_len, co, m, MatRef::new(col, k_len, true), dys, acc, true);
            });
        }
    };
    if chunks == 1 {
        run(0, win.n, df, true);
        return;
    }
    let groups = chunks.min(MAX_GROUPS);
    let partials: Vec<Vec<f32>> = (0..groups)
        .into_par_iter()
        .map(|gi| {
            let mut acc = vec![0f32; df.len()];
            // Chunks gi, gi + groups, ... (a fixed partition).
            for ci in (gi..chunks).step_by(groups) {
                let i0 = ci * b;
                run(i0, b.min(win.n - i0), &mut acc, false);
            }
            acc
        })
        .collect();
    for p in &partials {
        for (d, &v) in df.iter_mut().zip(p) {
            *d += v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::reference::{close, data, each_product};
    use crate::nn::padding::Padding;

    /// The cost model's choices on the model suite's shapes and around its edges.
    #[test]
    fn select_follows_the_cost_model() {
        let pick = |x: [usize; 4], k: usize, s: usize, co: usize, policy, pass| {
            let win = Window::new(&x, (k, k), (s, s), Padding::Same).unwrap();
            ConvProblem { win, co, policy }.select(pass)
        };
        let fast = KernelPolicy::Fast;
        use ConvKernel::*;
        for pass in [Pass::Forward, Pass::BackpropInput, Pass::BackpropFilter] {
            // deep MNIST's second layer, training and evaluation; CIFAR's second; VGG's.
            assert_eq!(pick([50, 14, 14, 32], 5, 1, 64, fast, pass), Winograd);
            assert_eq!(pick([1000, 14, 14, 32], 5, 1, 64, fast, pass), Winograd);
            assert_eq!(pick([128, 12, 12, 64], 5, 1, 64, fast, pass), Winograd);
            assert_eq!(pick([64, 32, 32, 64], 3, 1, 64, fast, pass), Winograd);
            assert_eq!(pick([64, 16, 16, 128], 3, 1, 128, fast, pass), Winograd);
            assert_eq!(pick([4, 8, 8, 8], 3, 1, 8, fast, pass), Winograd);
            // TensorFlow's arithmetic, strides, a 2x2 output (a whole tile for 4 pixels), a
            // single image whose filter transform outweighs its products, 8 channels on a
            // 7x9 output (its edge tiles waste a third), 7x7 windows.
            assert_ne!(
                pick([64, 32, 32, 64], 3, 1, 64, KernelPolicy::Exact, pass),
                Winograd
            );
            assert_ne!(pick([64, 32, 32, 64], 3, 2, 64, fast, pass), Winograd);
            assert_eq!(pick([64, 2, 2, 256], 3, 1, 256, fast, pass), Gemm);
            assert_eq!(pick([1, 4, 4, 256], 5, 1, 256, fast, pass), Gemm);
            assert_eq!(pick([1, 7, 9, 8], 3, 1, 8, fast, pass), Gemm);
            assert_ne!(pick([64, 16, 16, 64], 7, 1, 64, fast, pass), Winograd);
        }
        // Few input channels: deep MNIST's first layer, VGG's and CIFAR's (75 taps: GEMM).
        assert_eq!(
            pick([50, 28, 28, 1], 5, 1, 32, fast, Pass::Forward),
            WinogradSingle
        );
        assert_eq!(
            pick([50, 28, 28, 1], 5, 1, 32, fast, Pass::BackpropFilter),
            Direct
        );
        assert_eq!(pick([64, 32, 32, 3], 3, 1, 64, fast, Pass::Forward), Direct);
        assert_eq!(
            pick([128, 24, 24, 3], 5, 1, 64, fast, Pass::BackpropFilter),
            Gemm
        );
    }

    /// Through the family's entry points, a fast session's 3x3 convolutions (Winograd
    /// F(4x4, 3x3)) and both gradients match the definition on shapes drawn at random.
    #[test]
    fn fast_three_by_three_matches_the_definition() {
        let mut seed = 7u64;
        let mut below = |n: usize| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize % n
        };
        let mut ran = 0;
        for case in 0..8 {
            let pad = [Padding::Same, Padding::Valid][case % 2];
            let (n, h, w) = (1 + below(3), 4 + below(15), 4 + below(15));
            let (c, co) = (8 + below(40), 8 + below(40));
            let win = Window::new(&[n, h, w, c], (3, 3), (1, 1), pad).unwrap();
            let p = ConvProblem {
                win,
                co,
                policy: KernelPolicy::Fast,
            };
            if p.select(Pass::Forward) != ConvKernel::Winograd {
                continue;
            }
            let x = data(n * h * w * c, 11);
            let f = data(9 * c * co, 12);
            let dy = data(n * win.oh * win.ow * co, 13);
            let (mut yw, mut dxw, mut dfw) = (
                vec![0f64; dy.len()],
                vec![0f64; x.len()],
                vec![0f64; f.len()],
            );
            each_product(&win, co, |o, i, t| {
                yw[o] += x[i] as f64 * f[t] as f64;
                dxw[i] += dy[o] as f64 * f[t] as f64;
                dfw[t] += x[i] as f64 * dy[o] as f64;
            });
            let mut y = vec![f32::NAN; dy.len()];
            conv2d_forward(&p, &x, &f, &mut y, |_| {});
            close(&y, &yw, "y");
            let mut dx = vec![f32::NAN; x.len()];
            conv2d_backprop_input(&p, &dy, &f, &mut dx);
            close(&dx, &dxw, "dx");
            let mut df = vec![f32::NAN; f.len()];
            conv2d_backprop_filter(&p, &x, &dy, &mut df);
            close(&df, &dfw, "df");
            ran += 1;
        }
        assert!(ran >= 4, "only {ran} shapes chose Winograd");
    }

    /// Without Winograd, a convolution and both its gradients stay within TensorFlow's
    /// float32 golden tolerance (1e-4 absolute + 1e-4 relative) on unit-scale data with many
    /// channels, where Winograd's F(4x4, 5x5) does not (hence `KernelPolicy::Exact` by default).
    #[test]
    fn direct_sums_meet_the_golden_tolerance_at_scale() {
        let (n, h, w, c, co) = (2, 14, 14, 32, 64);
        let win = Window::new(&[n, h, w, c], (5, 5), (1, 1), Padding::Same).unwrap();
        // Standard deviations 1 (inputs, gradients) and 0.31 (filter), as in the golden cases.
        let x: Vec<f32> = data(n * h * w * c, 1).iter().map(|v| v * 3.46).collect();
        let f: Vec<f32> = data(25 * c * co, 2).iter().map(|v| v * 1.07).collect();
        let dy: Vec<f32> = data(n * h * w * co, 3).iter().map(|v| v * 3.46).collect();
        let (mut yw, mut dxw, mut dfw) = (
            vec![0f64; dy.len()],
            vec![0f64; x.len()],
            vec![0f64; f.len()],
        );
        each_product(&win, co, |o, i, t| {
            yw[o] += x[i] as f64 * f[t] as f64;
            dxw[i] += dy[o] as f64 * f[t] as f64;
            dfw[t] += x[i] as f64 * dy[o] as f64;
        });
        // The largest share of the tolerance any element uses.
        let used = |got: &[f32], want: &[f64]| {
            got.iter()
                .zip(want)
                .map(|(&g, &w)| (g as f64 - w).abs() / (1e-4 + 1e-4 * w.abs()))
                .fold(0.0, f64::max)
        };
        let run = |policy| {
            let p = ConvProblem { win, co, policy };
            let mut y = vec![f32::NAN; dy.len()];
            conv2d_forward(&p, &x, &f, &mut y, |_| {});
            let mut dx = vec![f32::NAN; x.len()];
            conv2d_backprop_input(&p, &dy, &f, &mut dx);
            let mut df = vec![f32::NAN; f.len()];
            conv2d_backprop_filter(&p, &x, &dy, &mut df);
            [used(&y, &yw), used(&dx, &dxw), used(&df, &dfw)]
        };
        let exact = run(KernelPolicy::Exact);
        assert!(
            exact.iter().all(|&u| u < 0.25),
            "direct sums used {exact:?} of the tolerance"
        );
        let fast = run(KernelPolicy::Fast);
        assert!(
            fast.iter().any(|&u| u > 1.0),
            "Winograd used only {fast:?} of the tolerance"
        );
    }
}
