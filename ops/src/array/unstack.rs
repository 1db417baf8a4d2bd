//! `unstack`: a tensor unpacked along an axis into the slices of that axis.

use crate::array::common::{build_axis, run_axis, split_value};
use crate::array::stack::stack;
use crate::util::{add, arg_error};
use rustflow_graph::{
    fmt_dims, Error, GradContext, KernelContext, Op, Result, Shape, Tensor, TensorSpec, Value,
};

/// The `Unpack` op: `num` outputs, the slices of `axis`.
#[derive(Debug)]
pub struct Unpack {
    axis: i64,
    num: usize,
}

impl Op for Unpack {
    fn op_type(&self) -> &'static str {
        "Unpack"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let x = ctx.input(0);
        let axis = run_axis(self.axis, x.shape())?;
        if x.shape()[axis] != self.num {
            return Err(Error::Kernel(format!(
                "Input shape axis {axis} must equal {}, got shape {}",
                self.num,
                fmt_dims(x.shape())
            )));
        }
        split_value(x, axis, &vec![1; self.num], true)
    }
    /// The upstreams stacked along the same axis.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let dys: Vec<&Tensor> = gc.grads.iter().collect();
        Ok(vec![Some(stack(&dys, self.axis)?)])
    }
    fn attrs(&self) -> String {
        format!("axis={} num={}", self.axis, self.num)
    }
}

/// The slices of `x` along `axis`, as a list (`tf.unstack(x, num, axis)`; node `unstack`, op
/// `Unpack`). `num` may be `None` when the axis' size is known at build time.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{placeholder, unstack};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![4, ?, 5], "x");
/// let steps = unstack(&x, 0, None).unwrap();
/// assert_eq!((steps.len(), steps[0].shape().to_string()), (4, "[?,5]".into()));
/// assert!(unstack(&x, 1, None).is_err());
/// ```
pub fn unstack(x: &Tensor, axis: i64, num: Option<usize>) -> Result<Vec<Tensor>> {
    let g = x.graph();
    let a = build_axis(g, "unstack", "Unpack", axis, x.shape().rank(), &[x])?;
    let dim = a.and_then(|a| x.shape().dim(a));
    let num = match (num, dim) {
        (Some(n), Some(d)) if n != d => {
            return Err(arg_error(
                g,
                "unstack",
                "Unpack",
                format!(
                    "num = {n} but axis {axis} of shape {} has size {d}",
                    x.shape()
                ),
            ))
        }
        (Some(n), _) | (None, Some(n)) => n,
        (None, None) => {
            return Err(arg_error(
                g,
                "unstack",
                "Unpack",
                format!("Cannot infer argument `num` from shape {}", x.shape()),
            ))
        }
    };
    let shape = match (a, x.shape().dims()) {
        (Some(a), Some(d)) => {
            let mut d = d.to_vec();
            d.remove(a);
            Shape::new(d)
        }
        _ => Shape::unknown(),
    };
    let specs = vec![TensorSpec::new(x.dtype(), shape); num];
    Ok(add(g, "unstack", Unpack { axis, num }, &[x], specs)?.outputs())
}
