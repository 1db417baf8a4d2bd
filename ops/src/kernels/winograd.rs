//! Winograd F(4x4, 5x5) convolution for 5x5 windows at stride 1, forward and both
//! gradients, in 64 multiplications per 4x4 output tile instead of
//! 400 (Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks", 2015).
//!
//! With the interpolation points 0, ±1, ±2, ±1/2 and ∞, a 4x4 output tile `Y` of the
//! correlation of an 8x8 input tile `d` with a 5x5 filter `g` is
//! `Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A`. Per block of tiles the kernel transforms the inputs
//! (`V`, 64 vectors of input channels per tile), then multiplies, for each of the 64 points,
//! the tiles' `V` rows by the transformed filter `U` (`in_channels x out_channels`), then
//! transforms the products back. The halves ±1/2 keep the transforms' coefficients small:
//! in f32 the result stays within 2x of F(2x2, 5x5)'s rounding error, which is itself within
//! 2x of a direct sum's.
//!
//! Calls of 128 images or more (evaluation) use larger tiles in the forward correlation:
//! F(6x6, 5x5), 100 points per 6x6 outputs, with the points 0, ±2, ±1/2, ±3/4, ±5/4 and ∞
//! (all exact in binary; among the 330 sets of four pairs from ±1, ±2, ±3, ±1/2, ±1/3,
//! ±1/4, ±3/2, ±2/3, ±3/4, ±4/3, ±5/4 and ±4/5, one of the two with the smallest error in
//! an f32 simulation). Where
//! the output leaves one or two rows or columns after them (14 = 2 x 6 + 2 for a
//! 14-wide output), border tiles of 6x2 or 2x6 outputs cover them, whose short side is F(2, 5)
//! with the points 0, ±1, ±2 and ∞ (6 inputs): 700 point products per 14x14 image instead
//! of the 1024 of 4x4 tiles. F(6x6, 5x5) rounds about six times as coarsely as F(4x4, 5x5)
//! (in the tests, at most 2.5e-5 of the sum of the products' magnitudes, against 4e-6):
//! harmless for inference, which is where calls this large come from; training batches
//! keep 4x4 tiles.
//!
//! A single input channel has a forward kernel of its own,
//! [`Single`]: its products are element-wise, so they are made inside the output transform.
//!
//! Layouts, tile-major so that each tile's data is contiguous: `V[tile][point][ci]`,
//! `U[point][ci][co]`, `M[tile][point][co]`.

use rayon::prelude::*;
use std::cell::RefCell;

use crate::kernels::direct::pad_image;
use crate::kernels::window::Window;

/// Output tiles per block of the forward correlation: the block's `V` and `M` stay in a
/// core's L2 cache.
const TILE_BLOCK: usize = 16;

/// Output tiles per block of the filter gradient, whose products add over the tiles (longer
/// blocks make longer sums per product).
const GRAD_TILE_BLOCK: usize = 48;

/// Outputs per tile side.
const OUT: usize = 4;

/// Input tile side: `OUT` outputs of a 5-wide window.
const TILE: usize = OUT + 4;

/// Points of the 8x8 transform.
const P: usize = TILE * TILE;

/// Outputs along the short side of a border tile.
const OUT_S: usize = 2;

/// Inputs along the short side of a border tile.
const TILE_S: usize = OUT_S + 4;

/// Outputs along a side of the large tiles, F(6x6, 5x5), of a correlation with border tiles.
const OUT_L: usize = 6;

/// Input side of a large tile.
const TILE_L: usize = OUT_L + 4;

/// Tiles of the large kinds are made in blocks of about this many points (a multiple of 6
/// tiles, the products' register tile).
const BLOCK_POINTS: usize = 1200;

/// `A` (8x4), which spreads an output-gradient tile over the points.
const A: [[f32; 4]; 8] = [
    [1.0, 0.0, 0.0, 0.0],
    [1.0, 1.0, 1.0, 1.0],
    [1.0, -1.0, 1.0, -1.0],
    [1.0, 2.0, 4.0, 8.0],
    [1.0, -2.0, 4.0, -8.0],
    [1.0, 1.0 / 2.0, 1.0 / 4.0, 1.0 / 8.0],
    [1.0, -1.0 / 2.0, 1.0 / 4.0, -1.0 / 8.0],
    [0.0, 0.0, 0.0, 1.0],
];

/// `G` (8x5), the filter transform.
const G: [[f32; 5]; 8] = [
    [1.0 / 4.0, 0.0, 0.0, 0.0, 0.0],
    [1.0 / 18.0, 1.0 / 18.0, 1.0 / 18.0, 1.0 / 18.0, 1.0 / 18.0],
    [1.0 / 18.0, -1.0 / 18.0, 1.0 / 18.0, -1.0 / 18.0, 1.0 / 18.0],
    [1.0 / 360.0, 1.0 / 180.0, 1.0 / 90.0, 1.0 / 45.0, 2.0 / 45.0],
    [
        1.0 / 360.0,
        -1.0 / 180.0,
        1.0 / 90.0,
        -1.0 / 45.0,
        2.0 / 45.0,
    ],
    [16.0 / 45.0, 8.0 / 45.0, 4.0 / 45.0, 2.0 / 45.0, 1.0 / 45.0],
    [
        16.0 / 45.0,
        -8.0 / 45.0,
        4.0 / 45.0,
        -2.0 / 45.0,
        1.0 / 45.0,
    ],
    [0.0, 0.0, 0.0, 0.0, 1.0 / 4.0],
];

/// `G` for the six points 0, ±1, ±2 and ∞ (6x5): a border tile's short side.
const G6: [[f32; 5]; 6] = [
    [1.0 / 4.0, 0.0, 0.0, 0.0, 0.0],
    [-1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0],
    [-1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0],
    [1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0, 1.0 / 3.0, 2.0 / 3.0],
    [1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0, -1.0 / 3.0, 2.0 / 3.0],
    [0.0, 0.0, 0.0, 0.0, 1.0],
];

/// `G` (10x5) of F(6, 5), the filter transform for the points 0, ±2, ±1/2, ±3/4, ±5/4 and ∞.
const G10: [[f32; 5]; 10] = [
    [1.0 / 900.0, 0.0, 0.0, 0.0, 0.0],
    [
        1.0 / 257400.0,
        1.0 / 128700.0,
        1.0 / 64350.0,
        1.0 / 32175.0,
        2.0 / 32175.0,
    ],
    [
        1.0 / 257400.0,
        -1.0 / 128700.0,
        1.0 / 64350.0,
        -1.0 / 32175.0,
        2.0 / 32175.0,
    ],
    [
        -4.0 / 1575.0,
        -2.0 / 1575.0,
        -1.0 / 1575.0,
        -1.0 / 3150.0,
        -1.0 / 6300.0,
    ],
    [
        -4.0 / 1575.0,
        2.0 / 1575.0,
        -1.0 / 1575.0,
        1.0 / 3150.0,
        -1.0 / 6300.0,
    ],
    [
        8.0 / 2475.0,
        2.0 / 825.0,
        1.0 / 550.0,
        3.0 / 2200.0,
        9.0 / 8800.0,
    ],
    [
        8.0 / 2475.0,
        -2.0 / 825.0,
        1.0 / 550.0,
        -3.0 / 2200.0,
        9.0 / 8800.0,
    ],
    [
        -8.0 / 20475.0,
        -2.0 / 4095.0,
        -1.0 / 1638.0,
        -5.0 / 6552.0,
        -25.0 / 26208.0,
    ],
    [
        -8.0 / 20475.0,
        2.0 / 4095.0,
        -1.0 / 1638.0,
        5.0 / 6552.0,
        -25.0 / 26208.0,
    ],
    [0.0, 0.0, 0.0, 0.0, 1.0 / 1024.0],
];

/// The vector arithmetic of the factored transforms: [`Portable`] works on arrays of 16
/// floats, AVX-512 on registers.
trait Lanes: Copy {
    /// The `n` (at most 16) elements from `p`, zeros after them.
    ///
    /// # Safety
    /// The `n` elements must be readable.
    unsafe fn load(p: *const f32, n: usize) -> Self;
    /// Writes the first `n` (at most 16) elements to `p`.
    ///
    /// # Safety
    /// The `n` elements must be writable.
    unsafe fn store(self, p: *mut f32, n: usize);
    fn add(self, o: Self) -> Self;
    fn sub(self, o: Self) -> Self;
    fn mul(self, c: f32) -> Self;
    /// `self · c + acc`.
    fn mul_add(self, c: f32, acc: Self) -> Self;
}

/// The input transform `Bᵀ x` of eight vectors (the matrix is in the tests), factored: rows
/// 1 and 2, 3 and 4, 5 and 6 are the sum and difference of shared even and odd terms, which
/// takes 32 operations instead of the matrix's 44.
#[inline(always)]
fn bt<V: Lanes>([x0, x1, x2, x3, x4, x5, x6, x7]: [V; 8]) -> [V; 8] {
    let r0 = x4.sub(x2).mul_add(21.0, x0.sub(x6).mul(4.0));
    let r7 = x3.sub(x5).mul_add(21.0, x7.sub(x1).mul(4.0));
    let e12 = x4.mul_add(17.0, x2.add(x6).mul(-4.0));
    let o12 = x3.mul_add(17.0, x1.add(x5).mul(-4.0));
    let e34 = x4.mul_add(-5.0, x6.mul_add(4.0, x2));
    let o34 = x5.mul_add(8.0, x3.mul_add(-10.0, x1.mul(2.0)));
    let e56 = x6.mul_add(2.0, x4.mul_add(-10.0, x2.mul(8.0)));
    let o56 = x3.mul_add(-5.0, x1.mul_add(4.0, x5));
    [
        r0,
        e12.add(o12),
        e12.sub(o12),
        e34.add(o34),
        e34.sub(o34),
        e56.add(o56),
        e56.sub(o56),
        r7,
    ]
}

