//! Plain Rust arithmetic on arrays of 16 floats, for any CPU.

use super::arith::{Arith, Lanes};
use super::tiles::{input_tile, output_tile, Corner, Geometry};
use super::transforms::{A, A6};
use super::{OUT, TILE};

/// Plain Rust arithmetic, for any CPU.
#[derive(Clone, Copy)]
pub(super) struct Portable;

/// `out[o] = Σ_i m[o][i] · s[i]` over vectors `s[i]` of equal length, into the `O`
/// consecutive pieces of `out`.
pub(super) fn apply<const I: usize, const O: usize>(
    m: &[[f32; I]; O],
    s: [&[f32]; I],
    out: &mut [f32],
) {
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

    fn spread<const N: usize>(&self, s: [&[f32]; OUT], out: &mut [f32]) {
        match N {
            TILE => apply(&A, s, out),
            _ => apply(&A6, s, out),
        }
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
        for t in 0..n_t {
            for p in 0..np {
                let wrow = &w[(t * np + p) * co..(t * np + p + 1) * co];
                let vrow = &v[(t * np + p) * ci..(t * np + p + 1) * ci];
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
