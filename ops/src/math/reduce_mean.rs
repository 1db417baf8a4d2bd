//! `reduce_mean`.

use crate::math::reduce::{
    final_shape, reduce_builder, reduce_grad, reduce_kernel, resolve_run, Axes,
};
use crate::util::expect_dtype;
use rustflow_graph::{DType, Error, GradContext, KernelContext, Op, Result, Tensor, Value};

/// The `Mean` op.
#[derive(Debug)]
pub struct Mean {
    axes: Axes,
    keep_dims: bool,
}

impl Op for Mean {
    fn op_type(&self) -> &'static str {
        "Mean"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let x = ctx.input(0);
        let axes = resolve_run(&self.axes, x)?;
        let count: usize = axes.iter().map(|&a| x.shape()[a]).product();
        let v = match x.dtype() {
            DType::F32 => {
                let (kept, d) = reduce_kernel(x, &axes, 0f32, |a, b| a + b)?;
                let n = count as f32;
                let d = d.into_iter().map(|s| s / n).collect();
                Value::new(&final_shape(&kept, &axes, self.keep_dims), d)?
            }
            DType::I32 => {
                let (kept, d) = widen_i32(x, &axes)?;
                let d = d.into_iter().map(|s| int_mean(s, count) as i32).collect();
                Value::new(&final_shape(&kept, &axes, self.keep_dims), d)?
            }
            DType::I64 => {
                let (kept, d) = reduce_kernel(x, &axes, 0i64, i64::wrapping_add)?;
                let d = d.into_iter().map(|s| int_mean(s, count)).collect();
                Value::new(&final_shape(&kept, &axes, self.keep_dims), d)?
            }
            d => return Err(Error::Kernel(format!("reduce_mean is not defined for {d}"))),
        };
        Ok(vec![v])
    }
    /// The upstream broadcast back and divided by the number of reduced elements (counted at
    /// run time, so an unknown batch size works).
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        reduce_grad(gc, &self.axes, true)
    }
    fn attrs(&self) -> String {
        format!("axis={:?}, keep_dims={}", self.axes, self.keep_dims)
    }
}

/// An int32 input summed in i64 (so the sum of many int32s does not wrap).
fn widen_i32(x: &Value, axes: &[usize]) -> Result<(Vec<usize>, Vec<i64>)> {
    let wide = Value::new(
        x.shape(),
        x.as_slice::<i32>()?.iter().map(|&v| v as i64).collect(),
    )?;
    reduce_kernel(&wide, axes, 0i64, i64::wrapping_add)
}

/// Integer division truncating toward zero, as TensorFlow's integer mean; 0 for no elements.
fn int_mean(sum: i64, count: usize) -> i64 {
    sum.checked_div(count as i64).unwrap_or(0)
}

/// The mean over `axis` (`tf.reduce_mean(x, axis, keepdims)`; node `Mean`); `None` averages
/// everything. The mean of an integer tensor truncates (`[1, 2]` gives 1), as TensorFlow's.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{placeholder, reduce_mean};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 10], "x");
/// assert_eq!(reduce_mean(&x, 1, true).unwrap().shape().to_string(), "[?,1]");
/// assert_eq!(reduce_mean(&x, None, false).unwrap().shape().to_string(), "[]");
/// ```
pub fn reduce_mean(x: &Tensor, axis: impl Into<Axes>, keep_dims: bool) -> Result<Tensor> {
    expect_dtype(
        x.graph(),
        "Mean",
        "Mean",
        x,
        &[DType::F32, DType::I32, DType::I64],
    )?;
    let axes = axis.into();
    reduce_builder(
        x,
        &axes.clone(),
        keep_dims,
        "Mean",
        Mean { axes, keep_dims },
    )
}
