//! `mul` (`*`) with NumPy broadcasting.

use crate::broadcast_grad;
use crate::math::binary::{binary_builder, binary_kernel, BinaryKind};
use rustflow_graph::{GradContext, KernelContext, Op, Result, Tensor, Value};

/// The `Mul` op.
#[derive(Debug)]
pub struct Mul;

impl Op for Mul {
    fn op_type(&self) -> &'static str {
        "Mul"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        binary_kernel(ctx, BinaryKind::Mul)
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let dy = gc.dy(0);
        let (a, b) = (gc.x(0), gc.x(1));
        Ok(vec![
            Some(broadcast_grad(&mul(dy, b)?, a, b)?),
            Some(broadcast_grad(&mul(a, dy)?, b, a)?),
        ])
    }
}

/// `a * b` element-wise, broadcasting as NumPy does (`tf.multiply`; node name `mul`).
pub fn mul(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary_builder(a, b, "mul", Mul)
}
