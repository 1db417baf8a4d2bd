//! `exp`: the element-wise exponential e^x.

use crate::math::kernels::unary_inplace;
use crate::math::unary::unary_builder;
use crate::mul;
use rustflow_graph::{GradContext, KernelContext, Op, Result, Tensor, Value};

/// The `Exp` op.
#[derive(Debug)]
pub struct Exp;

impl Op for Exp {
    fn op_type(&self) -> &'static str {
        "Exp"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        Ok(vec![unary_inplace(ctx.take_input(0), |x| x.exp())?])
    }
    /// `dx = dy * y`.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let dy = gc.dy(0);
        Ok(vec![Some(mul(dy, gc.y(0))?)])
    }
}

/// The element-wise exponential e^x; `tf.exp`; node `Exp`. Float32 only.
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{constant, exp};
/// let g = Graph::new();
/// let y = exp(&constant(&g, [1.0f32, 4.0], "")).unwrap();
/// assert_eq!(y.op().op_type(), "Exp");
/// ```
pub fn exp(x: &Tensor) -> Result<Tensor> {
    unary_builder(x, "Exp", Exp)
}
