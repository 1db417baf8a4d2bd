//! The arithmetic a kernel is generic over: vectors of lanes for the factored transforms,
//! and a block's transforms and products; [`super::portable`] and [`super::avx512`]
//! implement them, chosen at run time.

use super::tiles::{Corner, Geometry};
use super::OUT;

/// The vector arithmetic of the factored transforms: [`Portable`](super::portable::Portable) works on arrays of 16
/// floats, AVX-512 on registers.
pub(super) trait Lanes: Copy {
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

/// The arithmetic of a block: the transforms of a tile over vectors of channels, and the 64
/// products.
pub(super) trait Arith: Sync + Send {
    /// [`input_tile`](super::tiles::input_tile).
    fn input_tile<const TH: usize, const TW: usize>(
        &self,
        geo: &Geometry,
        x: &[f32],
        at: Corner,
        vt: &mut [f32],
    );
    /// [`output_tile`](super::tiles::output_tile).
    fn output_tile<const TH: usize, const TW: usize>(
        &self,
        geo: &Geometry,
        mt: &[f32],
        at: Corner,
        y: &mut [f32],
    );
    /// `A` of the `N` (8 or 6) points applied to four equally long vectors `s`, into the `N`
    /// consecutive pieces of `out`.
    fn spread<const N: usize>(&self, s: [&[f32]; OUT], out: &mut [f32]);
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
    /// `dU[p] += Σ_t V[t][p]ᵀ · W[t][p]` for the `n_t` tiles of a block and their `np` points.
    #[allow(clippy::too_many_arguments)]
    fn grad_products(
        &self,
        ci: usize,
        co: usize,
        n_t: usize,
        np: usize,
        v: &[f32],
        w: &[f32],
        du: &mut [f32],
    );
}
