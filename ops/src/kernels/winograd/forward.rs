//! The forward correlation: [`Forward`] over any number of channels, [`Single`] over one.

use rayon::prelude::*;

use super::arith::{Arith, Lanes};
use super::portable::Portable;
use super::tiles::{input_tile, output_tile_of, transform_inputs, Corner, Geometry};
use super::transforms::{filter_matrix, filter_transform, G};
use super::{BLOCK_POINTS, OUT, P, PADDED, SCRATCH, TILE, TILE3, TILE_BLOCK, TILE_L, TILE_S};
use crate::kernels::direct::pad_image;
use crate::kernels::window::Window;

/// The forward convolution of `x` with the HWIO filter `f`, as
/// [`crate::kernels::conv::conv2d_forward`] defines it, with the filter transformed once;
/// it runs over groups of whole images, for the problems that
/// [`ConvProblem::select`](crate::kernels::conv::ConvProblem::select) gives it.
pub(crate) struct Forward {
    geo: Geometry,
    u: Filters,
}

impl Forward {
    pub(crate) fn new(f: &[f32], win: &Window, co: usize) -> Forward {
        Forward {
            geo: Geometry::forward(win, co),
            u: Filters::new(f, win.c * co, win.kh, border_tiles(win.n, win.kh)),
        }
    }

    /// Images per parallel task when there are `n`.
    pub(crate) fn group(&self, n: usize) -> usize {
        image_group(n, self.geo.r)
    }

    /// The convolution of the images of `x` into `y` (as many images as `y` holds), on this
    /// thread.
    pub(crate) fn run(&self, x: &[f32], y: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if let Some(a) = super::avx512::Avx512::detect() {
            return correlate_images(&a, &self.geo, x, &self.u, y);
        }
        correlate_images(&Portable, &self.geo, x, &self.u, y)
    }
}

/// The forward convolution of a single-channel input (see
/// [`ConvProblem::select`](crate::kernels::conv::ConvProblem::select)), 4x4 tiles
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
            u: filter_transform(f, co, 5, &G, &G),
        }
    }

    /// The convolution of the images of `x` into `y` (as many images as `y` holds), on this
    /// thread.
    pub(crate) fn run(&self, x: &[f32], y: &mut [f32]) {
        #[cfg(target_arch = "x86_64")]
        if super::avx512::Avx512::detect().is_some() {
            // SAFETY: the CPU has AVX-512F.
            return unsafe { super::avx512::single_images(&self.win, self.co, x, &self.u, y) };
        }
        single_images::<[f32; 16]>(&self.win, self.co, x, &self.u, y)
    }
}

/// [`Single::run`] with the vector type `V`.
#[inline(always)]
pub(super) fn single_images<V: Lanes>(
    win: &Window,
    co: usize,
    x: &[f32],
    u: &[f32],
    y: &mut [f32],
) {
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
        r: 5,
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
pub(super) const BORDER_GROUP: usize = 8;

/// Whether a correlation of `n` images with an `r x r` window uses border tiles
/// ([`Geometry::tiles`]): 5x5 windows where there are enough images for 16 parallel tasks
/// of [`BORDER_GROUP`] (a training batch of 50 goes faster one image per task and 4x4 tiles
/// throughout).
pub(super) fn border_tiles(n: usize, r: usize) -> bool {
    r == 5 && n >= 16 * BORDER_GROUP
}

/// Images per parallel task of a correlation of `n` images with an `r x r` window.
pub(super) fn image_group(n: usize, r: usize) -> usize {
    if border_tiles(n, r) {
        BORDER_GROUP
    } else {
        1
    }
}

/// A filter transformed for each kind of tile of [`Geometry::tiles`]: without `border` tiles,
/// 8 x 8 points (5x5 windows) or 6 x 6 (3x3); with them (5x5) 10 x 10, 10 x 6 and 6 x 10.
pub(super) struct Filters {
    pub(super) border: bool,
    /// The 4x4 tiles' or the 6x6 tiles'.
    pub(super) main: Vec<f32>,
    /// The 10 x 6 tiles' of the last columns.
    pub(super) right: Vec<f32>,
    /// The 6 x 10 tiles' of the last rows.
    pub(super) bottom: Vec<f32>,
}

impl Filters {
    /// The transforms of the `len = ci * co` filters of the `r x r` HWIO `f`.
    pub(super) fn new(f: &[f32], len: usize, r: usize, border: bool) -> Filters {
        if !border {
            let main = match r {
                3 => {
                    let g = filter_matrix::<TILE3>(r);
                    filter_transform(f, len, r, &g, &g)
                }
                _ => {
                    let g = filter_matrix::<TILE>(r);
                    filter_transform(f, len, r, &g, &g)
                }
            };
            return Filters {
                border,
                main,
                right: Vec::new(),
                bottom: Vec::new(),
            };
        }
        let (large, short) = (filter_matrix::<TILE_L>(r), filter_matrix::<TILE_S>(r));
        Filters {
            border,
            main: filter_transform(f, len, r, &large, &large),
            right: filter_transform(f, len, r, &large, &short),
            bottom: filter_transform(f, len, r, &short, &large),
        }
    }
}

/// Runs the correlation `geo` of `x` with the transformed filter `u` into `y` (overwritten):
/// groups of whole images in parallel.
pub(super) fn correlate<A: Arith>(arith: A, geo: &Geometry, x: &[f32], u: &Filters, y: &mut [f32]) {
    let out_img = geo.ho * geo.wo * geo.co;
    if y.is_empty() || out_img == 0 {
        return;
    }
    let group = image_group(y.len() / out_img, geo.r);
    let in_img = geo.hi * geo.wi * geo.ci;
    y.par_chunks_mut(group * out_img)
        .enumerate()
        .for_each(|(gi, yg)| correlate_images(&arith, geo, &x[gi * group * in_img..], u, yg));
}

/// The correlation of the first images of `x` into `y` (as many as `y` holds), on this
/// thread: each kind of tile of [`Geometry::tiles`] in blocks of [`TILE_BLOCK`] tiles.
pub(super) fn correlate_images<A: Arith>(
    arith: &A,
    geo: &Geometry,
    x: &[f32],
    u: &Filters,
    y: &mut [f32],
) {
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
        } else if geo.r == 3 {
            scratch.run::<A, TILE3, TILE3>(arith, geo, x, u, images);
        } else {
            scratch.run::<A, TILE, TILE>(arith, geo, x, u, images);
        }
    });
}

/// A block's transformed inputs `v` and products `m`, and the output `y` of its images.
pub(super) struct Block<'a> {
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
        let u = match (u.border, TH, TW) {
            (true, TILE_S, _) => &u.bottom,
            (true, _, TILE_S) => &u.right,
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
pub(super) fn correlate_fastest(geo: &Geometry, x: &[f32], u: &Filters, y: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    if let Some(a) = super::avx512::Avx512::detect() {
        return correlate(a, geo, x, u, y);
    }
    correlate(Portable, geo, x, u, y)
}
