//! `ReshapeLike`: reshapes a tensor to another tensor's run-time shape (the gradient of
//! `reshape`, whose input's batch size may be unknown at build time).

use crate::util::add1;
use rustflow_graph::{GradContext, KernelContext, Op, Result, Tensor, TensorSpec, Value};

/// Input 0 reshaped (without a copy) to input 1's run-time shape; input 1 is read only for
/// its shape.
#[derive(Debug)]
pub struct ReshapeLike;

impl Op for ReshapeLike {
    fn op_type(&self) -> &'static str {
        "ReshapeLike"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let x = ctx.take_input(0);
        Ok(vec![x.reshaped(ctx.input(1).shape())?])
    }
    /// Reshaped back to input 0's run-time shape; the shape-only input gets none.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let dy = gc.dy(0);
        Ok(vec![Some(reshape_like(dy, gc.x(0))?), None])
    }
}

/// `x` reshaped to the run-time shape of `like` (which must have as many elements); the
/// static shape is `like`'s, the dtype `x`'s.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{placeholder, reshape_like};
/// let g = Graph::new();
/// let dy = placeholder(&g, DType::F32, shape![?, 784], "dy");
/// let x = placeholder(&g, DType::F32, shape![?, 28, 28, 1], "x");
/// assert_eq!(reshape_like(&dy, &x).unwrap().shape().to_string(), "[?,28,28,1]");
/// ```
pub fn reshape_like(x: &Tensor, like: &Tensor) -> Result<Tensor> {
    x.graph().check_owns(like.graph(), &like.to_string())?;
    add1(
        x.graph(),
        "Reshape",
        ReshapeLike,
        &[x, like],
        TensorSpec::new(x.dtype(), like.shape()),
    )
}
