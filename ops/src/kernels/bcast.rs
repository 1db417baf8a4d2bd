//! A register-blocked product for operands the `gemm` crate handles poorly: a short side of
//! at most 64 (a fully-connected layer over a small batch: `x · W` has a short M, `xᵀ · dy`
//! a short K),
//! the Winograd kernels' many small products, and direct convolution's rows of patches.
//!
//! The kernel keeps a block of C (6 rows x 64 columns, 8 x 32 or 24 x 16) in AVX-512
//! registers; each step over K loads a row piece of B and broadcasts one element of A per
//! row. A may have any strides (or gathered columns); B and C have contiguous rows.

use rayon::prelude::*;

use super::gemm::MatRef;

/// Columns of C per parallel task.
const PANEL: usize = 64;

/// Rows of K per pass, so that a panel of B (`K_BLOCK x 64`) stays in L2 while every row of
/// A goes by.
const K_BLOCK: usize = 256;

/// Whether this CPU runs the kernel.
pub(crate) fn avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        is_x86_feature_detected!("avx512f")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// A raw pointer to C shared by the tasks, each of which writes its own part of C (its
/// columns here, its rectangle in `packed.rs`).
#[derive(Clone, Copy)]
pub(crate) struct SharedOut(*mut f32);
// SAFETY: tasks write disjoint parts of C (see `gemm` here and in `packed.rs`).
unsafe impl Send for SharedOut {}
unsafe impl Sync for SharedOut {}

impl SharedOut {
    /// The start of `c`.
    pub(crate) fn new(c: &mut [f32]) -> SharedOut {
        SharedOut(c.as_mut_ptr())
    }

    /// The pointer (a method, so that closures capture the whole `Sync` wrapper).
    pub(crate) fn ptr(self) -> *mut f32 {
        self.0
    }
}

