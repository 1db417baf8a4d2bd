//! `sigmoid`: the element-wise logistic function 1 / (1 + e^-x).

use crate::math::kernels::unary_inplace;
use crate::math::unary::unary_builder;
use crate::math::unary_grad::{unary_grad, UnaryGradKind};
use rustflow_graph::{GradContext, KernelContext, Op, Result, Tensor, Value};

/// The `Sigmoid` op.
#[derive(Debug)]
pub struct Sigmoid;

impl Op for Sigmoid {
    fn op_type(&self) -> &'static str {
        "Sigmoid"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        Ok(vec![unary_inplace(ctx.take_input(0), sigmoid_f32)?])
    }
    /// `dx = dy * y * (1 - y)`.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let dy = gc.dy(0);
        Ok(vec![Some(unary_grad(UnaryGradKind::Sigmoid, gc.y(0), dy)?)])
    }
}

/// The element-wise logistic function 1 / (1 + e^-x); `tf.sigmoid`; node `Sigmoid`. Float32 only.
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{constant, sigmoid};
/// let g = Graph::new();
/// let y = sigmoid(&constant(&g, [1.0f32, 4.0], "")).unwrap();
/// assert_eq!(y.op().op_type(), "Sigmoid");
/// ```
pub fn sigmoid(x: &Tensor) -> Result<Tensor> {
    unary_builder(x, "Sigmoid", Sigmoid)
}

/// `1 / (1 + e^-x)` without overflow for large `|x|`.
fn sigmoid_f32(x: f32) -> f32 {
    if x >= 0.0 {
        1.0 / (1.0 + (-x).exp())
    } else {
        let e = x.exp();
        e / (1.0 + e)
    }
}
