//! `sqrt`: the element-wise square root (NaN below 0).

use crate::math::kernels::unary_inplace;
use crate::math::unary::unary_builder;
use crate::math::unary_grad::{unary_grad, UnaryGradKind};
use rustflow_graph::{GradContext, KernelContext, Op, Result, Tensor, Value};

/// The `Sqrt` op.
#[derive(Debug)]
pub struct Sqrt;

impl Op for Sqrt {
    fn op_type(&self) -> &'static str {
        "Sqrt"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        Ok(vec![unary_inplace(ctx.take_input(0), |x| x.sqrt())?])
    }
    /// `dx = 0.5 * dy / y` (infinite at `x = 0`, as TensorFlow).
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let dy = gc.dy(0);
        Ok(vec![Some(unary_grad(UnaryGradKind::Sqrt, gc.y(0), dy)?)])
    }
}

/// The element-wise square root (NaN below 0); `tf.sqrt`; node `Sqrt`. Float32 only.
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{constant, sqrt};
/// let g = Graph::new();
/// let y = sqrt(&constant(&g, [1.0f32, 4.0], "")).unwrap();
/// assert_eq!(y.op().op_type(), "Sqrt");
/// ```
pub fn sqrt(x: &Tensor) -> Result<Tensor> {
    unary_builder(x, "Sqrt", Sqrt)
}
