//! `expand_dims`: a size-1 dimension inserted, without a copy.

use crate::array::reshape_like::reshape_like;
use crate::util::{add1, norm_axis, shape_error};
use rustflow_graph::{
    fmt_dims, Error, GradContext, KernelContext, Op, Result, Shape, Tensor, TensorSpec, Value,
};

/// The `ExpandDims` op; `axis` is in `[-(rank + 1), rank + 1)`.
#[derive(Debug)]
pub struct ExpandDims {
    axis: i64,
}

impl Op for ExpandDims {
    fn op_type(&self) -> &'static str {
        "ExpandDims"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let x = ctx.take_input(0);
        let mut shape = x.shape().to_vec();
        let a = norm_axis(self.axis, shape.len() + 1).ok_or_else(|| {
            Error::Kernel(format!(
                "Tried to expand dim index {} for tensor with {} dimensions (shape {}).",
                self.axis,
                shape.len(),
                fmt_dims(&shape)
            ))
        })?;
        shape.insert(a, 1);
        Ok(vec![x.reshaped(&shape)?])
    }
    /// The upstream reshaped back to the input's run-time shape.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(reshape_like(gc.dy(0), gc.x(0))?)])
    }
    fn attrs(&self) -> String {
        format!("axis={}", self.axis)
    }
}

/// `x` with a size-1 dimension inserted at `axis` (`tf.expand_dims(x, axis)`; op
/// `ExpandDims`); `-1` appends it.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{expand_dims, placeholder};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 4], "x");
/// assert_eq!(expand_dims(&x, 0).unwrap().shape().to_string(), "[1,?,4]");
/// assert_eq!(expand_dims(&x, -1).unwrap().shape().to_string(), "[?,4,1]");
/// assert!(expand_dims(&x, 3).is_err());
/// ```
pub fn expand_dims(x: &Tensor, axis: i64) -> Result<Tensor> {
    let g = x.graph();
    let shape = match x.shape().dims() {
        None => Shape::unknown(),
        Some(d) => {
            let a = norm_axis(axis, d.len() + 1).ok_or_else(|| {
                shape_error(
                    g,
                    "ExpandDims",
                    "ExpandDims",
                    format!(
                        "Tried to expand dim index {axis} for tensor with {} dimensions.",
                        d.len()
                    ),
                    &[x],
                )
            })?;
            let mut d = d.to_vec();
            d.insert(a, Some(1));
            Shape::new(d)
        }
    };
    add1(
        g,
        "ExpandDims",
        ExpandDims { axis },
        &[x],
        TensorSpec::new(x.dtype(), shape),
    )
}
