//! `neg` (unary `-`).

use crate::math::kernels::unary_inplace;
use crate::math::unary::unary_builder;
use rustflow_graph::{GradContext, KernelContext, Op, Result, Tensor, Value};

/// The `Neg` op.
#[derive(Debug)]
pub struct Neg;

impl Op for Neg {
    fn op_type(&self) -> &'static str {
        "Neg"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        Ok(vec![unary_inplace(ctx.take_input(0), |x| -x)?])
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(neg(gc.dy(0))?)])
    }
}

/// `-x` (`tf.negative`).
pub fn neg(x: &Tensor) -> Result<Tensor> {
    unary_builder(x, "Neg", Neg)
}
