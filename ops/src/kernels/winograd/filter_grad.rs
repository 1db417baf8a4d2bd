//! The filter gradient: products of transformed inputs and output gradients, summed over
//! the tiles, then transformed back.

use rayon::prelude::*;

use super::arith::Arith;
use super::portable::Portable;
use super::tiles::{transform_inputs, Corner, Geometry, Tiles};
use super::transforms::filter_matrix;
use super::{GRAD_TILE_BLOCK, OUT, SCRATCH, TILE, TILE3};
use crate::kernels::window::Window;

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
    if let Some(a) = super::avx512::Avx512::detect() {
        return filter_gradient(a, &geo, win.n, x, dy, df);
    }
    filter_gradient(Portable, &geo, win.n, x, dy, df)
}

/// At most this many partial filter gradients are summed.
pub(super) const GRAD_GROUPS: usize = 8;

/// The filter gradient of the correlation `geo` over `n` images, by 4x4 tiles of F(4x4,
/// r x r).
pub(super) fn filter_gradient<A: Arith>(
    arith: A,
    geo: &Geometry,
    n: usize,
    x: &[f32],
    dy: &[f32],
    df: &mut [f32],
) {
    match geo.r {
        3 => filter_gradient_of::<A, TILE3>(arith, geo, n, x, dy, df),
        _ => filter_gradient_of::<A, TILE>(arith, geo, n, x, dy, df),
    }
}

/// [`filter_gradient`] with input tiles of side `T = 4 + r - 1`.
fn filter_gradient_of<A: Arith, const T: usize>(
    arith: A,
    geo: &Geometry,
    n: usize,
    x: &[f32],
    dy: &[f32],
    df: &mut [f32],
) {
    let (len, r, np) = (geo.ci * geo.co, geo.r, T * T);
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
            let mut du = vec![0f32; np * len];
            let tb = GRAD_TILE_BLOCK.min(range.len());
            let (v_len, w_len) = (tb * np * geo.ci, tb * np * geo.co);
            let t_len = (OUT * OUT + OUT * T) * geo.co;
            SCRATCH.with(|cell| {
                let mut buf = cell.borrow_mut();
                if buf.len() < v_len + w_len + t_len {
                    buf.resize(v_len + w_len + t_len, 0.0);
                }
                let (v, rest) = buf.split_at_mut(v_len);
                let (w, tmp) = rest.split_at_mut(w_len);
                for t0 in range.clone().step_by(tb) {
                    let tiles = t0..(t0 + tb).min(range.end);
                    transform_inputs::<A, T, T>(&arith, geo, x, &grid, tiles.clone(), v);
                    transform_output_grads::<A, T>(&arith, geo, &grid, dy, tiles.clone(), w, tmp);
                    arith.grad_products(geo.ci, geo.co, tiles.len(), np, v, w, &mut du);
                }
            });
            du
        })
        .collect();
    let mut du = vec![0f32; np * len];
    for p in &partials {
        du.iter_mut().zip(p).for_each(|(a, &b)| *a += b);
    }
    // df[a][b] = Σ_{xi,nu} G[xi][a] dU[xi][nu] G[nu][b].
    let g = filter_matrix::<T>(r);
    let mut tmp = vec![0f32; r * T * len]; // tmp[a][nu] = Σ_xi G[xi][a] dU[xi][nu]
    for a in 0..r {
        for nu in 0..T {
            let dst = &mut tmp[(a * T + nu) * len..(a * T + nu + 1) * len];
            for (xi, grow) in g.iter().enumerate() {
                if grow[a] != 0.0 {
                    let src = &du[(xi * T + nu) * len..(xi * T + nu + 1) * len];
                    dst.iter_mut()
                        .zip(src)
                        .for_each(|(d, &s)| *d += grow[a] * s);
                }
            }
        }
    }
    for a in 0..r {
        for b in 0..r {
            let dst = &mut df[(a * r + b) * len..(a * r + b + 1) * len];
            for (nu, grow) in g.iter().enumerate() {
                if grow[b] != 0.0 {
                    let src = &tmp[(a * T + nu) * len..(a * T + nu + 1) * len];
                    dst.iter_mut()
                        .zip(src)
                        .for_each(|(d, &s)| *d += grow[b] * s);
                }
            }
        }
    }
}

/// `W[t] = A dY Aᵀ` for each output tile `t` of `tiles` (of `grid`): the 4x4
/// output-gradient tile (zeros past the output's edge) spread over the `T x T` points, into
/// `w` (`[tile][T * T][co]`).
fn transform_output_grads<A: Arith, const T: usize>(
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
        let (cols, _) = rest.split_at_mut(OUT * T * co);
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
            arith.spread::<T>(s, &mut cols[j * T * co..(j + 1) * T * co]);
        }
        let wt = &mut w[t * T * T * co..(t + 1) * T * T * co];
        for xi in 0..T {
            let s = std::array::from_fn(|j| &cols[(j * T + xi) * co..(j * T + xi + 1) * co]);
            arith.spread::<T>(s, &mut wt[xi * T * co..(xi + 1) * T * co]);
        }
    }
}
