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
    if super::bcast::applies(m, n, k, &b) {
        // One short side (the fully-connected layer at batch 50): the register-blocked
        // kernel is faster.
        super::bcast::gemm(m, n, k, a, b, c, accumulate, parallel);
        return;
    }
    if a.cs == 1 && a.rs == k && b.rs == 1 && b.cs == k && m <= 256 && k >= 256 {
        // A · Bᵀ with both rows contiguous and a short A: the dot-product kernel is faster.
        super::abt::abt(m, n, k, a.data, b.data, c, accumulate);
        return;
    }
    if super::packed::applies(m, n, k, &a, &b) {
        // Tall row-major operands (the fully-connected layer over an evaluation chunk).
        super::packed::gemm(m, n, k, a, b, c, accumulate, parallel);
        return;
    }
    let work = m * n * k;
    let par = if parallel && work >= 1 << 18 {
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
