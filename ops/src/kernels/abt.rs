//! `C = A · Bᵀ` for row-major A `[m, k]` and B `[n, k]`: every output is a dot product of two
//! contiguous rows. The `gemm` crate packs a transposed right operand slowly (about 25 GFLOP/s
//! at a fully-connected layer's input gradient, 50x1024 · (3136x1024)ᵀ); this kernel streams
//! B once and keeps A in cache, with AVX-512 where the CPU has it.

use rayon::prelude::*;

/// Rows of B per parallel task.
const ROWS_PER_TASK: usize = 64;

/// `c[i * n + j] = Σ_k a[i * k + kk] * b[j * k + kk]` (or `+=` with `accumulate`).
pub fn abt(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], c: &mut [f32], accumulate: bool) {
    assert!(
        a.len() >= m * k && b.len() >= n * k && c.len() >= m * n,
        "abt: slices too short"
    );
    // Work on column blocks of C (row blocks of B), so each task owns whole output columns.
    // C is row-major, so a task writes a strided set of entries: collect per task, then copy.
    let blocks: Vec<(usize, Vec<f32>)> = (0..n.div_ceil(ROWS_PER_TASK))
        .into_par_iter()
        .map(|t| {
            let j0 = t * ROWS_PER_TASK;
            let nj = ROWS_PER_TASK.min(n - j0);
            let mut out = vec![0f32; m * nj];
            block(m, nj, k, a, &b[j0 * k..(j0 + nj) * k], &mut out);
            (j0, out)
        })
        .collect();
    for (j0, out) in blocks {
        let nj = out.len() / m.max(1);
        for i in 0..m {
            let dst = &mut c[i * n + j0..i * n + j0 + nj];
            let src = &out[i * nj..(i + 1) * nj];
            if accumulate {
                dst.iter_mut().zip(src).for_each(|(d, s)| *d += s);
            } else {
                dst.copy_from_slice(src);
            }
        }
    }
}

/// One block: `out[i * nj + j] = a_i · b_j`.
fn block(m: usize, nj: usize, k: usize, a: &[f32], b: &[f32], out: &mut [f32]) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU supports AVX-512F (checked above); the slices hold m*k, nj*k and
            // m*nj elements, which is all `block_avx512` reads or writes.
            unsafe { block_avx512(m, nj, k, a, b, out) };
            return;
        }
    }
    for i in 0..m {
        for j in 0..nj {
            out[i * nj + j] = dot(&a[i * k..(i + 1) * k], &b[j * k..(j + 1) * k]);
        }
    }
}

fn dot(x: &[f32], y: &[f32]) -> f32 {
    // Eight independent partial sums, so the compiler can vectorize without reassociating.
    let mut acc = [0f32; 8];
    let (xc, yc) = (x.chunks_exact(8), y.chunks_exact(8));
    let tail: f32 = xc
        .remainder()
        .iter()
        .zip(yc.remainder())
        .map(|(p, q)| p * q)
        .sum();
    for (p, q) in xc.zip(yc) {
        for l in 0..8 {
            acc[l] += p[l] * q[l];
        }
    }
    acc.iter().sum::<f32>() + tail
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn block_avx512(m: usize, nj: usize, k: usize, a: &[f32], b: &[f32], out: &mut [f32]) {
    use std::arch::x86_64::*;
    let (ap, bp) = (a.as_ptr(), b.as_ptr());
    let k16 = k / 16 * 16;
    // 4x4 tiles of (rows of A) x (rows of B), 16 accumulators of 16 lanes.
    let mut i0 = 0;
    while i0 < m {
        let mi = (m - i0).min(4);
        let mut j0 = 0;
        while j0 < nj {
            let mj = (nj - j0).min(4);
            let mut acc = [[_mm512_setzero_ps(); 4]; 4];
            let mut kk = 0;
            if mi == 4 && mj == 4 {
                while kk < k16 {
                    let vb = [
                        _mm512_loadu_ps(bp.add(j0 * k + kk)),
                        _mm512_loadu_ps(bp.add((j0 + 1) * k + kk)),
                        _mm512_loadu_ps(bp.add((j0 + 2) * k + kk)),
                        _mm512_loadu_ps(bp.add((j0 + 3) * k + kk)),
                    ];
                    for (ii, row) in acc.iter_mut().enumerate() {
                        let va = _mm512_loadu_ps(ap.add((i0 + ii) * k + kk));
                        for (jj, x) in row.iter_mut().enumerate() {
                            *x = _mm512_fmadd_ps(va, vb[jj], *x);
                        }
                    }
                    kk += 16;
                }
            } else {
                while kk < k16 {
                    for (ii, row) in acc.iter_mut().enumerate().take(mi) {
                        let va = _mm512_loadu_ps(ap.add((i0 + ii) * k + kk));
                        for (jj, x) in row.iter_mut().enumerate().take(mj) {
                            let vb = _mm512_loadu_ps(bp.add((j0 + jj) * k + kk));
                            *x = _mm512_fmadd_ps(va, vb, *x);
                        }
                    }
                    kk += 16;
                }
            }
            for ii in 0..mi {
                for jj in 0..mj {
                    let mut s = _mm512_reduce_add_ps(acc[ii][jj]);
                    for t in k16..k {
                        s += *ap.add((i0 + ii) * k + t) * *bp.add((j0 + jj) * k + t);
                    }
                    out[(i0 + ii) * nj + j0 + jj] = s;
                }
            }
            j0 += 4;
        }
        i0 += 4;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_a_naive_product_on_ragged_shapes() {
        for (m, n, k) in [
            (1, 1, 1),
            (5, 7, 3),
            (50, 130, 1024),
            (9, 67, 33),
            (4, 4, 16),
        ] {
            let a: Vec<f32> = (0..m * k)
                .map(|i| ((i * 7 % 13) as f32 - 6.0) / 8.0)
                .collect();
            let b: Vec<f32> = (0..n * k)
                .map(|i| ((i * 5 % 11) as f32 - 5.0) / 4.0)
                .collect();
            let mut c = vec![1f32; m * n];
            abt(m, n, k, &a, &b, &mut c, true);
            for i in 0..m {
                for j in 0..n {
                    let want: f64 = 1.0
                        + (0..k)
                            .map(|t| a[i * k + t] as f64 * b[j * k + t] as f64)
                            .sum::<f64>();
                    let got = c[i * n + j] as f64;
                    assert!(
                        (got - want).abs() <= 1e-4 * (1.0 + want.abs()),
                        "({m},{n},{k}) [{i},{j}] {got} vs {want}"
                    );
                }
            }
        }
    }
}