/// The output transform `Aᵀ x` of eight vectors (the matrix is in the tests), factored over
/// the sums and differences of the points ±1, ±2 and ±1/2: 16 operations instead of 29.
#[inline(always)]
fn at<V: Lanes>([x0, x1, x2, x3, x4, x5, x6, x7]: [V; 8]) -> [V; 4] {
    let (s12, d12) = (x1.add(x2), x1.sub(x2));
    let (s34, d34) = (x3.add(x4), x3.sub(x4));
    let (s56, d56) = (x5.add(x6), x5.sub(x6));
    [
        x0.add(s12).add(s34).add(s56),
        d56.mul_add(0.5, d34.mul_add(2.0, d12)),
        s56.mul_add(0.25, s34.mul_add(4.0, s12)),
        d56.mul_add(0.125, d34.mul_add(8.0, d12)).add(x7),
    ]
}

/// `Bᵀ x` of six vectors for F(2, 5) (the matrix is in the tests): 14 operations.
#[inline(always)]
fn bt6<V: Lanes>([x0, x1, x2, x3, x4, x5]: [V; 6]) -> [V; 6] {
    let (e1, o1) = (x2.mul_add(-4.0, x4), x1.mul_add(-4.0, x3));
    let (e3, o3) = (x4.sub(x2), x3.sub(x1).mul(2.0));
    [
        x2.mul_add(-5.0, x0.mul_add(4.0, x4)),
        e1.add(o1),
        e1.sub(o1),
        e3.add(o3),
        e3.sub(o3),
        x3.mul_add(-5.0, x1.mul_add(4.0, x5)),
    ]
}

/// `Aᵀ x` of six vectors for F(2, 5) (the matrix is in the tests).
#[inline(always)]
fn at6<V: Lanes>([x0, x1, x2, x3, x4, x5]: [V; 6]) -> [V; 2] {
    [
        x0.add(x1).add(x2).add(x3).add(x4),
        x3.sub(x4).mul_add(2.0, x1.sub(x2)).add(x5),
    ]
}

/// `Bᵀ x` of ten vectors for F(6, 5) (the matrix is in the tests), factored like [`bt`]:
/// 50 operations instead of the matrix's 74.
#[inline(always)]
#[rustfmt::skip]
fn bt10<V: Lanes>([x0, x1, x2, x3, x4, x5, x6, x7, x8, x9]: [V; 10]) -> [V; 10] {
    let r0 = x8.mul_add(1024.0, x6.mul_add(-6528.0, x4.mul_add(11172.0, x2.mul_add(-6001.0, x0.mul(900.0)))));
    let r9 = x9.mul_add(1024.0, x7.mul_add(-6528.0, x5.mul_add(11172.0, x3.mul_add(-6001.0, x1.mul(900.0)))));
    let e0 = x8.mul_add(1024.0, x6.mul_add(-2432.0, x4.mul_add(1444.0, x2.mul(-225.0))));
    let o0 = x7.mul_add(2048.0, x5.mul_add(-4864.0, x3.mul_add(2888.0, x1.mul(-450.0))));
    let e1 = x8.mul_add(512.0, x6.mul_add(-3136.0, x4.mul_add(4802.0, x2.mul(-1800.0))));
    let o1 = x7.mul_add(256.0, x5.mul_add(-1568.0, x3.mul_add(2401.0, x1.mul(-900.0))));
    let e2 = x8.mul_add(256.0, x6.mul_add(-1488.0, x4.mul_add(1956.0, x2.mul(-400.0))));
    let o2 = x7.mul_add(192.0, x5.mul_add(-1116.0, x3.mul_add(1467.0, x1.mul(-300.0))));
    let e3 = x8.mul_add(256.0, x6.mul_add(-1232.0, x4.mul_add(868.0, x2.mul(-144.0))));
    let o3 = x7.mul_add(320.0, x5.mul_add(-1540.0, x3.mul_add(1085.0, x1.mul(-180.0))));
    [r0, e0.add(o0), e0.sub(o0), e1.add(o1), e1.sub(o1), e2.add(o2), e2.sub(o2), e3.add(o3), e3.sub(o3), r9]
}

/// `Aᵀ x` of ten vectors for F(6, 5) (the matrix is in the tests), factored like [`at`].
#[inline(always)]
fn at10<V: Lanes>([x0, x1, x2, x3, x4, x5, x6, x7, x8, x9]: [V; 10]) -> [V; 6] {
    let (s0, d0) = (x1.add(x2), x1.sub(x2));
    let (s1, d1) = (x3.add(x4), x3.sub(x4));
    let (s2, d2) = (x5.add(x6), x5.sub(x6));
    let (s3, d3) = (x7.add(x8), x7.sub(x8));
    [
        x0.add(s0).add(s1).add(s2).add(s3),
        d3.mul_add(
            5.0 / 4.0,
            d2.mul_add(3.0 / 4.0, d1.mul_add(1.0 / 2.0, d0.mul(2.0))),
        ),
        s3.mul_add(
            25.0 / 16.0,
            s2.mul_add(9.0 / 16.0, s1.mul_add(1.0 / 4.0, s0.mul(4.0))),
        ),
        d3.mul_add(
            125.0 / 64.0,
            d2.mul_add(27.0 / 64.0, d1.mul_add(1.0 / 8.0, d0.mul(8.0))),
        ),
        s3.mul_add(
            625.0 / 256.0,
            s2.mul_add(81.0 / 256.0, s1.mul_add(1.0 / 16.0, s0.mul(16.0))),
        ),
        d3.mul_add(
            3125.0 / 1024.0,
            d2.mul_add(243.0 / 1024.0, d1.mul_add(1.0 / 32.0, d0.mul_add(32.0, x9))),
        ),
    ]
}

/// The same array under its other name, for code generic over a tile side of `TILE_L`,
/// `TILE` or `TILE_S` inputs (the lengths must be equal: checked when compiled, then free).
#[inline(always)]
fn same<V: Copy, const A: usize, const B: usize>(x: [V; A]) -> [V; B] {
    assert!(A == B, "arrays of different lengths");
    array(|i| x[i])
}

/// `[f(0), f(1), …, f(N - 1)]` for `N ≥ 1`, always inlined: `std::array::from_fn` leaves its
/// calls out of line in some of the transforms, and these loops are hot.
#[inline(always)]
fn array<V: Copy, const N: usize>(mut f: impl FnMut(usize) -> V) -> [V; N] {
    let mut a = [f(0); N];
    for (i, v) in a.iter_mut().enumerate().skip(1) {
        *v = f(i);
    }
    a
}

/// `Bᵀ x` along a tile side of `N` (10, 8 or 6) inputs.
#[inline(always)]
fn bt_side<V: Lanes, const N: usize>(x: [V; N]) -> [V; N] {
    match N {
        TILE_L => same(bt10(same(x))),
        TILE => same(bt(same(x))),
        _ => same(bt6(same(x))),
    }
}

/// `Aᵀ x` along a tile side of `N` (10, 8 or 6) inputs: its `O = N - 4` outputs.
#[inline(always)]
fn at_side<V: Lanes, const N: usize, const O: usize>(x: [V; N]) -> [V; O] {
    match N {
        TILE_L => same(at10(same(x))),
        TILE => same(at(same(x))),
        _ => same(at6(same(x))),
    }
}

