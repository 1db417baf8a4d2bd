//! `div` (`/`, true division) with NumPy broadcasting.

use crate::math::binary::{binary_builder, binary_kernel, BinaryKind};
use crate::util::{expect_dtype, same_dtype};
use crate::{broadcast_grad, mul, neg};
use rustflow_graph::{DType, GradContext, KernelContext, Op, Result, Tensor, Value};

/// The `RealDiv` op.
#[derive(Debug)]
pub struct RealDiv;

impl Op for RealDiv {
    fn op_type(&self) -> &'static str {
        "RealDiv"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        binary_kernel(ctx, BinaryKind::Div)
    }
    /// TensorFlow's rule: `da = sum_to_shape(dy / b)`, `db = sum_to_shape(dy * ((-a / b) / b))`.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let dy = gc.dy(0);
        let (a, b) = (gc.x(0), gc.x(1));
        let da = broadcast_grad(&div(dy, b)?, a, b)?;
        let db = broadcast_grad(&mul(dy, &div(&div(&neg(a)?, b)?, b)?)?, b, a)?;
        Ok(vec![Some(da), Some(db)])
    }
}

/// `a / b` element-wise for float32 tensors, broadcasting as NumPy does (`tf.divide` /
/// `tf.truediv` on floats; op `RealDiv`, node name `truediv`). Integer tensors are refused
/// (TensorFlow would divide them in float64, a type rustflow does not have): cast them first.
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{constant, div};
/// let g = Graph::new();
/// let y = div(&constant(&g, [1.0f32, 3.0], ""), &constant(&g, 2.0f32, "")).unwrap();
/// assert_eq!(y.op().name(), "truediv");
/// assert_eq!(y.op().op_type(), "RealDiv");
/// ```
pub fn div(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let g = a.graph();
    g.check_owns(b.graph(), &b.to_string())?;
    same_dtype(g, "truediv", "RealDiv", &[a, b])?;
    expect_dtype(g, "truediv", "RealDiv", a, &[DType::F32])?;
    binary_builder(a, b, "truediv", RealDiv)
}
