//! `reduce_sum`.

use crate::math::reduce::{
    final_shape, reduce_builder, reduce_grad, reduce_kernel, resolve_run, Axes,
};
use rustflow_graph::{DType, Error, GradContext, KernelContext, Op, Result, Tensor, Value};

/// The `Sum` op.
#[derive(Debug)]
pub struct Sum {
    axes: Axes,
    keep_dims: bool,
}

impl Op for Sum {
    fn op_type(&self) -> &'static str {
        "Sum"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let x = ctx.input(0);
        let axes = resolve_run(&self.axes, x)?;
        let v = match x.dtype() {
            DType::F32 => {
                let (kept, d) = reduce_kernel(x, &axes, 0f32, |a, b| a + b)?;
                Value::new(&final_shape(&kept, &axes, self.keep_dims), d)?
            }
            DType::I32 => {
                let (kept, d) = reduce_kernel(x, &axes, 0i32, i32::wrapping_add)?;
                Value::new(&final_shape(&kept, &axes, self.keep_dims), d)?
            }
            DType::I64 => {
                let (kept, d) = reduce_kernel(x, &axes, 0i64, i64::wrapping_add)?;
                Value::new(&final_shape(&kept, &axes, self.keep_dims), d)?
            }
            d => return Err(Error::Kernel(format!("reduce_sum is not defined for {d}"))),
        };
        Ok(vec![v])
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        reduce_grad(gc, &self.axes, false)
    }
    fn attrs(&self) -> String {
        format!("axis={:?}, keep_dims={}", self.axes, self.keep_dims)
    }
}

/// The sum over `axis` (`tf.reduce_sum(x, axis, keepdims)`); `None` sums everything.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{placeholder, reduce_sum};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 10], "x");
/// assert_eq!(reduce_sum(&x, 1, false).unwrap().shape().to_string(), "[?]");
/// assert_eq!(reduce_sum(&x, None, false).unwrap().shape().to_string(), "[]");
/// assert!(reduce_sum(&x, 2, false).is_err());
/// ```
pub fn reduce_sum(x: &Tensor, axis: impl Into<Axes>, keep_dims: bool) -> Result<Tensor> {
    let axes = axis.into();
    reduce_builder(x, &axes.clone(), keep_dims, "Sum", Sum { axes, keep_dims })
}