thread_local! {
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    /// A padded image of [`Single`].
    static PADDED: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// A stride-1 5x5 correlation: `y[n, oy, ox, :] = Σ_{t,u} x[n, oy + t - pt, ox + u - pl, :] ·
/// f[t, u]`, input `[n, hi, wi, ci]`, output `[n, ho, wo, co]`; reads outside the input are 0.
#[derive(Clone, Copy)]
struct Geometry {
    hi: usize,
    wi: usize,
    ci: usize,
    ho: usize,
    wo: usize,
    co: usize,
    pt: isize,
    pl: isize,
}

impl Geometry {
    /// The forward convolution's correlation over `win` with `co` output channels.
    fn forward(win: &Window, co: usize) -> Geometry {
        Geometry {
            hi: win.h,
            wi: win.w,
            ci: win.c,
            ho: win.oh,
            wo: win.ow,
            co,
            pt: win.pad_top as isize,
            pl: win.pad_left as isize,
        }
    }

    /// The 4x4 tiles that cover the whole output (the filter gradient's).
    fn uniform(&self) -> Tiles {
        Tiles {
            rows: self.ho.div_ceil(OUT),
            cols: self.wo.div_ceil(OUT),
            step: OUT,
            oy0: 0,
            ox0: 0,
        }
    }

    /// The forward correlation's tiles of `TH x TW` inputs. Without `border` tiles, the 4x4
    /// tiles cover the whole output (and there are no others). With them, 10 x 10 inputs give
    /// the 6x6 tiles, F(6x6, 5x5); 10 x 6 the 6x2 tiles of the last columns (if the width
    /// leaves one or two after the 6x6 tiles); 6 x 10 the 2x6 tiles of the last rows
    /// (likewise), corner included.
    fn tiles<const TH: usize, const TW: usize>(&self, border: bool) -> Tiles {
        // No tiles (one column, so that the grid stays well formed).
        let none = Tiles {
            rows: 0,
            cols: 1,
            step: OUT,
            oy0: 0,
            ox0: 0,
        };
        if !border {
            return if TH == TILE && TW == TILE {
                self.uniform()
            } else {
                none
            };
        }
        // Tiles of 6 along a side, and whether one of 2 ends it.
        let side = |len: usize| match len % OUT_L {
            1 | 2 => (len / OUT_L, 1),
            _ => (len.div_ceil(OUT_L), 0),
        };
        let ((fh, sh), (fw, sw)) = (side(self.ho), side(self.wo));
        let grid = |rows, cols, oy0, ox0| Tiles {
            rows,
            cols,
            step: OUT_L,
            oy0,
            ox0,
        };
        match (TH, TW) {
            (TILE_L, TILE_L) => grid(fh, fw, 0, 0),
            (TILE_L, TILE_S) => grid(fh, sw, 0, OUT_L * fw),
            (TILE_S, TILE_L) => grid(sh, fw + sw, OUT_L * fh, 0),
            _ => none,
        }
    }
}

/// A grid of tiles in each image, `step` outputs apart, the first at output (`oy0`, `ox0`).
struct Tiles {
    rows: usize,
    cols: usize,
    step: usize,
    oy0: usize,
    ox0: usize,
}

impl Tiles {
    fn per_image(&self) -> usize {
        self.rows * self.cols
    }

    /// The image and first output row and column of tile number `tile`.
    fn locate(&self, tile: usize) -> Corner {
        let (img, t) = (tile / self.per_image(), tile % self.per_image());
        Corner {
            img,
            oy: self.oy0 + self.step * (t / self.cols),
            ox: self.ox0 + self.step * (t % self.cols),
        }
    }
}

/// Where a tile is: its image and its first output's row and column.
#[derive(Clone, Copy)]
struct Corner {
    img: usize,
    oy: usize,
    ox: usize,
}

/// The forward convolution of `x` with the HWIO filter `f`, as
/// [`crate::kernels::conv::conv2d_forward`] defines it, with the filter transformed once;
/// it runs over groups of whole images. `win` must satisfy [`applies`].
pub(crate) struct Forward {
    geo: Geometry,
    u: Filters,
}

impl Forward {
    pub(crate) fn new(f: &[f32], win: &Window, co: usize) -> Forward {
        Forward {
            geo: Geometry::forward(win, co),
            u: Filters::new(f, win.c * co, border_tiles(win.n)),
        }
    }

    /// Images per parallel task when there are `n`.
    pub(crate) fn group(&self, n: usize) -> usize {
        image_group(n)
    }

    /// The convolution of the images of `x` into `y` (as many images as `y` holds), on this
    /// thread.
    pub(crate) fn run(&self, x: &[f32], y: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if let Some(a) = avx512::Avx512::detect() {
            return correlate_images(&a, &self.geo, x, &self.u, y);
        }
        correlate_images(&Portable, &self.geo, x, &self.u, y)
    }
}

/// The forward convolution of a single-channel input (see [`applies_single`]), 4x4 tiles
/// throughout. With one input channel the products are element-wise, `M[p] = V[p] · U[p]`
/// over the output channels, so they are made inside the output transform; the input
/// transforms run 16 tiles at a time, a tile per lane.
pub(crate) struct Single {
    win: Window,
    co: usize,
    /// `U[p][co]`.
    u: Vec<f32>,
}

impl Single {
    pub(crate) fn new(f: &[f32], win: &Window, co: usize) -> Single {
        Single {
            win: *win,
            co,
            u: filter_transform(f, co, &G, &G),
        }
    }

    /// The convolution of the images of `x` into `y` (as many images as `y` holds), on this
    /// thread.
    pub(crate) fn run(&self, x: &[f32], y: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if avx512::Avx512::detect().is_some() {
            // SAFETY: the CPU has AVX-512F.
            return unsafe { avx512::single_images(&self.win, self.co, x, &self.u, y) };
        }
        single_images::<[f32; 16]>(&self.win, self.co, x, &self.u, y)
    }
}

/// [`Single::run`] with the vector type `V`.
#[inline(always)]
fn single_images<V: Lanes>(win: &Window, co: usize, x: &[f32], u: &[f32], y: &mut [f32]) {
    let geo = Geometry::forward(win, co);
    let out_img = geo.ho * geo.wo * co;
    if out_img == 0 {
        return;
    }
    let grid = geo.uniform();
    let n = y.len() / out_img * grid.per_image();
    // The 8x8 inputs of 16 tiles, a tile per lane (`d[l][j][lane]`), as one 8x8 image of 16
    // channels for `input_tile`, and their transforms `v[p][lane]`.
    let lanes = Geometry {
        hi: TILE,
        wi: TILE,
        ci: 16,
        ho: OUT,
        wo: OUT,
        co: 0,
        pt: 0,
        pl: 0,
    };
    // The current image with zeros around it, so that every tile's 8x8 input lies inside.
    let (ph, pw) = (OUT * grid.rows + 4, OUT * grid.cols + 4);
    SCRATCH.with(|cell| {
        let mut buf = cell.borrow_mut();
        if buf.len() < 2 * P * 16 {
            buf.resize(2 * P * 16, 0.0);
        }
        let (d, v) = buf[..2 * P * 16].split_at_mut(P * 16);
        PADDED.with(|cell| {
            let padded = &mut cell.borrow_mut();
            let mut current = usize::MAX;
            for t0 in (0..n).step_by(16) {
                let tiles = t0..(t0 + 16).min(n);
                for (k, tile) in tiles.clone().enumerate() {
                    let at = grid.locate(tile);
                    if at.img != current {
                        current = at.img;
                        let image = &x[at.img * win.in_len()..(at.img + 1) * win.in_len()];
                        pad_image(win, image, (ph, pw), padded);
                    }
                    let rows = padded[at.oy * pw..(at.oy + TILE) * pw].chunks_exact(pw);
                    for (l, row) in rows.enumerate() {
                        for (j, &px) in row[at.ox..at.ox + TILE].iter().enumerate() {
                            d[(l * TILE + j) * 16 + k] = px;
                        }
                    }
                }
                let origin = Corner {
                    img: 0,
                    oy: 0,
                    ox: 0,
                };
                input_tile::<V, TILE, TILE>(&lanes, d, origin, v);
                for (k, tile) in tiles.enumerate() {
                    let at = grid.locate(tile);
                    // M[p] = V[p] U[p], channels c..c + n.
                    let (u, v) = (&u[..P * co], &v[..P * 16]);
                    let products = |p: usize, c: usize, n: usize| {
                        // SAFETY: p < 64, k < 16 and c + n ≤ co (`output_tile_of`): inside
                        // `u` and `v`.
                        unsafe {
                            let uv = V::load(u.as_ptr().add(p * co + c), n);
                            uv.mul(*v.get_unchecked(p * 16 + k))
                        }
                    };
                    output_tile_of::<V, TILE, TILE>(&geo, products, at, y);
                }
            }
        });
    });
}

/// Images per parallel task of a correlation with border tiles: their blocks then hold
/// enough tiles for the products to run at full speed (a whole image's border holds 7 of
/// 16 tiles at 14x14).
const BORDER_GROUP: usize = 8;

/// Whether a correlation of `n` images uses border tiles ([`Geometry::tiles`]): where there
/// are enough images for 16 parallel tasks of [`BORDER_GROUP`] (a training batch of 50
/// goes faster one image per task and 4x4 tiles throughout).
fn border_tiles(n: usize) -> bool {
    n >= 16 * BORDER_GROUP
}

/// Images per parallel task of a correlation of `n` images.
fn image_group(n: usize) -> usize {
    if border_tiles(n) {
        BORDER_GROUP
    } else {
        1
    }
}

/// A filter transformed for each kind of tile of [`Geometry::tiles`]: 8 x 8 points without
/// `border` tiles; with them 10 x 10, 10 x 6 and 6 x 10.
struct Filters {
    border: bool,
    /// The 8 x 8 or 10 x 10 tiles'.
    main: Vec<f32>,
    /// The 10 x 6 tiles' of the last columns.
    right: Vec<f32>,
    /// The 6 x 10 tiles' of the last rows.
    bottom: Vec<f32>,
}

impl Filters {
    /// The transforms of the `len = ci * co` filters of the HWIO `f`.
    fn new(f: &[f32], len: usize, border: bool) -> Filters {
        if !border {
            return Filters {
                border,
                main: filter_transform(f, len, &G, &G),
                right: Vec::new(),
                bottom: Vec::new(),
            };
        }
        Filters {
            border,
            main: filter_transform(f, len, &G10, &G10),
            right: filter_transform(f, len, &G10, &G6),
            bottom: filter_transform(f, len, &G6, &G10),
        }
    }
}

/// The input gradient of the convolution, as
/// [`crate::kernels::conv::conv2d_backprop_input`] defines it: the correlation of `dy` with
/// the filter rotated by 180 degrees and with its channel axes swapped.
pub(crate) fn conv2d_backprop_input(
    dy: &[f32],
    f: &[f32],
    win: &Window,
    co: usize,
    dx: &mut [f32],
) {
    let c = win.c;
    // rot[t, u, k, ci] = f[4 - t, 4 - u, ci, k]
    let mut rot = vec![0f32; 25 * c * co];
    for tap in 0..25 {
        let src = &f[(24 - tap) * c * co..(25 - tap) * c * co];
        let dst = &mut rot[tap * c * co..(tap + 1) * c * co];
        for ci in 0..c {
            for k in 0..co {
                dst[k * c + ci] = src[ci * co + k];
            }
        }
    }
    let u = Filters::new(&rot, c * co, border_tiles(win.n));
    let geo = Geometry {
        hi: win.oh,
        wi: win.ow,
        ci: co,
        ho: win.h,
        wo: win.w,
        co: c,
        pt: 4 - win.pad_top as isize,
        pl: 4 - win.pad_left as isize,
    };
    correlate_fastest(&geo, dy, &u, dx);
}

/// The filter gradient of the convolution, as
/// [`crate::kernels::conv::conv2d_backprop_filter`] defines it: per point `p`,
/// `dU[p] = Σ_tiles V[p]ᵀ · (A dY Aᵀ)[p]`, then `df = Gᵀ dU G`. The tiles are split into a
/// fixed number of ranges whose partial sums are added in order, so the result does not
/// depend on scheduling.
pub(crate) fn conv2d_backprop_filter(
    x: &[f32],
    dy: &[f32],
    win: &Window,
    co: usize,
    df: &mut [f32],
) {
    let geo = Geometry::forward(win, co);
    #[cfg(target_arch = "x86_64")]
    if let Some(a) = avx512::Avx512::detect() {
        return filter_gradient(a, &geo, win.n, x, dy, df);
    }
    filter_gradient(Portable, &geo, win.n, x, dy, df)
}

/// At most this many partial filter gradients are summed.
const GRAD_GROUPS: usize = 8;

fn filter_gradient<A: Arith>(
    arith: A,
    geo: &Geometry,
    n: usize,
    x: &[f32],
    dy: &[f32],
    df: &mut [f32],
) {
    let len = geo.ci * geo.co;
    let grid = geo.uniform();
    let tiles = n * grid.per_image();
    df.fill(0.0);
    if tiles == 0 || len == 0 {
        return;
    }
    let groups = GRAD_GROUPS.min(tiles.div_ceil(GRAD_TILE_BLOCK));
    let partials: Vec<Vec<f32>> = (0..groups)
        .into_par_iter()
        .map(|gi| {
            let range = tiles * gi / groups..tiles * (gi + 1) / groups;
            let mut du = vec![0f32; P * len];
            let tb = GRAD_TILE_BLOCK.min(range.len());
            let (v_len, w_len) = (tb * P * geo.ci, tb * P * geo.co);
            let t_len = (OUT * OUT + OUT * TILE) * geo.co;
            SCRATCH.with(|cell| {
                let mut buf = cell.borrow_mut();
                if buf.len() < v_len + w_len + t_len {
                    buf.resize(v_len + w_len + t_len, 0.0);
                }
                let (v, rest) = buf.split_at_mut(v_len);
                let (w, tmp) = rest.split_at_mut(w_len);
                for t0 in range.clone().step_by(tb) {
                    let tiles = t0..(t0 + tb).min(range.end);
                    transform_inputs::<A, TILE, TILE>(&arith, geo, x, &grid, tiles.clone(), v);
                    transform_output_grads(&arith, geo, &grid, dy, tiles.clone(), w, tmp);
                    arith.grad_products(geo.ci, geo.co, tiles.len(), v, w, &mut du);
                }
            });
            du
        })
        .collect();
    let mut du = vec![0f32; P * len];
    for p in &partials {
        du.iter_mut().zip(p).for_each(|(a, &b)| *a += b);
    }
    // df[a][b] = Σ_{xi,nu} G[xi][a] dU[xi][nu] G[nu][b].
    let mut tmp = vec![0f32; 5 * TILE * len]; // tmp[a][nu] = Σ_xi G[xi][a] dU[xi][nu]
    for a in 0..5 {
        for nu in 0..TILE {
            let dst = &mut tmp[(a * TILE + nu) * len..(a * TILE + nu + 1) * len];
            for (xi, grow) in G.iter().enumerate() {
                if grow[a] != 0.0 {
                    let src = &du[(xi * TILE + nu) * len..(xi * TILE + nu + 1) * len];
                    dst.iter_mut()
                        .zip(src)
                        .for_each(|(d, &s)| *d += grow[a] * s);
                }
            }
        }
    }
    for a in 0..5 {
        for b in 0..5 {
            let dst = &mut df[(a * 5 + b) * len..(a * 5 + b + 1) * len];
            for (nu, grow) in G.iter().enumerate() {
                if grow[b] != 0.0 {
                    let src = &tmp[(a * TILE + nu) * len..(a * TILE + nu + 1) * len];
                    dst.iter_mut()
                        .zip(src)
                        .for_each(|(d, &s)| *d += grow[b] * s);
                }
            }
        }
    }
}

/// `W[t] = A dY Aᵀ` for each output tile `t` of `tiles` (of `grid`): the 4x4
/// output-gradient tile (zeros past the output's edge) spread over the 64 points, into `w`
/// (`[tile][64][co]`).
fn transform_output_grads<A: Arith>(
    arith: &A,
    geo: &Geometry,
    grid: &Tiles,
    dy: &[f32],
    tiles: std::ops::Range<usize>,
    w: &mut [f32],
    tmp: &mut [f32],
) {
    let co = geo.co;
    let out_img = geo.ho * geo.wo * co;
    for (t, tile) in tiles.enumerate() {
        let Corner { img, oy, ox } = grid.locate(tile);
        // g[i][j]: the tile's 4x4 gradient; then columns cols[j][xi] = (A g)[xi][j] and rows
        // W[xi][nu] = Σ_j cols[j][xi] A[nu][j].
        let (g, rest) = tmp.split_at_mut(OUT * OUT * co);
        let (cols, _) = rest.split_at_mut(OUT * TILE * co);
        for i in 0..OUT {
            for j in 0..OUT {
                let (oy, ox) = (oy + i, ox + j);
                let dst = &mut g[(i * OUT + j) * co..(i * OUT + j + 1) * co];
                if oy < geo.ho && ox < geo.wo {
                    let o = img * out_img + (oy * geo.wo + ox) * co;
                    dst.copy_from_slice(&dy[o..o + co]);
                } else {
                    dst.fill(0.0);
                }
            }
        }
        for j in 0..OUT {
            let s = std::array::from_fn(|i| &g[(i * OUT + j) * co..(i * OUT + j + 1) * co]);
            arith.a4(s, &mut cols[j * TILE * co..(j + 1) * TILE * co]);
        }
        let wt = &mut w[t * P * co..(t + 1) * P * co];
        for xi in 0..TILE {
            let s = std::array::from_fn(|j| &cols[(j * TILE + xi) * co..(j * TILE + xi + 1) * co]);
            arith.a4(s, &mut wt[xi * TILE * co..(xi + 1) * TILE * co]);
        }
    }
}

/// `U[p] = (Gh g Gwᵀ)[p]` for each of the `len = ci * co` filters of the HWIO `f`, `p` over
/// the `TH x TW` points (`gh` has `TH` rows, `gw` `TW`).
fn filter_transform<const TH: usize, const TW: usize>(
    f: &[f32],
    len: usize,
    gh: &[[f32; 5]; TH],
    gw: &[[f32; 5]; TW],
) -> Vec<f32> {
    // tmp[xi][b] = Σ_a Gh[xi][a] f[a][b]
    let mut tmp = vec![0f32; TH * 5 * len];
    for (xi, grow) in gh.iter().enumerate() {
        for b in 0..5 {
            let dst = &mut tmp[(xi * 5 + b) * len..(xi * 5 + b + 1) * len];
            for (a, &g) in grow.iter().enumerate() {
                if g != 0.0 {
                    let src = &f[(a * 5 + b) * len..(a * 5 + b + 1) * len];
                    dst.iter_mut().zip(src).for_each(|(d, &s)| *d += g * s);
                }
            }
        }
    }
    // U[xi][nu] = Σ_b tmp[xi][b] Gw[nu][b]
    let mut u = vec![0f32; TH * TW * len];
    for xi in 0..TH {
        for (nu, grow) in gw.iter().enumerate() {
            let dst = &mut u[(xi * TW + nu) * len..(xi * TW + nu + 1) * len];
            for (b, &g) in grow.iter().enumerate() {
                if g != 0.0 {
                    let src = &tmp[(xi * 5 + b) * len..(xi * 5 + b + 1) * len];
                    dst.iter_mut().zip(src).for_each(|(d, &s)| *d += g * s);
                }
            }
        }
    }
    u
}

/// Runs the correlation `geo` of `x` with the transformed filter `u` into `y` (overwritten):
/// groups of whole images in parallel.
fn correlate<A: Arith>(arith: A, geo: &Geometry, x: &[f32], u: &Filters, y: &mut [f32]) {
    let out_img = geo.ho * geo.wo * geo.co;
    if y.is_empty() || out_img == 0 {
        return;
    }
    let (group, in_img) = (image_group(y.len() / out_img), geo.hi * geo.wi * geo.ci);
    y.par_chunks_mut(group * out_img)
        .enumerate()
        .for_each(|(gi, yg)| correlate_images(&arith, geo, &x[gi * group * in_img..], u, yg));
}

/// The correlation of the first images of `x` into `y` (as many as `y` holds), on this
/// thread: each kind of tile of [`Geometry::tiles`] in blocks of [`TILE_BLOCK`] tiles.
fn correlate_images<A: Arith>(arith: &A, geo: &Geometry, x: &[f32], u: &Filters, y: &mut [f32]) {
    let out_img = geo.ho * geo.wo * geo.co;
    if y.is_empty() || out_img == 0 {
        return;
    }
    let images = y.len() / out_img;
    let points = BLOCK_POINTS.max(TILE_BLOCK * P);
    let (v_len, m_len) = (points * geo.ci, points * geo.co);
    SCRATCH.with(|cell| {
        let mut buf = cell.borrow_mut();
        if buf.len() < v_len + m_len {
            buf.resize(v_len + m_len, 0.0);
        }
        let (v, m) = buf.split_at_mut(v_len);
        let mut scratch = Block { v, m, y };
        if u.border {
            scratch.run::<A, TILE_L, TILE_L>(arith, geo, x, u, images);
            scratch.run::<A, TILE_L, TILE_S>(arith, geo, x, u, images);
            scratch.run::<A, TILE_S, TILE_L>(arith, geo, x, u, images);
        } else {
            scratch.run::<A, TILE, TILE>(arith, geo, x, u, images);
        }
    });
}

/// A block's transformed inputs `v` and products `m`, and the output `y` of its images.
struct Block<'a> {
    v: &'a mut [f32],
    m: &'a mut [f32],
    y: &'a mut [f32],
}

