//! `maximum` with NumPy broadcasting.

use crate::broadcast_grad;
use crate::math::binary::{binary_builder, binary_kernel, BinaryKind};
use crate::math::min_max_grad::min_max_grad;
use crate::util::{expect_dtype, same_dtype};
use rustflow_graph::{DType, GradContext, KernelContext, Op, Result, Tensor, Value};

/// The `Maximum` op.
#[derive(Debug)]
pub struct Maximum;

impl Op for Maximum {
    fn op_type(&self) -> &'static str {
        "Maximum"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        binary_kernel(ctx, BinaryKind::Maximum)
    }
    /// The upstream goes to `a` where `a >= b` (ties to the first argument), else to `b`.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let dy = gc.dy(0);
        let (a, b) = (gc.x(0), gc.x(1));
        let (da, db) = min_max_grad(dy, a, b, true)?;
        Ok(vec![
            Some(broadcast_grad(&da, a, b)?),
            Some(broadcast_grad(&db, b, a)?),
        ])
    }
}

/// The element-wise maximum of `a` and `b`, broadcasting (`tf.maximum`; node `Maximum`).
/// On a tie the gradient goes to `a`.
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{constant, maximum};
/// let g = Graph::new();
/// let y = maximum(&constant(&g, [1.0f32, 5.0], ""), &constant(&g, 3.0f32, "")).unwrap();
/// assert_eq!(y.shape().to_string(), "[2]");
/// ```
pub fn maximum(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let g = a.graph();
    g.check_owns(b.graph(), &b.to_string())?;
    same_dtype(g, "Maximum", "Maximum", &[a, b])?;
    expect_dtype(
        g,
        "Maximum",
        "Maximum",
        a,
        &[DType::F32, DType::I32, DType::I64],
    )?;
    binary_builder(a, b, "Maximum", Maximum)
}
