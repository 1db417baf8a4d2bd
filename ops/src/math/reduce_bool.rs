//! `reduce_any` and `reduce_all`: logical reductions of bool tensors.

use crate::math::reduce::{final_shape, reduce_builder_of, reduce_kernel, resolve_run, Axes};
use rustflow_graph::{
    not_differentiable, DType, GradContext, KernelContext, Op, Result, Tensor, Value,
};

/// The `Any` op, or `All` (bool in, bool out; no gradient).
#[derive(Debug)]
pub struct AnyAll {
    axes: Axes,
    keep_dims: bool,
    all: bool,
}

impl Op for AnyAll {
    fn op_type(&self) -> &'static str {
        if self.all {
            "All"
        } else {
            "Any"
        }
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let x = ctx.input(0);
        let axes = resolve_run(&self.axes, x)?;
        let (kept, d) = if self.all {
            reduce_kernel(x, &axes, true, |a, b| a && b)?
        } else {
            reduce_kernel(x, &axes, false, |a, b| a || b)?
        };
        Ok(vec![Value::new(
            &final_shape(&kept, &axes, self.keep_dims),
            d,
        )?])
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        not_differentiable(gc)
    }
    fn attrs(&self) -> String {
        format!("axis={:?}, keep_dims={}", self.axes, self.keep_dims)
    }
}

fn build(x: &Tensor, axis: Axes, keep_dims: bool, all: bool) -> Result<Tensor> {
    let op = AnyAll {
        axes: axis.clone(),
        keep_dims,
        all,
    };
    let name = op.op_type();
    reduce_builder_of(x, &axis, keep_dims, name, op, &[DType::Bool])
}

/// Whether any element over `axis` is true (`tf.reduce_any(x, axis, keepdims)`; node `Any`).
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{constant, reduce_any};
/// let g = Graph::new();
/// let y = reduce_any(&constant(&g, [[true, false]], ""), 1, false).unwrap();
/// assert_eq!(y.shape().to_string(), "[1]");
/// ```
pub fn reduce_any(x: &Tensor, axis: impl Into<Axes>, keep_dims: bool) -> Result<Tensor> {
    build(x, axis.into(), keep_dims, false)
}

/// Whether every element over `axis` is true (`tf.reduce_all(x, axis, keepdims)`; node `All`).
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{constant, reduce_all};
/// let g = Graph::new();
/// let y = reduce_all(&constant(&g, [[true, false]], ""), None, false).unwrap();
/// assert_eq!(y.shape().to_string(), "[]");
/// ```
pub fn reduce_all(x: &Tensor, axis: impl Into<Axes>, keep_dims: bool) -> Result<Tensor> {
    build(x, axis.into(), keep_dims, true)
}
