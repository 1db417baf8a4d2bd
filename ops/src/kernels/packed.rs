//! A GEMM for tall products (hundreds of rows of A against a large B, as a fully-connected
//! layer over a large batch, 1000x3136 · 3136x1024): B is copied block by block into
//! contiguous panels that stay in L2, and [`bcast`](super::bcast)'s 6x64 register tile runs
//! over them.
//!
//! Unpacked, the rows of a 64-column panel of B lie a whole row of B apart (4 KiB for a
//! 1024-wide B), so a few hundred of them fill the same cache sets; packed, a block
//! is one contiguous run. Each task owns a rectangle of C: a group of columns, for all the
//! rows of its part.

use rayon::prelude::*;
use std::cell::RefCell;

use super::bcast::{avx512, SharedOut};
use super::gemm::MatRef;

/// Columns of B per block: a task's group of columns.
const NC: usize = 128;

/// Rows of B per block (the K of one pass of the register tile). With [`NC`], a block is
/// 256 KiB. (Blocks of 256x256, 128x784 and 64x1024 measured the same within 3%.)
const KC: usize = 512;

/// Rows of A per pass over a block of B: their `MC x KC` piece stays in L2 beside the
/// block while the tile runs over its panels.
const MC: usize = 96;

/// Columns of a panel: the register tile's width.
const PANEL: usize = 64;

thread_local! {
    static PACKED: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// `c = a · b` (or `c += a · b` with `accumulate`) for row-major `m x k` a, `k x n` b and
/// `m x n` c; on the rayon pool when `parallel`, else on the calling thread. Every element
/// sums its K products in the same order however the tasks are scheduled.
///
/// Panics unless [`applies`] holds and the slices fit their shapes.
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
    let row_major = a.cs == 1 && a.rs == k && b.cs == 1 && b.rs == n;
    assert!(row_major, "packed::gemm: A and B must be row-major");
    assert!(c.len() >= m * n, "packed::gemm: output too short");
    assert!(a.data.len() >= m * k, "packed::gemm: lhs too short");
    assert!(b.data.len() >= k * n, "packed::gemm: rhs too short");
    let groups = n.div_ceil(NC);
    // Enough tasks for every thread: split the rows too where there are few column groups.
    let threads = if parallel {
        rayon::current_num_threads()
    } else {
        1
    };
    let parts = (2 * threads).div_ceil(groups).clamp(1, m.div_ceil(MC));
    let part_rows = m.div_ceil(parts).next_multiple_of(6);
    let out = SharedOut::new(c);
    let task = |t: usize| {
        let (g, p) = (t % groups, t / groups);
        let (j0, r0) = (g * NC, p * part_rows);
        let (width, rows) = (NC.min(n - j0), part_rows.min(m.saturating_sub(r0)));
        if rows == 0 {
            return;
        }
        PACKED.with(|cell| {
            let mut buf = cell.borrow_mut();
            buf.resize(KC * NC, 0.0);
            for k0 in (0..k).step_by(KC) {
                let kb = KC.min(k - k0);
                pack(&b.data[k0 * n + j0..], n, kb, width, &mut buf);
                for i0 in (r0..r0 + rows).step_by(MC) {
                    let mb = MC.min(r0 + rows - i0);
                    let panels = buf.chunks_exact(KC * PANEL).take(width.div_ceil(PANEL));
                    for (q, panel) in panels.enumerate() {
                        let jq = q * PANEL;
                        // SAFETY: the CPU has AVX-512F (`applies`); the asserts above keep
                        // rows i0..i0 + mb and columns k0..k0 + kb of a inside its slice;
                        // the panel holds kb rows of 64; this task alone writes rows
                        // r0..r0 + rows, columns j0..j0 + width of c.
                        unsafe {
                            avx512::block(
                                mb,
                                PANEL.min(width - jq),
                                kb,
                                a.data.as_ptr().add(i0 * k + k0),
                                (k, 1),
                                panel.as_ptr(),
                                PANEL,
                                out.ptr().add(i0 * n + j0 + jq),
                                n,
                                accumulate || k0 > 0,
                            );
                        }
                    }
                }
            }
        });
    };
    if parallel {
        (0..groups * parts).into_par_iter().for_each(task);
    } else {
        (0..groups * parts).for_each(task);
    }
}

/// Copies `kb` rows of `width` columns of `b` (row stride `n`) into `buf` as panels of 64
/// columns, each `KC` rows of 64 floats (a last narrow panel's extra columns are left as
/// they are: the tile masks them).
fn pack(b: &[f32], n: usize, kb: usize, width: usize, buf: &mut [f32]) {
    let panels = buf.chunks_exact_mut(KC * PANEL).take(width.div_ceil(PANEL));
    for (q, panel) in panels.enumerate() {
        let jq = q * PANEL;
        let w = PANEL.min(width - jq);
        for (kk, dst) in panel.chunks_exact_mut(PANEL).take(kb).enumerate() {
            dst[..w].copy_from_slice(&b[kk * n + jq..kk * n + jq + w]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernels::gemm::{GemmKernel, GemmProblem};
    use crate::kernels::reference::{close, data, product};

    #[test]
    fn matches_a_naive_product() {
        if !super::super::bcast::avx512() {
            return;
        }
        // (m, n, k, accumulate): the evaluation's shape, ragged rows, columns and K, one
        // column group (rows split across tasks), serial and parallel.
        for &(m, n, k, acc, par) in &[
            (1000, 1024, 3136, false, true),
            (257, 300, 700, true, true),
            (301, 64, 256, false, true),
            (256, 1100, 1030, false, true),
            (600, 130, 515, true, false),
        ] {
            let (a, b) = (data(m * k, 1), data(k * n, 2));
            let mut c = data(m * n, 3);
            let c0 = c.clone();
            let (am, bm) = (MatRef::new(&a, k, false), MatRef::new(&b, n, false));
            let problem = GemmProblem {
                m,
                n,
                k,
                a: am,
                b: bm,
            };
            assert_eq!(problem.select(), GemmKernel::Packed);
            gemm(m, n, k, am, bm, &mut c, acc, par);
            let want = product((m, n, k), |i, t| a[i * k + t], &b, acc.then_some(&c0[..]));
            close(&c, &want, &format!("({m},{n},{k})"));
        }
    }
}
