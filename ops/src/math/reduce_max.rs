//! `reduce_max` and `reduce_min`.

use crate::math::reduce::{final_shape, reduce_builder, reduce_kernel, resolve_run, Axes};
use crate::math::reduce_max_grad::reduce_max_grad;
use rustflow_graph::{DType, Error, GradContext, KernelContext, Op, Result, Tensor, Value};

/// The `Max` op, or `Min`.
#[derive(Debug)]
pub struct Max {
    axes: Axes,
    keep_dims: bool,
    min: bool,
}

impl Op for Max {
    fn op_type(&self) -> &'static str {
        if self.min {
            "Min"
        } else {
            "Max"
        }
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let x = ctx.input(0);
        let axes = resolve_run(&self.axes, x)?;
        let shape = |kept: &[usize]| final_shape(kept, &axes, self.keep_dims);
        let v = match (x.dtype(), self.min) {
            (DType::F32, false) => {
                // NaN propagates; an empty slice gives -inf.
                let max = |a: f32, b: f32| if a >= b || a.is_nan() { a } else { b };
                let (kept, d) = reduce_kernel(x, &axes, f32::NEG_INFINITY, max)?;
                Value::new(&shape(&kept), d)?
            }
            (DType::F32, true) => {
                let min = |a: f32, b: f32| if a <= b || a.is_nan() { a } else { b };
                let (kept, d) = reduce_kernel(x, &axes, f32::INFINITY, min)?;
                Value::new(&shape(&kept), d)?
            }
            (DType::I32, false) => {
                let (kept, d) = reduce_kernel(x, &axes, i32::MIN, i32::max)?;
                Value::new(&shape(&kept), d)?
            }
            (DType::I32, true) => {
                let (kept, d) = reduce_kernel(x, &axes, i32::MAX, i32::min)?;
                Value::new(&shape(&kept), d)?
            }
            (DType::I64, false) => {
                let (kept, d) = reduce_kernel(x, &axes, i64::MIN, i64::max)?;
                Value::new(&shape(&kept), d)?
            }
            (DType::I64, true) => {
                let (kept, d) = reduce_kernel(x, &axes, i64::MAX, i64::min)?;
                Value::new(&shape(&kept), d)?
            }
            (d, _) => {
                return Err(Error::Kernel(format!(
                    "{} is not defined for {d}",
                    self.op_type()
                )))
            }
        };
        Ok(vec![v])
    }
    /// The upstream goes to the maximal (minimal) elements, split equally among ties
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
    let axes = axis.into();
    let op = Max {
        axes: axes.clone(),
        keep_dims,
        min: false,
    };
    reduce_builder(x, &axes, keep_dims, "Max", op)
}

/// The minimum over `axis` (`tf.reduce_min(x, axis, keepdims)`; node `Min`); `None` reduces
/// everything. The gradient is split equally among tied minima.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{placeholder, reduce_min};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 10], "x");
/// assert_eq!(reduce_min(&x, 0, true).unwrap().shape().to_string(), "[1,10]");
/// ```
pub fn reduce_min(x: &Tensor, axis: impl Into<Axes>, keep_dims: bool) -> Result<Tensor> {
    let axes = axis.into();
    let op = Max {
        axes: axes.clone(),
        keep_dims,
        min: true,
    };
    reduce_builder(x, &axes, keep_dims, "Min", op)
}