impl Block<'_> {
    /// The tiles of `TH x TW` inputs of `images` images of `x` with the filter `u`: per
    /// block of tiles, the input transforms, the products and the output transforms.
    fn run<A: Arith, const TH: usize, const TW: usize>(
        &mut self,
        arith: &A,
        geo: &Geometry,
        x: &[f32],
        u: &Filters,
        images: usize,
    ) {
        let grid = geo.tiles::<TH, TW>(u.border);
        let u = match (TH, TW) {
            (TILE_S, _) => &u.bottom,
            (_, TILE_S) => &u.right,
            _ => &u.main,
        };
        let (n, points) = (images * grid.per_image(), TH * TW);
        let block = if points == P {
            TILE_BLOCK
        } else {
            (BLOCK_POINTS / points / 6 * 6).max(6)
        };
        for t0 in (0..n).step_by(block) {
            let tiles = t0..(t0 + block).min(n);
            transform_inputs::<A, TH, TW>(arith, geo, x, &grid, tiles.clone(), self.v);
            arith.products(geo.ci, geo.co, tiles.len(), points, self.v, u, self.m);
            for (mt, tile) in self.m.chunks_exact(points * geo.co).zip(tiles) {
                arith.output_tile::<TH, TW>(geo, mt, grid.locate(tile), self.y);
            }
        }
    }
}