/// `c = a · b` (or `c += a · b` with `accumulate`) for `m x k` a (any strides), `k x n` b with
/// contiguous rows, and row-major `m x n` c, in panels of 64 columns: on the rayon pool when
/// `parallel`, else on the calling thread.
///
/// Panics unless B's rows are contiguous and the slices fit their shapes.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm(
    m: usize,
    n: usize,
    k: usize,
    a: MatRef<'_>,
    b: MatRef<'_>,
    c: &mut [f32],
    accumulate: bool,
    parallel: bool,
) {
    assert!(
        b.cs == 1 && b.rs == n,
        "bcast::gemm: B's rows must be contiguous"
    );
    assert!(c.len() >= m * n, "bcast::gemm: output too short");
    assert!(m > 0 && k > 0, "bcast::gemm: empty product");
    assert!(
        a.max_index(m, k) < a.data.len(),
        "bcast::gemm: lhs too short"
    );
    assert!(
        b.max_index(k, n) < b.data.len(),
        "bcast::gemm: rhs too short"
    );
    let out = SharedOut::new(c);
    let panel = |p: usize| {
        let j0 = p * PANEL;
        let width = PANEL.min(n - j0);
        for k0 in (0..k).step_by(K_BLOCK) {
            let kb = K_BLOCK.min(k - k0);
            // SAFETY: the CPU has AVX-512F (`applies`); the asserts above bound every
            // element the block reads of a and b; this task alone writes columns
            // j0..j0 + width of c's m rows.
            unsafe {
                avx512::block(
                    m,
                    width,
                    kb,
                    a.data.as_ptr().add(k0 * a.cs),
                    (a.rs, a.cs),
                    b.data.as_ptr().add(k0 * n + j0),
                    n,
                    out.ptr().add(j0),
                    n,
                    accumulate || k0 > 0,
                );
            }
        }
    };
    if parallel {
        (0..n.div_ceil(PANEL)).into_par_iter().for_each(panel);
    } else {
        (0..n.div_ceil(PANEL)).for_each(panel);
    }
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod avx512 {
    use std::arch::x86_64::*;

    /// The mask of the first `n` (≤ 16) lanes.
    #[inline(always)]
    pub(crate) fn lanes(n: usize) -> __mmask16 {
        ((1u32 << n.min(16)) - 1) as __mmask16
    }

    /// `C[r][j] (+)= Σ_kk A[r][kk] · B[kk][j]` for `r < m`, `j < width ≤ 64`, `kk < k`:
    /// A's element (r, kk) is at `a + r·a_rs + kk·a_cs`, B's (kk, j) at `b + kk·b_rs + j`,
    /// C's (r, j) at `c + r·c_rs + j`. Adds to C when `accumulate`, else overwrites it.
    ///
    /// # Safety
    /// The CPU must support AVX-512F and every element named above must be in bounds.
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    pub(crate) unsafe fn block(
        m: usize,
        width: usize,
        k: usize,
        a: *const f32,
        (a_rs, a_cs): (usize, usize),
        b: *const f32,
        b_rs: usize,
        c: *mut f32,
        c_rs: usize,
        accumulate: bool,
    ) {
        let args = Args {
            width,
            k,
            col: |kk: usize| kk * a_cs,
            b,
            b_rs,
            accumulate,
        };
        rows(&args, m, a, a_rs, c, c_rs);
    }

    /// [`block`] with A's element (r, kk) at `a + r·a_rs + taps[kk]` (K = `taps.len()`):
    /// each row of A is a patch gathered from an image, as in a direct convolution.
    ///
    /// # Safety
    /// As for [`block`].
    #[target_feature(enable = "avx512f")]
    #[allow(clippy::too_many_arguments)]
    pub(crate) unsafe fn block_taps(
        m: usize,
        width: usize,
        a: *const f32,
        a_rs: usize,
        taps: &[usize],
        b: *const f32,
        b_rs: usize,
        c: *mut f32,
        c_rs: usize,
    ) {
        let args = Args {
            width,
            k: taps.len(),
            col: |kk: usize| *taps.get_unchecked(kk),
            b,
            b_rs,
            accumulate: false,
        };
        rows(&args, m, a, a_rs, c, c_rs);
    }

    /// The `m` rows of a block, a register tile at a time.
    #[inline(always)]
    unsafe fn rows<F: Fn(usize) -> usize>(
        args: &Args<F>,
        m: usize,
        a: *const f32,
        a_rs: usize,
        c: *mut f32,
        c_rs: usize,
    ) {
        // Fewer vectors of columns leave registers for more rows.
        let q = args.width.div_ceil(16);
        let step = match q {
            3 | 4 => 6,
            // 14 or 16 sums (the last tile full where 7 divides m but 8 does not): with 24,
            // the compiler spills some of them to the stack.
            2 if !m.is_multiple_of(8) && m.is_multiple_of(7) => 7,
            2 => 8,
            _ => 24,
        };
        let mut r0 = 0;
        while r0 < m {
            let rows = step.min(m - r0);
            let (ap, cp) = (a.add(r0 * a_rs), c.add(r0 * c_rs));
            match (q, rows) {
                (3 | 4, 6) => tile::<6, 4, F>(args, ap, a_rs, cp, c_rs),
                (2, 8) => tile::<8, 2, F>(args, ap, a_rs, cp, c_rs),
                (2, 7) => tile::<7, 2, F>(args, ap, a_rs, cp, c_rs),
                (1, 24) => tile::<24, 1, F>(args, ap, a_rs, cp, c_rs),
                (1 | 2, r) => rest::<2, F>(args, r, ap, a_rs, cp, c_rs),
                (_, r) => rest::<4, F>(args, r, ap, a_rs, cp, c_rs),
            }
            r0 += rows;
        }
    }

    /// The last `r` rows of a block (fewer than a full tile): six at a time, then the rest in
    /// one tile, `16 Q` columns wide.
    #[inline(always)]
    unsafe fn rest<const Q: usize, F: Fn(usize) -> usize>(
        args: &Args<F>,
        r: usize,
        ap: *const f32,
        a_rs: usize,
        cp: *mut f32,
        c_rs: usize,
    ) {
        let mut i = 0;
        while i + 6 <= r {
            tile::<6, Q, F>(args, ap.add(i * a_rs), a_rs, cp.add(i * c_rs), c_rs);
            i += 6;
        }
        let (ap, cp) = (ap.add(i * a_rs), cp.add(i * c_rs));
        match r - i {
            5 => tile::<5, Q, F>(args, ap, a_rs, cp, c_rs),
            4 => tile::<4, Q, F>(args, ap, a_rs, cp, c_rs),
            3 => tile::<3, Q, F>(args, ap, a_rs, cp, c_rs),
            2 => tile::<2, Q, F>(args, ap, a_rs, cp, c_rs),
            1 => tile::<1, Q, F>(args, ap, a_rs, cp, c_rs),
            _ => {}
        }
    }

    /// What every tile of one block shares: A's column offsets come from `col`.
    struct Args<F> {
        width: usize,
        k: usize,
        col: F,
        b: *const f32,
        b_rs: usize,
        accumulate: bool,
    }

    /// `ROWS` rows x `16 Q` columns (masked to `width`) of C in registers.
    #[inline(always)]
    unsafe fn tile<const ROWS: usize, const Q: usize, F: Fn(usize) -> usize>(
        g: &Args<F>,
        a: *const f32,
        a_rs: usize,
        c: *mut f32,
        c_rs: usize,
    ) {
        let masks: [__mmask16; Q] = std::array::from_fn(|q| lanes(g.width.saturating_sub(16 * q)));
        let mut acc = [[_mm512_setzero_ps(); Q]; ROWS];
        if g.accumulate {
            for (r, row) in acc.iter_mut().enumerate() {
                for q in 0..Q {
                    row[q] = _mm512_maskz_loadu_ps(masks[q], c.add(r * c_rs + 16 * q));
                }
            }
        }
        for kk in 0..g.k {
            let bv: [__m512; Q] = std::array::from_fn(|q| {
                _mm512_maskz_loadu_ps(masks[q], g.b.add(kk * g.b_rs + 16 * q))
            });
            for (r, row) in acc.iter_mut().enumerate() {
                let av = _mm512_set1_ps(*a.add(r * a_rs + (g.col)(kk)));
                for q in 0..Q {
                    row[q] = _mm512_fmadd_ps(av, bv[q], row[q]);
                }
            }
        }
        for (r, row) in acc.iter().enumerate() {
            for q in 0..Q {
                _mm512_mask_storeu_ps(c.add(r * c_rs + 16 * q), masks[q], row[q]);
            }
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
pub(crate) mod avx512 {
    /// Never called: [`super::avx512`] is false off x86-64.
    #[allow(clippy::too_many_arguments)]
    pub(crate) unsafe fn block(
        _: usize,
        _: usize,
        _: usize,
        _: *const f32,
        _: (usize, usize),
        _: *const f32,
        _: usize,
        _: *mut f32,
        _: usize,
        _: bool,
    ) {
        unreachable!("no AVX-512 off x86-64")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::gemm::{GemmKernel, GemmProblem};
    use crate::kernels::reference::{close, data, product};

    #[test]
    fn matches_a_naive_product() {
        if !avx512() {
            return;
        }
        // (m, n, k, a transposed, accumulate): short M, short K, ragged panels and rows.
        for &(m, n, k, ta, acc) in &[
            (50, 1024, 700, false, false),
            (7, 130, 1200, false, true),
            (700, 100, 50, true, false),
            (301, 77, 64, true, true),
        ] {
            let (a, b) = (data(m * k, 1), data(k * n, 2));
            let mut c = data(m * n, 3);
            let c0 = c.clone();
            let am = if ta {
                MatRef::new(&a, m, true)
            } else {
                MatRef::new(&a, k, false)
            };
            let problem = GemmProblem {
                m,
                n,
                k,
                a: am,
                b: MatRef::new(&b, n, false),
            };
            assert_eq!(problem.select(), GemmKernel::Bcast);
            gemm(
                m,
                n,
                k,
                am,
                MatRef::new(&b, n, false),
                &mut c,
                acc,
                m % 2 == 0,
            );
            let a_at = |i, t| if ta { a[t * m + i] } else { a[i * k + t] };
            let want = product((m, n, k), a_at, &b, acc.then_some(&c0[..]));
            close(&c, &want, &format!("({m},{n},{k})"));
        }
    }
}
