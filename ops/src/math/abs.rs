//! `abs`: the element-wise absolute value.

use crate::math::kernels::unary_inplace;
use crate::math::unary::unary_builder;
use crate::math::unary_grad::{unary_grad, UnaryGradKind};
use rustflow_graph::{GradContext, KernelContext, Op, Result, Tensor, Value};

/// The `Abs` op.
#[derive(Debug)]
pub struct Abs;

impl Op for Abs {
    fn op_type(&self) -> &'static str {
        "Abs"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        Ok(vec![unary_inplace(ctx.take_input(0), |x| x.abs())?])
    }
    /// `dx = dy * sign(x)` (0 at `x = 0`, as TensorFlow).
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let dy = gc.dy(0);
        Ok(vec![Some(unary_grad(UnaryGradKind::Abs, gc.x(0), dy)?)])
    }
}

/// The element-wise absolute value; `tf.abs`; node `Abs`. Float32 only.
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{constant, abs};
/// let g = Graph::new();
/// let y = abs(&constant(&g, [1.0f32, 4.0], "")).unwrap();
/// assert_eq!(y.op().op_type(), "Abs");
/// ```
pub fn abs(x: &Tensor) -> Result<Tensor> {
    unary_builder(x, "Abs", Abs)
}
