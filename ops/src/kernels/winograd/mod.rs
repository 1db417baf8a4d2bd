//! Winograd's minimal filtering F(4x4, r x r) for `r x r` windows at stride 1 (r = 3 or 5),
//! forward and both gradients: `(4 + r - 1)²` multiplications per 4x4 output tile instead
//! of `16 r²`, 36 instead of 144 for 3x3 and 64 instead of 400 for 5x5 (Lavin & Gray, "Fast
//! Algorithms for Convolutional Neural Networks", 2015). The code is written once over the
//! kernel size; [`transforms`] holds the matrices, derived per size.
//!
//! With `N = 4 + r - 1` interpolation points (0, ±1, ±2, ±1/2 and ∞ for 5x5; 0, ±1, ±2 and
//! ∞ for 3x3), a 4x4 output tile `Y` of the correlation of an `N x N` input tile `d` with
//! an `r x r` filter `g` is `Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A`. Per block of tiles the kernel
//! transforms the inputs (`V`, `N²` vectors of input channels per tile), then multiplies,
//! for each point, the tiles' `V` rows by the transformed filter `U` (`in_channels x
//! out_channels`), then transforms the products back. For 5x5 the halves ±1/2 keep the
//! transforms' coefficients small: in f32 the result stays within 2x of F(2x2, 5x5)'s
//! rounding error, which is itself within 2x of a direct sum's. For 3x3 the six points are
//! Lavin & Gray's; their error, measured in the tests against the sum of the products'
//! magnitudes, is 3.4e-6 at most (5.7e-5 for 5x5). Against TensorFlow's float32 test
//! tolerance (1e-4 absolute + 1e-4 relative), F(4x4, 5x5) on unit-scale data with 32 input
//! and 64 output channels uses up to 0.8x (forward), 2.6x (input gradient) and 1.3x (filter
//! gradient), where direct sums use at most 0.17x.
//!
//! 5x5 calls of 128 images or more (evaluation) use larger tiles in the forward correlation:
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
//! A single input channel has a 5x5 forward kernel of its own, [`Single`]: its products
//! are element-wise, so they are made inside the output transform.
//!
//! Files: [`transforms`] (matrices and their factored forms), [`tiles`] (geometry and one
//! tile's transforms), [`forward`], [`input_grad`], [`filter_grad`], and the arithmetic
//! they are generic over ([`arith`]): [`portable`] for any CPU, [`avx512`] chosen at run
//! time where the CPU has it.
//!
//! Layouts, tile-major so that each tile's data is contiguous: `V[tile][point][ci]`,
//! `U[point][ci][co]`, `M[tile][point][co]`.

use std::cell::RefCell;

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

/// Points of the 8x8 transform of F(4x4, 5x5).
const P: usize = TILE * TILE;

/// Input tile side of F(4x4, 3x3): `OUT` outputs of a 3-wide window.
const TILE3: usize = OUT + 2;

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

thread_local! {
    static SCRATCH: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
    /// A padded image of [`Single`].
    static PADDED: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

mod arith;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod filter_grad;
mod forward;
mod input_grad;
mod portable;
#[cfg(test)]
mod tests;
mod tiles;
mod transforms;

pub(crate) use filter_grad::conv2d_backprop_filter;
pub(crate) use forward::{Forward, Single};
pub(crate) use input_grad::conv2d_backprop_input;
