//! `tanh`: the element-wise hyperbolic tangent.

use crate::math::kernels::unary_inplace;
use crate::math::unary::unary_builder;
use crate::math::unary_grad::{unary_grad, UnaryGradKind};
use rustflow_graph::{GradContext, KernelContext, Op, Result, Tensor, Value};

/// The `Tanh` op.
#[derive(Debug)]
pub struct Tanh;

impl Op for Tanh {
    fn op_type(&self) -> &'static str {
        "Tanh"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        Ok(vec![unary_inplace(ctx.take_input(0), |x| x.tanh())?])
    }
    /// `dx = dy * (1 - y²)`.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let dy = gc.dy(0);
        Ok(vec![Some(unary_grad(UnaryGradKind::Tanh, gc.y(0), dy)?)])
    }
}

/// The element-wise hyperbolic tangent; `tf.tanh`; node `Tanh`. Float32 only.
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{constant, tanh};
/// let g = Graph::new();
/// let y = tanh(&constant(&g, [1.0f32, 4.0], "")).unwrap();
/// assert_eq!(y.op().op_type(), "Tanh");
/// ```
pub fn tanh(x: &Tensor) -> Result<Tensor> {
    unary_builder(x, "Tanh", Tanh)
}
