//! AVX-512 arithmetic, for CPUs that have it (detected at run time).

use super::arith::{Arith, Lanes};
use super::tiles::{Corner, Geometry};
use super::transforms::{A, A6};
use super::{OUT, TILE};
use crate::kernels::bcast::avx512::{block, lanes};
use crate::kernels::window::Window;
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
    fn spread<const N: usize>(&self, s: [&[f32]; OUT], out: &mut [f32]) {
        // SAFETY: as above.
        unsafe { spread::<N>(s, out) }
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
        np: usize,
        v: &[f32],
        w: &[f32],
        du: &mut [f32],
    ) {
        // SAFETY: as above.
        unsafe { grad_products(ci, co, n_t, np, v, w, du) }
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
    super::tiles::input_tile::<__m512, TH, TW>(geo, x, at, vt)
}

#[target_feature(enable = "avx512f")]
unsafe fn output_tile<const TH: usize, const TW: usize>(
    geo: &Geometry,
    mt: &[f32],
    at: Corner,
    y: &mut [f32],
) {
    super::tiles::output_tile::<__m512, TH, TW>(geo, mt, at, y)
}

/// [`super::forward::single_images`] with AVX-512.
///
/// # Safety
/// The CPU must support AVX-512F.
#[target_feature(enable = "avx512f")]
pub(super) unsafe fn single_images(win: &Window, co: usize, x: &[f32], u: &[f32], y: &mut [f32]) {
    super::forward::single_images::<__m512>(win, co, x, u, y)
}

#[target_feature(enable = "avx512f")]
unsafe fn spread<const N: usize>(s: [&[f32]; OUT], out: &mut [f32]) {
    match N {
        TILE => apply(&A, s, out),
        _ => apply(&A6, s, out),
    }
}

/// `dU[p] += Σ_t V[t][p]ᵀ · W[t][p]`, per point a product with K = the block's tiles.
#[target_feature(enable = "avx512f")]
unsafe fn grad_products(
    ci: usize,
    co: usize,
    n_t: usize,
    np: usize,
    v: &[f32],
    w: &[f32],
    du: &mut [f32],
) {
    assert!(v.len() >= n_t * np * ci && w.len() >= n_t * np * co && du.len() >= np * ci * co);
    for p in 0..np {
        for k0 in (0..co).step_by(64) {
            // A[c][t] = V[t][p][c], B[t][k] = W[t][p][k], C = dU[p].
            block(
                ci,
                (co - k0).min(64),
                n_t,
                v.as_ptr().add(p * ci),
                (1, np * ci),
                w.as_ptr().add(p * co + k0),
                np * co,
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