/// Runs `correlate` with the fastest arithmetic this CPU has.
fn correlate_fastest(geo: &Geometry, x: &[f32], u: &Filters, y: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if let Some(a) = avx512::Avx512::detect() {
        return correlate(a, geo, x, u, y);
    }
    correlate(Portable, geo, x, u, y)
}

/// The arithmetic of a block: the transforms of a tile over vectors of channels, and the 64
/// products.
trait Arith: Sync + Send {
    /// [`input_tile`].
    fn input_tile<const TH: usize, const TW: usize>(
        &self,
        geo: &Geometry,
        x: &[f32],
        at: Corner,
        vt: &mut [f32],
    );
    /// [`output_tile`].
    fn output_tile<const TH: usize, const TW: usize>(
        &self,
        geo: &Geometry,
        mt: &[f32],
        at: Corner,
        y: &mut [f32],
    );
    /// `A` applied to four equally long vectors `s`, into the eight consecutive pieces of
    /// `out`.
    fn a4(&self, s: [&[f32]; OUT], out: &mut [f32]);
    /// `M[t][p] = V[t][p] · U[p]` for the `n_t` tiles of a block and their `np` points.
    #[allow(clippy::too_many_arguments)]
    fn products(
        &self,
        ci: usize,
        co: usize,
        n_t: usize,
        np: usize,
        v: &[f32],
        u: &[f32],
        m: &mut [f32],
    );
    /// `dU[p] += Σ_t V[t][p]ᵀ · W[t][p]` for the `n_t` tiles of a block and the 64 points.
    fn grad_products(&self, ci: usize, co: usize, n_t: usize, v: &[f32], w: &[f32], du: &mut [f32]);
}

/// Plain Rust arithmetic, for any CPU.
#[derive(Clone, Copy)]
struct Portable;

/// `out[o] = Σ_i m[o][i] · s[i]` over vectors `s[i]` of equal length, into the `O`
/// consecutive pieces of `out`.
fn apply<const I: usize, const O: usize>(m: &[[f32; I]; O], s: [&[f32]; I], out: &mut [f32]) {
    let len = s[0].len();
    for (row, dst) in m.iter().zip(out.chunks_exact_mut(len)) {
        dst.fill(0.0);
        for (&c, src) in row.iter().zip(s) {
            if c != 0.0 {
                dst.iter_mut().zip(src).for_each(|(d, &v)| *d += c * v);
            }
        }
    }
}

impl Lanes for [f32; 16] {
    unsafe fn load(p: *const f32, n: usize) -> Self {
        let mut a = [0.0; 16];
        a[..n].copy_from_slice(std::slice::from_raw_parts(p, n));
        a
    }
    unsafe fn store(self, p: *mut f32, n: usize) {
        std::slice::from_raw_parts_mut(p, n).copy_from_slice(&self[..n]);
    }
    fn add(self, o: Self) -> Self {
        std::array::from_fn(|i| self[i] + o[i])
    }
    fn sub(self, o: Self) -> Self {
        std::array::from_fn(|i| self[i] - o[i])
    }
    fn mul(self, c: f32) -> Self {
        self.map(|v| v * c)
    }
    fn mul_add(self, c: f32, acc: Self) -> Self {
        std::array::from_fn(|i| self[i] * c + acc[i])
    }
}

impl Arith for Portable {
    fn input_tile<const TH: usize, const TW: usize>(
        &self,
        geo: &Geometry,
        x: &[f32],
        at: Corner,
        vt: &mut [f32],
    ) {
        input_tile::<[f32; 16], TH, TW>(geo, x, at, vt);
    }

    fn output_tile<const TH: usize, const TW: usize>(
        &self,
        geo: &Geometry,
        mt: &[f32],
        at: Corner,
        y: &mut [f32],
    ) {
        output_tile::<[f32; 16], TH, TW>(geo, mt, at, y);
    }

    fn a4(&self, s: [&[f32]; OUT], out: &mut [f32]) {
        apply(&A, s, out);
    }

    fn grad_products(
        &self,
        ci: usize,
        co: usize,
        n_t: usize,
        v: &[f32],
        w: &[f32],
        du: &mut [f32],
    ) {
        for t in 0..n_t {
            for p in 0..P {
                let wrow = &w[(t * P + p) * co..(t * P + p + 1) * co];
                let vrow = &v[(t * P + p) * ci..(t * P + p + 1) * ci];
                for (c, &a) in vrow.iter().enumerate() {
                    let out = &mut du[(p * ci + c) * co..(p * ci + c + 1) * co];
                    out.iter_mut().zip(wrow).for_each(|(o, &b)| *o += a * b);
                }
            }
        }
    }

    fn products(
        &self,
        ci: usize,
        co: usize,
        n_t: usize,
        np: usize,
        v: &[f32],
        u: &[f32],
        m: &mut [f32],
    ) {
        for t in 0..n_t {
            for p in 0..np {
                let out = &mut m[(t * np + p) * co..(t * np + p + 1) * co];
                out.fill(0.0);
                let vrow = &v[(t * np + p) * ci..(t * np + p + 1) * ci];
                for (c, &a) in vrow.iter().enumerate() {
                    let urow = &u[(p * ci + c) * co..(p * ci + c + 1) * co];
                    out.iter_mut().zip(urow).for_each(|(o, &b)| *o += a * b);
                }
            }
        }
    }
}

/// `V[t] = Bᵀ d B` for each tile `t` of `tiles` (of `grid`, with `TH x TW` inputs) of the
/// input `x`, into `v` (`[tile][TH * TW][ci]`).
fn transform_inputs<A: Arith, const TH: usize, const TW: usize>(
    arith: &A,
    geo: &Geometry,
    x: &[f32],
    grid: &Tiles,
    tiles: std::ops::Range<usize>,
    v: &mut [f32],
) {
    for (vt, tile) in v.chunks_exact_mut(TH * TW * geo.ci).zip(tiles) {
        arith.input_tile::<TH, TW>(geo, x, grid.locate(tile), vt);
    }
}

