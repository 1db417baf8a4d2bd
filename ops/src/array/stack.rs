//! `stack`: tensors of one shape packed along a new axis.

use crate::array::common::{concat_values, run_axis};
use crate::array::concat::{common_rank, merged_shape};
use crate::array::unstack::unstack;
use crate::util::{add1, norm_axis, same_dtype, shape_error};
use rustflow_graph::{
    fmt_dims, Error, GradContext, KernelContext, Op, Result, Shape, Tensor, TensorSpec, Value,
};

/// The `Pack` op; `axis` is in `[-(rank + 1), rank + 1)` of the inputs' rank.
#[derive(Debug)]
pub struct Pack {
    axis: i64,
}

/// `shape` with a size-1 dimension inserted at `axis`.
fn inserted<T: Clone>(shape: &[T], axis: usize, one: T) -> Vec<T> {
    let mut s = shape.to_vec();
    s.insert(axis, one);
    s
}

impl Op for Pack {
    fn op_type(&self) -> &'static str {
        "Pack"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let values: Vec<&Value> = ctx.inputs.iter().collect();
        let first = values[0].shape();
        let axis = run_axis(self.axis, &inserted(first, 0, 1))?;
        if let Some(v) = values.iter().find(|v| v.shape() != first) {
            return Err(Error::Kernel(format!(
                "Shapes of all inputs must match: values[0].shape = {} != values[i].shape = {}",
                fmt_dims(first),
                fmt_dims(v.shape())
            )));
        }
        let shapes: Vec<Vec<usize>> = values
            .iter()
            .map(|v| inserted(v.shape(), axis, 1))
            .collect();
        Ok(vec![concat_values("Pack", &values, &shapes, axis)?])
    }
    /// The upstream unstacked along the same axis.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        Ok(unstack(gc.dy(0), self.axis, Some(gc.inputs.len()))?
            .into_iter()
            .map(Some)
            .collect())
    }
    fn attrs(&self) -> String {
        format!("axis={}", self.axis)
    }
}

/// `values` (one dtype and shape) packed along a new dimension `axis` of size `values.len()`
/// (`tf.stack(values, axis)`; node `stack`, op `Pack`); `axis` may be negative.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{placeholder, stack};
/// let g = Graph::new();
/// let a = placeholder(&g, DType::F32, shape![?, 3], "a");
/// assert_eq!(stack(&[&a, &a], 1).unwrap().shape().to_string(), "[?,2,3]");
/// assert_eq!(stack(&[&a, &a], -1).unwrap().shape().to_string(), "[?,3,2]");
/// assert!(stack(&[&a, &a], 3).is_err());
/// ```
pub fn stack(values: &[&Tensor], axis: i64) -> Result<Tensor> {
    let Some(first) = values.first() else {
        return Err(Error::Kernel("stack needs at least one value".into()));
    };
    let g = first.graph();
    for v in values {
        g.check_owns(v.graph(), &v.to_string())?;
    }
    let dtype = same_dtype(g, "stack", "Pack", values)?;
    let err = |m: String| shape_error(g, "stack", "Pack", m, values);
    let shape = match common_rank(values).map_err(err)? {
        None => Shape::unknown(),
        Some(r) => {
            let a = norm_axis(axis, r + 1).ok_or_else(|| {
                err(format!(
                    "Argument `axis` = {axis} not in range [{}, {})",
                    -(r as i64) - 1,
                    r + 1
                ))
            })?;
            let shapes: Vec<Shape> = values
                .iter()
                .map(|v| match v.shape().dims() {
                    Some(d) => Shape::new(inserted(d, a, Some(1))),
                    None => Shape::unknown(),
                })
                .collect();
            Shape::new(merged_shape(&shapes, a, |d| d).map_err(err)?)
        }
    };
    add1(
        g,
        "stack",
        Pack { axis },
        values,
        TensorSpec::new(dtype, shape),
    )
}
