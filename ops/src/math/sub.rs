//! `sub` (`-`) with NumPy broadcasting.

use crate::math::binary::{binary_builder, binary_kernel, BinaryKind};
use crate::{broadcast_grad, neg};
use rustflow_graph::{GradContext, KernelContext, Op, Result, Tensor, Value};

/// The `Sub` op.
#[derive(Debug)]
pub struct Sub;

impl Op for Sub {
    fn op_type(&self) -> &'static str {
        "Sub"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        binary_kernel(ctx, BinaryKind::Sub)
    }
    /// `da = sum_to_shape(dy)`, `db = -sum_to_shape(dy)`.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let dy = gc.dy(0);
        let (a, b) = (gc.x(0), gc.x(1));
        Ok(vec![
            Some(broadcast_grad(dy, a, b)?),
            Some(neg(&broadcast_grad(dy, b, a)?)?),
        ])
    }
}

/// `a - b`, broadcasting as NumPy does (`tf.subtract`; node name `sub`).
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{constant, sub};
/// let g = Graph::new();
/// let y = sub(&constant(&g, [[5.0f32, 7.0]], ""), &constant(&g, 1.0f32, "")).unwrap();
/// assert_eq!(y.shape().to_string(), "[1,2]");
/// assert_eq!(y.op().name(), "sub");
/// ```
pub fn sub(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary_builder(a, b, "sub", Sub)
}
