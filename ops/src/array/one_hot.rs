//! `one_hot`: indices spelled out as one-hot vectors.

use crate::array::common::index_values;
use crate::util::{add1, expect_dtype, norm_axis, shape_error};
use rustflow_graph::{
    fmt_dims, not_differentiable, DType, Error, GradContext, KernelContext, Op, Result, Shape,
    Tensor, TensorSpec, Value,
};

/// The `OneHot` op (float32 output).
#[derive(Debug)]
pub struct OneHot {
    depth: usize,
    on: f32,
    off: f32,
    axis: i64,
}

impl Op for OneHot {
    fn op_type(&self) -> &'static str {
        "OneHot"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let ind = ctx.input(0);
        let s = ind.shape();
        let a = norm_axis(self.axis, s.len() + 1)
            .filter(|_| self.axis >= -1)
            .ok_or_else(|| {
                Error::Kernel(format!(
                "Expected axis to be -1 or between [0, {}). But received: {} (indices shape {})",
                s.len() + 1,
                self.axis,
                fmt_dims(s)
            ))
            })?;
        let mut shape = s.to_vec();
        shape.insert(a, self.depth);
        ctx.check_output(DType::F32, &shape)?;
        let inner: usize = s[a..].iter().product();
        let idx = index_values(ind)?;
        let mut out = Vec::with_capacity(idx.len() * self.depth);
        for row in idx.chunks(inner.max(1)) {
            for d in 0..self.depth as i64 {
                out.extend(row.iter().map(|&i| if i == d { self.on } else { self.off }));
            }
        }
        Ok(vec![Value::new(&shape, out)?])
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        not_differentiable(gc)
    }
    fn attrs(&self) -> String {
        format!(
            "depth={} on_value={} off_value={} axis={}",
            self.depth, self.on, self.off, self.axis
        )
    }
}

/// Each index of `indices` (int32/int64) as a float32 vector of `depth` elements,
/// `on_value` at the index and `off_value` elsewhere, along a new dimension `axis` (-1:
/// last) (`tf.one_hot(indices, depth, on_value, off_value, axis)`; op `OneHot`). An index
/// outside `[0, depth)` gives a vector of `off_value`s.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{one_hot, placeholder};
/// let g = Graph::new();
/// let labels = placeholder(&g, DType::I64, shape![?], "labels");
/// assert_eq!(one_hot(&labels, 10, 1.0, 0.0, -1).unwrap().shape().to_string(), "[?,10]");
/// assert_eq!(one_hot(&labels, 10, 1.0, 0.0, 0).unwrap().shape().to_string(), "[10,?]");
/// assert!(one_hot(&labels, 10, 1.0, 0.0, 2).is_err());
/// ```
pub fn one_hot(
    indices: &Tensor,
    depth: usize,
    on_value: f32,
    off_value: f32,
    axis: i64,
) -> Result<Tensor> {
    let g = indices.graph();
    expect_dtype(g, "one_hot", "OneHot", indices, &[DType::I32, DType::I64])?;
    let shape = match indices.shape().dims() {
        None => Shape::unknown(),
        Some(d) => {
            let a = norm_axis(axis, d.len() + 1)
                .filter(|_| axis >= -1)
                .ok_or_else(|| {
                    shape_error(
                        g,
                        "one_hot",
                        "OneHot",
                        format!(
                            "Expected axis to be -1 or between [0, {}). But received: {axis}",
                            d.len() + 1
                        ),
                        &[indices],
                    )
                })?;
            let mut d = d.to_vec();
            d.insert(a, Some(depth));
            Shape::new(d)
        }
    };
    let op = OneHot {
        depth,
        on: on_value,
        off: off_value,
        axis,
    };
    add1(
        g,
        "one_hot",
        op,
        &[indices],
        TensorSpec::new(DType::F32, shape),
    )
}
