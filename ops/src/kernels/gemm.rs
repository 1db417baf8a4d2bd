//! Single-precision GEMM through the `gemm` crate (AVX-512 kernels, rayon threads).

use gemm::Parallelism;

/// A row-major or strided matrix operand: `data[i * rs + j * cs]` is element (i, j).
#[derive(Clone, Copy)]
pub struct MatRef<'a> {
    /// The elements.
    pub data: &'a [f32],
    /// Row stride.
    pub rs: usize,
    /// Column stride.
    pub cs: usize,
}

impl<'a> MatRef<'a> {
    /// A row-major `rows x cols` matrix, or its transpose when `transpose` is set (so that the
    /// operand is `cols x rows`).
    pub fn new(data: &'a [f32], cols: usize, transpose: bool) -> Self {
        let (rs, cs) = if transpose { (1, cols) } else { (cols, 1) };
        MatRef { data, rs, cs }
    }

    /// The offset of element (rows - 1, cols - 1): every element's is at most this.
    pub(crate) fn max_index(&self, rows: usize, cols: usize) -> usize {
        if rows == 0 || cols == 0 {
            0
        } else {
            (rows - 1) * self.rs + (cols - 1) * self.cs
        }
    }
}

/// A product to compute: `a` (`m x k`) times `b` (`k x n`), with the operands' strides.
pub(crate) struct GemmProblem<'a> {
    pub m: usize,
    pub n: usize,
    pub k: usize,
    pub a: MatRef<'a>,
    pub b: MatRef<'a>,
}

/// The kernels of the GEMM family.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GemmKernel {
    /// The register-blocked kernel ([`super::bcast`]).
    Bcast,
    /// Dot products of contiguous rows, `A · Bᵀ` ([`super::abt`]).
    Abt,
    /// B packed into panels, then the register tile ([`super::packed`]).
    Packed,
    /// The `gemm` crate.
    Crate,
}

/// Products of fewer multiply-adds than this run on one thread in the `gemm` crate: an LSTM
/// step's (128 x 156 x 512, about 10 M) took 110-160 us there against 200-270 us split over
/// two threads (by the crate or the dot-product kernel), and the executor runs the
/// independent ones (an input and a weight gradient) side by side anyway.
const PARALLEL_WORK: usize = 1 << 24;

impl GemmProblem<'_> {
    /// The kernel for this product. Every threshold of the family is here: one short side
    /// (M or K at most 64) with enough work, B's rows contiguous, and AVX-512: the
    /// register-blocked kernel; `A · Bᵀ` with contiguous rows, M at most 256, K at least
    /// 256 and at least [`PARALLEL_WORK`]: dot products; row-major operands with M and K at
    /// least 256 and N at least a 64-column panel, and AVX-512: the packed kernel; anything
    /// else: the `gemm` crate.
    pub fn select(&self) -> GemmKernel {
        let GemmProblem { m, n, k, a, b } = *self;
        let avx512 = super::bcast::avx512();
        let b_rows = b.cs == 1 && b.rs == n;
        let a_rows = a.cs == 1 && a.rs == k;
        let work = m * n * k;
        if b_rows && (m <= 64 || k <= 64) && work >= 1 << 20 && n >= 64 && avx512 {
            GemmKernel::Bcast
        } else if a_rows && b.rs == 1 && b.cs == k && m <= 256 && k >= 256 && work >= PARALLEL_WORK
        {
            GemmKernel::Abt
        } else if a_rows && b_rows && m >= 256 && k >= 256 && n >= 64 && avx512 {
            GemmKernel::Packed
        } else {
            GemmKernel::Crate
        }
    }
}

/// `c = a · b` (or `c += a · b` with `accumulate`), where a is `m x k`, b is `k x n` and c is
/// row-major `m x n`. Runs on the rayon pool when the product is large enough to pay.
///
/// Panics if a slice is too short for its shape and strides (a caller's bug, never input's).
pub fn sgemm(
    m: usize,
    n: usize,
    k: usize,
    a: MatRef<'_>,
    b: MatRef<'_>,
    c: &mut [f32],
    accumulate: bool,
) {
    sgemm_with(m, n, k, a, b, c, accumulate, true)
}

/// [`sgemm`] on the calling thread only, for callers that already run several products in
/// parallel (the convolution kernels, one batch chunk per task).
///
/// Panics if a slice is too short for its shape and strides (a caller's bug, never input's).
pub fn sgemm_serial(
    m: usize,
    n: usize,
    k: usize,
    a: MatRef<'_>,
    b: MatRef<'_>,
    c: &mut [f32],
    accumulate: bool,
) {
    sgemm_with(m, n, k, a, b, c, accumulate, false)
}

#[allow(clippy::too_many_arguments)]
fn sgemm_with(
    m: usize,
    n: usize,
    k: usize,
    a: MatRef<'_>,
    b: MatRef<'_>,
    c: &mut [f32],
    accumulate: bool,
    parallel: bool,
) {
    assert!(c.len() >= m * n, "gemm: output too short");
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 {
        if !accumulate {
            c[..m * n].fill(0.0);
        }
        return;
    }
    assert!(a.max_index(m, k) < a.data.len(), "gemm: lhs too short");
    assert!(b.max_index(k, n) < b.data.len(), "gemm: rhs too short");
    match (GemmProblem { m, n, k, a, b }).select() {
        GemmKernel::Bcast => return super::bcast::gemm(m, n, k, a, b, c, accumulate, parallel),
        GemmKernel::Abt => return super::abt::abt(m, n, k, a.data, b.data, c, accumulate),
        GemmKernel::Packed => {
            return super::packed::gemm(m, n, k, a, b, c, accumulate, parallel);
        }
        GemmKernel::Crate => {}
    }
    let work = m * n * k;
    let par = if parallel && work >= PARALLEL_WORK {
        Parallelism::Rayon(0)
    } else {
        Parallelism::None
    };
    // SAFETY: the asserts above keep every index gemm computes from the shapes and strides
    // inside the slices; `c` is exclusively borrowed.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            c.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            a.data.as_ptr(),
            a.cs as isize,
            a.rs as isize,
            b.data.as_ptr(),
            b.cs as isize,
            b.rs as isize,
            if accumulate { 1.0 } else { 0.0 },
            1.0,
            false,
            false,
            false,
            par,
        );
    }
}
