//! `leaky_relu`: `x` above 0, `alpha * x` elsewhere.

use crate::math::kernels::unary_inplace;
use crate::math::unary::unary_builder;
use crate::{add, cast, constant, greater, mul, sub};
use rustflow_graph::{DType, GradContext, KernelContext, Op, Result, Tensor, Value};

/// The `LeakyRelu` op.
#[derive(Debug)]
pub struct LeakyRelu {
    alpha: f32,
}

impl Op for LeakyRelu {
    fn op_type(&self) -> &'static str {
        "LeakyRelu"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let alpha = self.alpha;
        Ok(vec![unary_inplace(ctx.take_input(0), |x| {
            if x > 0.0 {
                x
            } else {
                x * alpha
            }
        })?])
    }
    /// `dy` where `x > 0`, else `alpha * dy` (so `alpha` at exactly 0, as TensorFlow):
    /// `dy * m + alpha * dy * (1 - m)` with the 0/1 mask `m`, exact in float32.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let (g, dy) = (gc.graph, gc.dy(0));
        let zero = constant(g, 0f32, "Const");
        let m = cast(&greater(gc.x(0), &zero)?, DType::F32)?;
        let off = sub(&constant(g, 1f32, "Const"), &m)?;
        let leak = mul(&mul(&constant(g, self.alpha, "Const"), dy)?, &off)?;
        Ok(vec![Some(add(&mul(dy, &m)?, &leak)?)])
    }
    fn attrs(&self) -> String {
        format!("alpha={}", self.alpha)
    }
}

/// `x` where `x > 0`, else `alpha * x` (`tf.nn.leaky_relu(x, alpha)`; node `LeakyRelu`).
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{constant, leaky_relu};
/// let g = Graph::new();
/// let y = leaky_relu(&constant(&g, [-1.0f32, 2.0], ""), 0.2).unwrap();
/// assert_eq!(y.op().op_type(), "LeakyRelu");
/// ```
pub fn leaky_relu(x: &Tensor, alpha: f32) -> Result<Tensor> {
    unary_builder(x, "LeakyRelu", LeakyRelu { alpha })
}
