//! `matmul` of two matrices, with `transpose_a` / `transpose_b`.

use crate::fusion::MatMulAttrs;
use crate::kernels::gemm::{sgemm, MatRef};
use crate::util::{add1, expect_dtype, same_dtype, shape_error};
use rustflow_graph::{
    fmt_dims, Capability, DType, Error, GradContext, KernelContext, Op, Result, Shape, Tensor,
    TensorSpec, Value,
};

/// The `MatMul` op.
#[derive(Debug)]
pub struct MatMul {
    transpose_a: bool,
    transpose_b: bool,
}

/// The product `op(a) · op(b)` of two run-time matrices, `op` transposing where asked:
/// `[m, n]` into a buffer from the session's pool, or the error naming both shapes.
pub(crate) fn product(
    ctx: &KernelContext<'_>,
    (transpose_a, transpose_b): (bool, bool),
) -> Result<([usize; 2], Vec<f32>)> {
    let (a, b) = (ctx.input(0), ctx.input(1));
    let (&[ar, ac], &[br, bc]) = (a.shape(), b.shape()) else {
        return Err(Error::Kernel(format!(
            "In[0] and In[1] must be matrices: In[0]: {}, In[1]: {}",
            fmt_dims(a.shape()),
            fmt_dims(b.shape())
        )));
    };
    let (m, k) = if transpose_a { (ac, ar) } else { (ar, ac) };
    let (k2, n) = if transpose_b { (bc, br) } else { (br, bc) };
    if k != k2 {
        return Err(Error::Kernel(format!(
            "Matrix size-incompatible: In[0]: {}, In[1]: {}",
            fmt_dims(a.shape()),
            fmt_dims(b.shape())
        )));
    }
    ctx.check_output(DType::F32, &[m, n])?;
    let mut c = ctx.output_f32(m * n);
    sgemm(
        m,
        n,
        k,
        MatRef::new(a.as_slice()?, ac, transpose_a),
        MatRef::new(b.as_slice()?, bc, transpose_b),
        &mut c,
        false,
    );
    Ok(([m, n], c))
}

impl Op for MatMul {
    fn op_type(&self) -> &'static str {
        "MatMul"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let (shape, c) = product(ctx, (self.transpose_a, self.transpose_b))?;
        Ok(vec![Value::new(&shape, c)?])
    }
    fn capability(&self) -> Capability {
        Capability::Producer(Box::new(MatMulAttrs {
            transpose_a: self.transpose_a,
            transpose_b: self.transpose_b,
        }))
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let dy = gc.dy(0);
        let (a, b) = (gc.x(0), gc.x(1));
        let (da, db) = match (self.transpose_a, self.transpose_b) {
            (false, false) => (matmul_t(dy, b, false, true)?, matmul_t(a, dy, true, false)?),
            (true, false) => (
                matmul_t(b, dy, false, true)?,
                matmul_t(a, dy, false, false)?,
            ),
            (false, true) => (
                matmul_t(dy, b, false, false)?,
                matmul_t(dy, a, true, false)?,
            ),
            (true, true) => (matmul_t(b, dy, true, true)?, matmul_t(dy, a, true, true)?),
        };
        Ok(vec![Some(da), Some(db)])
    }
    fn attrs(&self) -> String {
        format!(
            "transpose_a={}, transpose_b={}",
            self.transpose_a, self.transpose_b
        )
    }
}

/// The matrix product `a · b` (`tf.matmul(a, b)`).
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{matmul, placeholder};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 784], "x");
/// let w = placeholder(&g, DType::F32, shape![784, 10], "w");
/// assert_eq!(matmul(&x, &w).unwrap().shape().to_string(), "[?,10]");
/// let bad = placeholder(&g, DType::F32, shape![3, 10], "bad");
/// assert!(matmul(&x, &bad).is_err());
/// ```
pub fn matmul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    matmul_t(a, b, false, false)
}

/// The matrix product with either operand transposed first
/// (`tf.matmul(a, b, transpose_a, transpose_b)`).
pub fn matmul_t(a: &Tensor, b: &Tensor, transpose_a: bool, transpose_b: bool) -> Result<Tensor> {
    let g = a.graph();
    let name = "MatMul";
    expect_dtype(g, name, name, a, &[DType::F32])?;
    same_dtype(g, name, name, &[a, b])?;
    let (sa, sb) = (a.shape(), b.shape());
    let rank_err = |msg: String| shape_error(g, name, name, msg, &[a, b]);
    if sa.rank().is_some_and(|r| r != 2) {
        return Err(rank_err(format!(
            "Shape must be rank 2 but is rank {}",
            sa.rank().unwrap_or(0)
        )));
    }
    if sb.rank().is_some_and(|r| r != 2) {
        return Err(rank_err(format!(
            "Shape must be rank 2 but is rank {}",
            sb.rank().unwrap_or(0)
        )));
    }
    let pick = |s: &Shape, t: bool| {
        if t {
            (s.dim(1), s.dim(0))
        } else {
            (s.dim(0), s.dim(1))
        }
    };
    let (m, k1) = pick(&sa, transpose_a);
    let (k2, n) = pick(&sb, transpose_b);
    if let (Some(x), Some(y)) = (k1, k2) {
        if x != y {
            return Err(rank_err(format!(
                "Dimensions must be equal, but are {x} and {y}"
            )));
        }
    }
    add1(
        g,
        name,
        MatMul {
            transpose_a,
            transpose_b,
        },
        &[a, b],
        TensorSpec::new(DType::F32, Shape::new(vec![m, n])),
    )
}