/// `V = Bᵀ d B` for the `TH x TW` input tile `d` of the output tile at `at`, into `vt`
/// (`[TH * TW][ci]`); pixels of `d` outside the image are zeros. Per vector of channels, the
/// columns' transforms stay in registers for the rows'.
#[inline(always)]
fn input_tile<V: Lanes, const TH: usize, const TW: usize>(
    geo: &Geometry,
    x: &[f32],
    at: Corner,
    vt: &mut [f32],
) {
    let ci = geo.ci;
    let len = geo.hi * geo.wi * ci;
    // Every element read below is inside the image, every one written inside `vt`.
    let image = &x[at.img * len..(at.img + 1) * len];
    let vt = &mut vt[..TH * TW * ci];
    // The offsets of the tile's rows and columns in the image, 0 for those outside, where
    // the loads read no lanes (and so give zeros).
    fn inside<const N: usize>(first: isize, size: usize, stride: usize) -> [(usize, bool); N] {
        array(|l| {
            let at = first + l as isize;
            let ok = at >= 0 && (at as usize) < size;
            (if ok { at as usize * stride } else { 0 }, ok)
        })
    }
    let rows = inside::<TH>(at.oy as isize - geo.pt, geo.hi, geo.wi * ci);
    let cols = inside::<TW>(at.ox as isize - geo.pl, geo.wi, ci);
    let (src, dst) = (image.as_ptr(), vt.as_mut_ptr());
    for c in (0..ci).step_by(16) {
        let n = (ci - c).min(16);
        // t[j][i] = Σ_l Bᵀ[i][l] d[l][j]; then V[i][j] = Σ_l t[l][i] Bᵀ[j][l].
        // A loop rather than `array`: as a closure, the ten-point column pass stayed out of
        // line and returned its array through memory.
        // SAFETY: a load of no lanes reads nothing.
        let mut t = [[unsafe { V::load(src, 0) }; TH]; TW];
        for (j, tj) in t.iter_mut().enumerate() {
            *tj = bt_side(array(|l| {
                let ((ro, r_ok), (co, c_ok)) = (rows[l], cols[j]);
                // SAFETY: ro + co is a pixel of the image (or 0) and c + n ≤ ci: inside
                // `image`; outside pixels read nothing.
                unsafe { V::load(src.add(ro + co + c), if r_ok && c_ok { n } else { 0 }) }
            }));
        }
        #[allow(clippy::needless_range_loop)] // i indexes the inner arrays
        for i in 0..TH {
            let row: [V; TW] = bt_side(array(|l| t[l][i]));
            for (j, r) in row.into_iter().enumerate() {
                // SAFETY: i * TW + j < TH * TW and c + n ≤ ci: inside `vt`.
                unsafe { r.store(dst.add((i * TW + j) * ci + c), n) };
            }
        }
    }
}

/// `Y = Aᵀ M A` for the products `mt` (`[TH * TW][co]`) of the output tile at `at`, into
/// the tile's pixels inside the output `y` (which holds whole images from the first one).
#[inline(always)]
fn output_tile<V: Lanes, const TH: usize, const TW: usize>(
    geo: &Geometry,
    mt: &[f32],
    at: Corner,
    y: &mut [f32],
) {
    let (co, mt) = (geo.co, &mt[..TH * TW * geo.co]);
    // SAFETY: p < TH * TW and c + n ≤ co (`output_tile_of`): inside `mt`.
    let products =
        |p: usize, c: usize, n: usize| unsafe { V::load(mt.as_ptr().add(p * co + c), n) };
    output_tile_of::<V, TH, TW>(geo, products, at, y)
}

/// [`output_tile`] with the products of point `p`, channels `c..c + n` (`n ≤ 16`, `c + n ≤
/// co`), given by `products(p, c, n)`.
#[inline(always)]
fn output_tile_of<V: Lanes, const TH: usize, const TW: usize>(
    geo: &Geometry,
    products: impl Fn(usize, usize, usize) -> V,
    at: Corner,
    y: &mut [f32],
) {
    // The transforms' arrays sized to the tile's outputs, which are constants here: with room
    // for more, the 8 x 8 tiles' were kept in memory (the single-channel kernel lost 10%).
    match (TH, TW) {
        (TILE_L, TILE_L) => output_pixels::<V, TH, TW, OUT_L, OUT_L>(geo, products, at, y),
        (TILE_L, TILE_S) => output_pixels::<V, TH, TW, OUT_L, OUT_S>(geo, products, at, y),
        (TILE_S, TILE_L) => output_pixels::<V, TH, TW, OUT_S, OUT_L>(geo, products, at, y),
        _ => output_pixels::<V, TH, TW, OUT, OUT>(geo, products, at, y),
    }
}

