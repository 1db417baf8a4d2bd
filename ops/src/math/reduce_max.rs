//! `reduce_max`.

use crate::math::reduce::{final_shape, reduce_builder, reduce_kernel, resolve_run, Axes};
use crate::math::reduce_max_grad::reduce_max_grad;
use crate::util::expect_dtype;
use rustflow_graph::{DType, Error, GradContext, KernelContext, Op, Result, Tensor, Value};

/// The `Max` op.
#[derive(Debug)]
pub struct Max {
    axes: Axes,
    keep_dims: bool,
}

impl Op for Max {
    fn op_type(&self) -> &'static str {
        "Max"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let x = ctx.input(0);
        let axes = resolve_run(&self.axes, x)?;
        let v = match x.dtype() {
            DType::F32 => {
                // NaN propagates; an empty slice gives -inf.
                let max = |a: f32, b: f32| if a >= b || a.is_nan() { a } else { b };
                let (kept, d) = reduce_kernel(x, &axes, f32::NEG_INFINITY, max)?;
                Value::new(&final_shape(&kept, &axes, self.keep_dims), d)?
            }
            DType::I32 => {
                let (kept, d) = reduce_kernel(x, &axes, i32::MIN, i32::max)?;
                Value::new(&final_shape(&kept, &axes, self.keep_dims), d)?
            }
            DType::I64 => {
                let (kept, d) = reduce_kernel(x, &axes, i64::MIN, i64::max)?;
                Value::new(&final_shape(&kept, &axes, self.keep_dims), d)?
            }
            d => return Err(Error::Kernel(format!("reduce_max is not defined for {d}"))),
        };
        Ok(vec![v])
    }
    /// The upstream goes to the maximal elements, split equally among ties
    /// (`[[3, 1, 3]]` → `[[0.5, 0, 0.5]]`).
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let dy = gc.dy(0);
        Ok(vec![Some(reduce_max_grad(
            dy,
            gc.x(0),
            gc.y(0),
            &self.axes,
        )?)])
    }
    fn attrs(&self) -> String {
        format!("axis={:?}, keep_dims={}", self.axes, self.keep_dims)
    }
}

/// The maximum over `axis` (`tf.reduce_max(x, axis, keepdims)`; node `Max`); `None` reduces
/// everything. The gradient is split equally among tied maxima.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{placeholder, reduce_max};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 10], "x");
/// assert_eq!(reduce_max(&x, -1, false).unwrap().shape().to_string(), "[?]");
/// ```
pub fn reduce_max(x: &Tensor, axis: impl Into<Axes>, keep_dims: bool) -> Result<Tensor> {
    expect_dtype(
        x.graph(),
        "Max",
        "Max",
        x,
        &[DType::F32, DType::I32, DType::I64],
    )?;
    let axes = axis.into();
    reduce_builder(x, &axes.clone(), keep_dims, "Max", Max { axes, keep_dims })
}
