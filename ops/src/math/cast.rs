//! `cast`: converts the element type.

use crate::math::kernels::unary;
use crate::util::add1;
use rustflow_graph::{DType, GradContext, KernelContext, Op, Result, Tensor, TensorSpec, Value};

/// The `Cast` op.
#[derive(Debug)]
pub struct Cast {
    dtype: DType,
}

/// `x` converted to `to`: bool to numbers gives 1/0, numbers to bool test `!= 0`, float to
/// int truncates toward zero (saturating; NaN gives 0), int64 to int32 wraps.
pub(crate) fn cast_value(x: &Value, to: DType) -> Result<Value> {
    use DType::*;
    if x.dtype() == to {
        return Ok(x.clone());
    }
    match (x.dtype(), to) {
        (F32, I32) => unary(x, |v: f32| v as i32),
        (F32, I64) => unary(x, |v: f32| v as i64),
        (F32, Bool) => unary(x, |v: f32| v != 0.0),
        (I32, F32) => unary(x, |v: i32| v as f32),
        (I32, I64) => unary(x, |v: i32| v as i64),
        (I32, Bool) => unary(x, |v: i32| v != 0),
        (I64, F32) => unary(x, |v: i64| v as f32),
        (I64, I32) => unary(x, |v: i64| v as i32),
        (I64, Bool) => unary(x, |v: i64| v != 0),
        (Bool, F32) => unary(x, |v: bool| v as u8 as f32),
        (Bool, I32) => unary(x, |v: bool| v as i32),
        (Bool, I64) => unary(x, |v: bool| v as i64),
        _ => Ok(x.clone()),
    }
}

impl Op for Cast {
    fn op_type(&self) -> &'static str {
        "Cast"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        Ok(vec![cast_value(ctx.input(0), self.dtype)?])
    }
    /// Float to float passes the upstream through; any cast from or to a non-float type
    /// has no gradient.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let float = gc.x(0).dtype().is_float() && self.dtype.is_float();
        Ok(vec![if float { Some(gc.dy(0).clone()) } else { None }])
    }
    fn attrs(&self) -> String {
        format!("DstT={}", self.dtype)
    }
}

/// `x` converted to `dtype` (`tf.cast`; node `Cast`): bool to float gives 1.0/0.0, float to
/// int truncates toward zero. Casting to `x`'s own dtype returns `x` itself, as TensorFlow
/// does. The gradient passes only from float to float.
///
/// ```
/// use rustflow_graph::{DType, Graph};
/// use rustflow_ops::{cast, constant};
/// let g = Graph::new();
/// let c = cast(&constant(&g, [true, false], ""), DType::F32).unwrap();
/// assert_eq!(c.dtype(), DType::F32);
/// assert_eq!(c.op().op_type(), "Cast");
/// ```
pub fn cast(x: &Tensor, dtype: DType) -> Result<Tensor> {
    if x.dtype() == dtype {
        return Ok(x.clone());
    }
    add1(
        x.graph(),
        "Cast",
        Cast { dtype },
        &[x],
        TensorSpec::new(dtype, x.shape()),
    )
}
