//! `logical_not`.

use crate::math::kernels::unary;
use crate::util::{add1, expect_dtype};
use rustflow_graph::{
    not_differentiable, DType, GradContext, KernelContext, Op, Result, Tensor, Value,
};

/// The `LogicalNot` op (bool only; no gradient).
#[derive(Debug)]
pub struct LogicalNot;

impl Op for LogicalNot {
    fn op_type(&self) -> &'static str {
        "LogicalNot"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        Ok(vec![unary(ctx.input(0), |x: bool| !x)?])
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        not_differentiable(gc)
    }
}

/// `!x` element-wise of a bool tensor (`tf.math.logical_not`; node `LogicalNot`).
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{constant, logical_not};
/// let g = Graph::new();
/// assert!(logical_not(&constant(&g, [1.0f32], "")).is_err());
/// ```
pub fn logical_not(x: &Tensor) -> Result<Tensor> {
    expect_dtype(x.graph(), "LogicalNot", "LogicalNot", x, &[DType::Bool])?;
    add1(x.graph(), "LogicalNot", LogicalNot, &[x], x.spec())
}
