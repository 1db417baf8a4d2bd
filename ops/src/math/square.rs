//! `square`: the element-wise square x * x.

use crate::math::kernels::unary_inplace;
use crate::math::unary::unary_builder;
use crate::{constant, mul};
use rustflow_graph::{GradContext, KernelContext, Op, Result, Tensor, Value};

/// The `Square` op.
#[derive(Debug)]
pub struct Square;

impl Op for Square {
    fn op_type(&self) -> &'static str {
        "Square"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        Ok(vec![unary_inplace(ctx.take_input(0), |x| x * x)?])
    }
    /// `dx = dy * (2 * x)`.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let dy = gc.dy(0);
        Ok(vec![Some(mul(
            dy,
            &mul(&constant(gc.graph, 2.0f32, "Const"), gc.x(0))?,
        )?)])
    }
}

/// The element-wise square x * x; `tf.square`; node `Square`. Float32 only.
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{constant, square};
/// let g = Graph::new();
/// let y = square(&constant(&g, [1.0f32, 4.0], "")).unwrap();
/// assert_eq!(y.op().op_type(), "Square");
/// ```
pub fn square(x: &Tensor) -> Result<Tensor> {
    unary_builder(x, "Square", Square)
}
