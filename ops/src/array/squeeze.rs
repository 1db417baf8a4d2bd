//! `squeeze`: size-1 dimensions removed, without a copy.

use crate::array::reshape_like::reshape_like;
use crate::util::{add1, norm_axis, shape_error};
use rustflow_graph::{
    fmt_dims, Dim, Error, GradContext, KernelContext, Op, Result, Shape, Tensor, TensorSpec, Value,
};

/// The `Squeeze` op: removes the listed dimensions (each must be 1), or every size-1
/// dimension when `axes` is `None`.
#[derive(Debug)]
pub struct Squeeze {
    axes: Option<Vec<i64>>,
}

impl Squeeze {
    /// Which dimensions of `dims` to keep, or TensorFlow's message of why the squeeze fails.
    /// An unknown dimension listed in `axes` is taken to be 1; without `axes`, unknown
    /// dimensions make the result unknown (`None`).
    fn keep(&self, dims: &[Dim]) -> std::result::Result<Option<Vec<bool>>, String> {
        let Some(axes) = &self.axes else {
            if dims.iter().any(Option::is_none) {
                return Ok(None);
            }
            return Ok(Some(dims.iter().map(|&d| d != Some(1)).collect()));
        };
        let mut keep = vec![true; dims.len()];
        for &a in axes {
            let i = norm_axis(a, dims.len()).ok_or_else(|| {
                format!(
                    "Tried to squeeze dim index {a} for tensor with {} dimensions.",
                    dims.len()
                )
            })?;
            match dims[i] {
                Some(d) if d != 1 => {
                    return Err(format!(
                        "Can not squeeze dim[{i}], expected a dimension of 1, got {d}"
                    ))
                }
                _ => keep[i] = false,
            }
        }
        Ok(Some(keep))
    }
}

impl Op for Squeeze {
    fn op_type(&self) -> &'static str {
        "Squeeze"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let x = ctx.take_input(0);
        let dims: Vec<Dim> = x.shape().iter().map(|&d| Some(d)).collect();
        let keep = self
            .keep(&dims)
            .map_err(|m| Error::Kernel(format!("{m} (shape {})", fmt_dims(x.shape()))))?
            .unwrap_or_default();
        let shape: Vec<usize> = x
            .shape()
            .iter()
            .zip(keep)
            .filter_map(|(&d, k)| k.then_some(d))
            .collect();
        Ok(vec![x.reshaped(&shape)?])
    }
    /// The upstream reshaped back to the input's run-time shape.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(reshape_like(gc.dy(0), gc.x(0))?)])
    }
    fn attrs(&self) -> String {
        format!("axis={:?}", self.axes)
    }
}

/// `x` without the size-1 dimensions `axis` (`tf.squeeze(x, axis)`; op `Squeeze`), or
/// without all of them for `None`. Axes may be negative; each must have size 1.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{placeholder, squeeze};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![1, 3, 1, 2], "x");
/// assert_eq!(squeeze(&x, None).unwrap().shape().to_string(), "[3,2]");
/// assert_eq!(squeeze(&x, Some(&[-2])).unwrap().shape().to_string(), "[1,3,2]");
/// assert!(squeeze(&x, Some(&[1])).is_err());
/// ```
pub fn squeeze(x: &Tensor, axis: Option<&[i64]>) -> Result<Tensor> {
    let g = x.graph();
    let op = Squeeze {
        axes: axis.map(<[i64]>::to_vec),
    };
    let shape = match x.shape().dims() {
        None => Shape::unknown(),
        Some(d) => match op
            .keep(d)
            .map_err(|m| shape_error(g, "Squeeze", "Squeeze", m, &[x]))?
        {
            None => Shape::unknown(),
            Some(keep) => Shape::new(
                d.iter()
                    .zip(keep)
                    .filter_map(|(&d, k)| k.then_some(d))
                    .collect(),
            ),
        },
    };
    add1(g, "Squeeze", op, &[x], TensorSpec::new(x.dtype(), shape))
}
