//! Tile geometry: the correlation a kernel computes, the grids of tiles that cover its
//! output, and the transforms of one tile's inputs and products.

use super::arith::{Arith, Lanes};
use super::transforms::{array, at_side, bt_side};
use super::{OUT, OUT_L, OUT_S, TILE_L, TILE_S};
use crate::kernels::window::Window;

/// A stride-1 `r x r` correlation: `y[n, oy, ox, :] = Σ_{t,u} x[n, oy + t - pt, ox + u - pl,
/// :] · f[t, u]`, input `[n, hi, wi, ci]`, output `[n, ho, wo, co]`; reads outside the input
/// are 0.
#[derive(Clone, Copy)]
pub(super) struct Geometry {
    pub(super) hi: usize,
    pub(super) wi: usize,
    pub(super) ci: usize,
    pub(super) ho: usize,
    pub(super) wo: usize,
    pub(super) co: usize,
    pub(super) pt: isize,
    pub(super) pl: isize,
    /// The window's size (3 or 5).
    pub(super) r: usize,
}

impl Geometry {
    /// The forward convolution's correlation over `win` with `co` output channels.
    pub(super) fn forward(win: &Window, co: usize) -> Geometry {
        Geometry {
            hi: win.h,
            wi: win.w,
            ci: win.c,
            ho: win.oh,
            wo: win.ow,
            co,
            pt: win.pad_top as isize,
            pl: win.pad_left as isize,
            r: win.kh,
        }
    }

    /// The input side of a 4x4 output tile, F(4x4, r x r).
    pub(super) fn tile(&self) -> usize {
        OUT + self.r - 1
    }

    /// The 4x4 tiles that cover the whole output (the filter gradient's).
    pub(super) fn uniform(&self) -> Tiles {
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
    pub(super) fn tiles<const TH: usize, const TW: usize>(&self, border: bool) -> Tiles {
        // No tiles (one column, so that the grid stays well formed).
        let none = Tiles {
            rows: 0,
            cols: 1,
            step: OUT,
            oy0: 0,
            ox0: 0,
        };
        if !border {
            return if TH == self.tile() && TW == self.tile() {
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
pub(super) struct Tiles {
    pub(super) rows: usize,
    pub(super) cols: usize,
    pub(super) step: usize,
    pub(super) oy0: usize,
    pub(super) ox0: usize,
}

impl Tiles {
    pub(super) fn per_image(&self) -> usize {
        self.rows * self.cols
    }

    /// The image and first output row and column of tile number `tile`.
    pub(super) fn locate(&self, tile: usize) -> Corner {
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
pub(super) struct Corner {
    pub(super) img: usize,
    pub(super) oy: usize,
    pub(super) ox: usize,
}

/// `V[t] = Bᵀ d B` for each tile `t` of `tiles` (of `grid`, with `TH x TW` inputs) of the
/// input `x`, into `v` (`[tile][TH * TW][ci]`).
pub(super) fn transform_inputs<A: Arith, const TH: usize, const TW: usize>(
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
pub(super) fn input_tile<V: Lanes, const TH: usize, const TW: usize>(
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
pub(super) fn output_tile<V: Lanes, const TH: usize, const TW: usize>(
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
pub(super) fn output_tile_of<V: Lanes, const TH: usize, const TW: usize>(
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
pub(super) fn output_pixels<
    V: Lanes,
    const TH: usize,
    const TW: usize,
    const OH: usize,
    const OW: usize,
>(
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