/// [`output_tile_of`] for tiles of `OH x OW` outputs.
#[inline(always)]
fn output_pixels<V: Lanes, const TH: usize, const TW: usize, const OH: usize, const OW: usize>(
    geo: &Geometry,
    products: impl Fn(usize, usize, usize) -> V,
    at: Corner,
    y: &mut [f32],
) {
    let co = geo.co;
    let len = geo.ho * geo.wo * co;
    // Every element written below is inside these bounds.
    let yi = &mut y[at.img * len..(at.img + 1) * len];
    let dst = yi.as_mut_ptr();
    let (rows, cols) = (OH.min(geo.ho - at.oy), OW.min(geo.wo - at.ox));
    for c in (0..co).step_by(16) {
        let n = (co - c).min(16);
        // t[nu][i] = Σ_xi Aᵀ[i][xi] M[xi][nu]; then Y[i][j] = Σ_nu t[nu][i] Aᵀ[j][nu].
        let t: [[V; OH]; TW] =
            array(|nu| at_side::<V, TH, OH>(array(|xi| products(xi * TW + nu, c, n))));
        #[allow(clippy::needless_range_loop)] // i indexes the inner arrays
        for i in 0..rows {
            let row = at_side::<V, TW, OW>(array(|nu| t[nu][i]));
            let oy = at.oy + i;
            for (j, r) in row.into_iter().enumerate().take(cols) {
                // SAFETY: (oy, at.ox + j) < (ho, wo) and c + n ≤ co: inside `yi`.
                unsafe { r.store(dst.add((oy * geo.wo + at.ox + j) * co + c), n) };
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod avx512 {
    use super::{Arith, Corner, Geometry, Lanes, Window, A, OUT, P};
    use crate::kernels::bcast::avx512::{block, lanes};
    use std::arch::x86_64::*;

    /// AVX-512 arithmetic; only [`Avx512::detect`] makes one, on a CPU that has AVX-512F.
    #[derive(Clone, Copy)]
    pub(super) struct Avx512(());

    impl Avx512 {
        pub(super) fn detect() -> Option<Self> {
            is_x86_feature_detected!("avx512f").then_some(Avx512(()))
        }
    }

    impl Arith for Avx512 {
        fn input_tile<const TH: usize, const TW: usize>(
            &self,
            geo: &Geometry,
            x: &[f32],
            at: Corner,
            vt: &mut [f32],
        ) {
            // SAFETY: the CPU has AVX-512F (an `Avx512` exists).
            unsafe { input_tile::<TH, TW>(geo, x, at, vt) }
        }
        fn output_tile<const TH: usize, const TW: usize>(
            &self,
            geo: &Geometry,
            mt: &[f32],
            at: Corner,
            y: &mut [f32],
        ) {
            // SAFETY: as above.
            unsafe { output_tile::<TH, TW>(geo, mt, at, y) }
        }
        fn a4(&self, s: [&[f32]; OUT], out: &mut [f32]) {
            // SAFETY: as above.
            unsafe { a4(s, out) }
        }
        fn products(
            &self,
            ci: usize,
            co: usize,
            n_t: usize,
            np: usize,
            v: &[f32],
            u: &[f32],
            m: &mut [f32],
        ) {
            // SAFETY: as above.
            unsafe { products(ci, co, n_t, np, v, u, m) }
        }
        fn grad_products(
            &self,
            ci: usize,
            co: usize,
            n_t: usize,
            v: &[f32],
            w: &[f32],
            du: &mut [f32],
        ) {
            // SAFETY: as above.
            unsafe { grad_products(ci, co, n_t, v, w, du) }
        }
    }

    /// `out[o] = Σ_i m[o][i] · s[i]`, sixteen channels at a time. Inlined into a function
    /// per matrix, whose constant coefficients then fold (zeros vanish).
    #[target_feature(enable = "avx512f")]
    #[inline]
    unsafe fn apply<const I: usize, const O: usize>(
        m: &[[f32; I]; O],
        s: [&[f32]; I],
        out: &mut [f32],
    ) {
        let len = s[0].len();
        assert!(s.iter().all(|v| v.len() == len) && out.len() >= O * len);
        let o = out.as_mut_ptr();
        let mut c = 0;
        while c < len {
            let k = lanes(len - c);
            let v = s.map(|v| _mm512_maskz_loadu_ps(k, v.as_ptr().add(c)));
            for (r, row) in m.iter().enumerate() {
                let mut acc = _mm512_setzero_ps();
                for (&coef, &vi) in row.iter().zip(&v) {
                    if coef != 0.0 {
                        acc = _mm512_fmadd_ps(_mm512_set1_ps(coef), vi, acc);
                    }
                }
                _mm512_mask_storeu_ps(o.add(r * len + c), k, acc);
            }
            c += 16;
        }
    }

    impl Lanes for __m512 {
        #[inline(always)]
        unsafe fn load(p: *const f32, n: usize) -> Self {
            // The mask reads `n` elements; only code behind an `Avx512` (a CPU with
            // AVX-512F) makes these vectors.
            _mm512_maskz_loadu_ps(lanes(n), p)
        }
        #[inline(always)]
        unsafe fn store(self, p: *mut f32, n: usize) {
            // As above.
            _mm512_mask_storeu_ps(p, lanes(n), self)
        }
        #[inline(always)]
        fn add(self, o: Self) -> Self {
            // SAFETY: only code behind an `Avx512` (a CPU with AVX-512F) makes these vectors.
            unsafe { _mm512_add_ps(self, o) }
        }
        #[inline(always)]
        fn sub(self, o: Self) -> Self {
            // SAFETY: as above.
            unsafe { _mm512_sub_ps(self, o) }
        }
        #[inline(always)]
        fn mul(self, c: f32) -> Self {
            // SAFETY: as above.
            unsafe { _mm512_mul_ps(self, _mm512_set1_ps(c)) }
        }
        #[inline(always)]
        fn mul_add(self, c: f32, acc: Self) -> Self {
            // SAFETY: as above.
            unsafe { _mm512_fmadd_ps(self, _mm512_set1_ps(c), acc) }
        }
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn input_tile<const TH: usize, const TW: usize>(
        geo: &Geometry,
        x: &[f32],
        at: Corner,
        vt: &mut [f32],
    ) {
        super::input_tile::<__m512, TH, TW>(geo, x, at, vt)
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn output_tile<const TH: usize, const TW: usize>(
        geo: &Geometry,
        mt: &[f32],
        at: Corner,
        y: &mut [f32],
    ) {
        super::output_tile::<__m512, TH, TW>(geo, mt, at, y)
    }

    /// [`super::single_images`] with AVX-512.
    ///
    /// # Safety
    /// The CPU must support AVX-512F.
    #[target_feature(enable = "avx512f")]
    pub(super) unsafe fn single_images(
        win: &Window,
        co: usize,
        x: &[f32],
        u: &[f32],
        y: &mut [f32],
    ) {
        super::single_images::<__m512>(win, co, x, u, y)
    }

    #[target_feature(enable = "avx512f")]
    unsafe fn a4(s: [&[f32]; OUT], out: &mut [f32]) {
        apply(&A, s, out)
    }

    /// `dU[p] += Σ_t V[t][p]ᵀ · W[t][p]`, per point a product with K = the block's tiles.
    #[target_feature(enable = "avx512f")]
    unsafe fn grad_products(
        ci: usize,
        co: usize,
        n_t: usize,
        v: &[f32],
        w: &[f32],
        du: &mut [f32],
    ) {
        assert!(v.len() >= n_t * P * ci && w.len() >= n_t * P * co && du.len() >= P * ci * co);
        for p in 0..P {
            for k0 in (0..co).step_by(64) {
                // A[c][t] = V[t][p][c], B[t][k] = W[t][p][k], C = dU[p].
                block(
                    ci,
                    (co - k0).min(64),
                    n_t,
                    v.as_ptr().add(p * ci),
                    (1, P * ci),
                    w.as_ptr().add(p * co + k0),
                    P * co,
                    du.as_mut_ptr().add(p * ci * co + k0),
                    co,
                    true,
                );
            }
        }
    }

    /// `M[t][p] = V[t][p] · U[p]` over `np` points, per point a product with M = the
    /// block's tiles.
    #[target_feature(enable = "avx512f")]
    unsafe fn products(
        ci: usize,
        co: usize,
        n_t: usize,
        np: usize,
        v: &[f32],
        u: &[f32],
        m: &mut [f32],
    ) {
        assert!(v.len() >= n_t * np * ci && u.len() >= np * ci * co && m.len() >= n_t * np * co);
        for p in 0..np {
            for k0 in (0..co).step_by(64) {
                // A[t][c] = V[t][p][c], B = U[p], C[t][k] = M[t][p][k].
                block(
                    n_t,
                    (co - k0).min(64),
                    ci,
                    v.as_ptr().add(p * ci),
                    (np * ci, 1),
                    u.as_ptr().add(p * ci * co + k0),
                    co,
                    m.as_mut_ptr().add(p * co + k0),
                    np * co,
                    false,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::conv::{ConvKernel, ConvProblem, Pass};
    use crate::kernels::reference::{close, data, each_product};
    use crate::nn::padding::Padding;
    use rustflow_graph::KernelPolicy;

    /// The forward kernel a fast session selects.
    fn fast(win: &Window, co: usize) -> ConvKernel {
        let policy = KernelPolicy::Fast;
        ConvProblem {
            win: *win,
            co,
            policy,
        }
        .select(Pass::Forward)
    }

    /// `Bᵀ` (8x8), the input transform.
    const BT: [[f32; 8]; 8] = [
        [4.0, 0.0, -21.0, 0.0, 21.0, 0.0, -4.0, 0.0],
        [0.0, -4.0, -4.0, 17.0, 17.0, -4.0, -4.0, 0.0],
        [0.0, 4.0, -4.0, -17.0, 17.0, 4.0, -4.0, 0.0],
        [0.0, 2.0, 1.0, -10.0, -5.0, 8.0, 4.0, 0.0],
        [0.0, -2.0, 1.0, 10.0, -5.0, -8.0, 4.0, 0.0],
        [0.0, 4.0, 8.0, -5.0, -10.0, 1.0, 2.0, 0.0],
        [0.0, -4.0, 8.0, 5.0, -10.0, -1.0, 2.0, 0.0],
        [0.0, -4.0, 0.0, 21.0, 0.0, -21.0, 0.0, 4.0],
    ];

    /// `Aᵀ` (4x8), the output transform.
    const AT: [[f32; 8]; 4] = [
        [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0],
        [0.0, 1.0, -1.0, 2.0, -2.0, 1.0 / 2.0, -1.0 / 2.0, 0.0],
        [0.0, 1.0, 1.0, 4.0, 4.0, 1.0 / 4.0, 1.0 / 4.0, 0.0],
        [0.0, 1.0, -1.0, 8.0, -8.0, 1.0 / 8.0, -1.0 / 8.0, 1.0],
    ];

    /// `Bᵀ` (6x6) of F(2, 5).
    const BT6: [[f32; 6]; 6] = [
        [4.0, 0.0, -5.0, 0.0, 1.0, 0.0],
        [0.0, -4.0, -4.0, 1.0, 1.0, 0.0],
        [0.0, 4.0, -4.0, -1.0, 1.0, 0.0],
        [0.0, -2.0, -1.0, 2.0, 1.0, 0.0],
        [0.0, 2.0, -1.0, -2.0, 1.0, 0.0],
        [0.0, 4.0, 0.0, -5.0, 0.0, 1.0],
    ];

    /// `Aᵀ` (2x6) of F(2, 5).
    const AT6: [[f32; 6]; 2] = [
        [1.0, 1.0, 1.0, 1.0, 1.0, 0.0],
        [0.0, 1.0, -1.0, 2.0, -2.0, 1.0],
    ];

    /// `Bᵀ` (10x10) of F(6, 5).
    #[rustfmt::skip]
    const BT10: [[f32; 10]; 10] = [
        [900.0, 0.0, -6001.0, 0.0, 11172.0, 0.0, -6528.0, 0.0, 1024.0, 0.0],
        [0.0, -450.0, -225.0, 2888.0, 1444.0, -4864.0, -2432.0, 2048.0, 1024.0, 0.0],
        [0.0, 450.0, -225.0, -2888.0, 1444.0, 4864.0, -2432.0, -2048.0, 1024.0, 0.0],
        [0.0, -900.0, -1800.0, 2401.0, 4802.0, -1568.0, -3136.0, 256.0, 512.0, 0.0],
        [0.0, 900.0, -1800.0, -2401.0, 4802.0, 1568.0, -3136.0, -256.0, 512.0, 0.0],
        [0.0, -300.0, -400.0, 1467.0, 1956.0, -1116.0, -1488.0, 192.0, 256.0, 0.0],
        [0.0, 300.0, -400.0, -1467.0, 1956.0, 1116.0, -1488.0, -192.0, 256.0, 0.0],
        [0.0, -180.0, -144.0, 1085.0, 868.0, -1540.0, -1232.0, 320.0, 256.0, 0.0],
        [0.0, 180.0, -144.0, -1085.0, 868.0, 1540.0, -1232.0, -320.0, 256.0, 0.0],
        [0.0, 900.0, 0.0, -6001.0, 0.0, 11172.0, 0.0, -6528.0, 0.0, 1024.0],
    ];
    /// `Aᵀ` (6x10) of F(6, 5).
    #[rustfmt::skip]
    const AT10: [[f32; 10]; 6] = [
        [1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0],
        [0.0, 2.0, -2.0, 1.0 / 2.0, -1.0 / 2.0, 3.0 / 4.0, -3.0 / 4.0, 5.0 / 4.0, -5.0 / 4.0, 0.0],
        [0.0, 4.0, 4.0, 1.0 / 4.0, 1.0 / 4.0, 9.0 / 16.0, 9.0 / 16.0, 25.0 / 16.0, 25.0 / 16.0, 0.0],
        [0.0, 8.0, -8.0, 1.0 / 8.0, -1.0 / 8.0, 27.0 / 64.0, -27.0 / 64.0, 125.0 / 64.0, -125.0 / 64.0, 0.0],
        [0.0, 16.0, 16.0, 1.0 / 16.0, 1.0 / 16.0, 81.0 / 256.0, 81.0 / 256.0, 625.0 / 256.0, 625.0 / 256.0, 0.0],
        [0.0, 32.0, -32.0, 1.0 / 32.0, -1.0 / 32.0, 243.0 / 1024.0, -243.0 / 1024.0, 3125.0 / 1024.0, -3125.0 / 1024.0, 1.0],
    ];

    /// `m · s` over vectors of 16 lanes, in f64.
    fn times<const N: usize>(m: &[[f32; N]], s: &[[f32; 16]; N]) -> Vec<f64> {
        m.iter()
            .flat_map(|row| {
                (0..16).map(move |c| (0..N).map(|i| row[i] as f64 * s[i][c] as f64).sum())
            })
            .collect()
    }

    /// The factored transforms compute the matrices' products.
    #[test]
    fn factored_transforms_equal_the_matrices() {
        let x = data(8 * 16, 4);
        let s: [[f32; 16]; 8] =
            std::array::from_fn(|i| x[i * 16..(i + 1) * 16].try_into().unwrap());
        close(bt(s).as_flattened(), &times(&BT, &s), "Bᵀ");
        close(at(s).as_flattened(), &times(&AT, &s), "Aᵀ");
        let s6: [[f32; 16]; 6] = std::array::from_fn(|i| s[i]);
        close(bt6(s6).as_flattened(), &times(&BT6, &s6), "Bᵀ (6)");
        close(at6(s6).as_flattened(), &times(&AT6, &s6), "Aᵀ (6)");
        let x = data(10 * 16, 5);
        let s10: [[f32; 16]; 10] =
            std::array::from_fn(|i| x[i * 16..(i + 1) * 16].try_into().unwrap());
        close(bt10(s10).as_flattened(), &times(&BT10, &s10), "Bᵀ (10)");
        close(at10(s10).as_flattened(), &times(&AT10, &s10), "Aᵀ (10)");
    }

    /// The tiles of the forward correlation cover each output pixel once: 4x4 tiles alone, or
    /// 6x6 ones with 6x2 and 2x6 tiles where 6x6 ones would waste more than four rows or
    /// columns.
    #[test]
    fn tiles_cover_the_output_once() {
        for ho in 1..14 {
            for wo in 1..14 {
                let geo = Geometry {
                    hi: ho,
                    wi: wo,
                    ci: 1,
                    ho,
                    wo,
                    co: 1,
                    pt: 2,
                    pl: 2,
                };
                let uniform = [(geo.tiles::<TILE, TILE>(false), 4, 4)];
                let border = [
                    (geo.tiles::<TILE_L, TILE_L>(true), 6, 6),
                    (geo.tiles::<TILE_L, TILE_S>(true), 6, 2),
                    (geo.tiles::<TILE_S, TILE_L>(true), 2, 6),
                    (geo.tiles::<TILE, TILE>(true), 4, 4),
                ];
                let covers = |kinds: &[(Tiles, usize, usize)]| {
                    let mut seen = vec![0; ho * wo];
                    let mut points = 0;
                    for (grid, th, tw) in kinds {
                        for t in 0..grid.per_image() {
                            let c = grid.locate(t);
                            assert_eq!(c.img, 0);
                            for oy in c.oy..(c.oy + th).min(ho) {
                                for ox in c.ox..(c.ox + tw).min(wo) {
                                    seen[oy * wo + ox] += 1;
                                }
                            }
                            points += (th + 4) * (tw + 4);
                        }
                    }
                    assert!(seen.iter().all(|&s| s == 1), "{ho}x{wo}: {seen:?}");
                    points
                };
                let (four, six) = (covers(&uniform), covers(&border));
                assert_eq!(four, 64 * ho.div_ceil(4) * wo.div_ceil(4));
                // Large tiles cost more only where a side is 3 or 4 outputs long, or by their
                // 6x10 corner tile.
                if ![3, 4].contains(&ho) && ![3, 4].contains(&wo) {
                    assert!(10 * six <= 11 * four, "{ho}x{wo}: {six} vs {four}");
                }
                if (ho, wo) == (14, 14) {
                    assert_eq!((four, six), (1024, 700));
                }
            }
        }
    }

    #[test]
    fn single_channel_forward_matches_the_definition() {
        for &(n, h, w, co, pad) in &[
            (3, 28, 28, 32, Padding::Same),
            (2, 7, 9, 16, Padding::Same),
            (1, 6, 5, 20, Padding::Valid),
            (17, 1, 2, 16, Padding::Same),
        ] {
            let win = Window::new(&[n, h, w, 1], (5, 5), (1, 1), pad).unwrap();
            assert_eq!(fast(&win, co), ConvKernel::WinogradSingle);
            let x = data(n * h * w, 1);
            let f = data(25 * co, 2);
            let out_len = n * win.oh * win.ow * co;
            let mut want = vec![0f64; out_len];
            each_product(&win, co, |o, i, t| want[o] += x[i] as f64 * f[t] as f64);
            let u = filter_transform(&f, co, &G, &G);
            let mut y = vec![f32::NAN; out_len];
            Single::new(&f, &win, co).run(&x, &mut y);
            close(&y, &want, &format!("{n}x{h}x{w} -> {co}"));
            let mut y2 = vec![f32::NAN; out_len];
            single_images::<[f32; 16]>(&win, co, &x, &u, &mut y2);
            close(&y2, &want, &format!("portable {n}x{h}x{w} -> {co}"));
        }
    }

    #[test]
    fn forward_and_both_gradients_match_the_definition() {
        for &(n, h, w, c, co, pad) in &[
            (2, 14, 14, 32, 64, Padding::Same),
            (3, 7, 9, 8, 19, Padding::Same),
            (1, 11, 6, 9, 70, Padding::Valid),
            (2, 5, 5, 17, 8, Padding::Valid),
            (1, 1, 3, 8, 8, Padding::Same),
            (2, 10, 6, 8, 16, Padding::Same),
            (40, 13, 5, 8, 8, Padding::Same),
        ] {
            let win = Window::new(&[n, h, w, c], (5, 5), (1, 1), pad).unwrap();
            assert_eq!(fast(&win, co), ConvKernel::Winograd);
            let x = data(n * h * w * c, 1);
            let f = data(25 * c * co, 2);
            let out_len = n * win.oh * win.ow * co;
            let dy = data(out_len, 3);
            // y[o] = Σ x[i] f[t]; dx[i] = Σ dy[o] f[t]; df[t] = Σ x[i] dy[o], over the products.
            let mut y_want = vec![0f64; out_len];
            let mut y_size = vec![0f64; out_len];
            let mut dx_want = vec![0f64; x.len()];
            let mut df_want = vec![0f64; f.len()];
            each_product(&win, co, |o, i, t| {
                y_want[o] += x[i] as f64 * f[t] as f64;
                y_size[o] += (x[i] as f64 * f[t] as f64).abs();
                dx_want[i] += dy[o] as f64 * f[t] as f64;
                df_want[t] += x[i] as f64 * dy[o] as f64;
            });

            let mut y = vec![f32::NAN; out_len];
            Forward::new(&f, &win, co).run(&x, &mut y);
            close(&y, &y_want, "y");
            let mut dx = vec![f32::NAN; x.len()];
            conv2d_backprop_input(&dy, &f, &win, co, &mut dx);
            close(&dx, &dx_want, "dx");
            let mut df = vec![f32::NAN; f.len()];
            conv2d_backprop_filter(&x, &dy, &win, co, &mut df);
            close(&df, &df_want, "df");

            // With border tiles or without (these batches are too small to choose them),
            // and with the portable arithmetic too, whatever this CPU has.
            let geo = Geometry::forward(&win, co);
            for border in [false, true] {
                let u = Filters::new(&f, c * co, border);
                let mut y2 = vec![f32::NAN; out_len];
                correlate(Portable, &geo, &x, &u, &mut y2);
                let mut y3 = vec![f32::NAN; out_len];
                correlate_fastest(&geo, &x, &u, &mut y3);
                for (y, how) in [(&y2, "portable"), (&y3, "fastest")] {
                    let what = format!("{how} y, border tiles {border}");
                    if border {
                        // F(6x6, 5x5) rounds about six times as coarsely as F(4x4, 5x5)
                        // (at most 2.5e-5 of the products' magnitudes in these cases).
                        for (i, ((&g, &w), &size)) in y.iter().zip(&y_want).zip(&y_size).enumerate()
                        {
                            assert!(
                                (g as f64 - w).abs() <= 1e-4 * size,
                                "{what}[{i}]: {g} vs {w}"
                            );
                        }
                    } else {
                        close(y, &y_want, &what);
                    }
                }
            }
            let mut df2 = vec![f32::NAN; f.len()];
            filter_gradient(Portable, &geo, n, &x, &dy, &mut df2);
            close(&df2, &df_want, "portable df");
        }
    }
}
