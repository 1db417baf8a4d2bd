//! `log`: the element-wise natural logarithm (`-inf` at 0, NaN below).

use crate::div;
use crate::math::kernels::unary_inplace;
use crate::math::unary::unary_builder;
use rustflow_graph::{GradContext, KernelContext, Op, Result, Tensor, Value};

/// The `Log` op.
#[derive(Debug)]
pub struct Log;

impl Op for Log {
    fn op_type(&self) -> &'static str {
        "Log"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        Ok(vec![unary_inplace(ctx.take_input(0), |x| x.ln())?])
    }
    /// `dx = dy / x` (infinite at `x = 0`, as TensorFlow).
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let dy = gc.dy(0);
        Ok(vec![Some(div(dy, gc.x(0))?)])
    }
}

/// The element-wise natural logarithm (`-inf` at 0, NaN below); `tf.math.log`; node `Log`. Float32 only.
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{constant, log};
/// let g = Graph::new();
/// let y = log(&constant(&g, [1.0f32, 4.0], "")).unwrap();
/// assert_eq!(y.op().op_type(), "Log");
/// ```
pub fn log(x: &Tensor) -> Result<Tensor> {
    unary_builder(x, "Log", Log)
}
