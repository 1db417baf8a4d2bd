//! `argmax`.

use crate::util::{add1, expect_dtype, norm_axis, shape_error};
use rustflow_graph::{
    fmt_dims, not_differentiable, DType, Element, Error, GradContext, KernelContext, Op, Result,
    Shape, Tensor, TensorSpec, Value,
};

/// The `ArgMax` op (output int64).
#[derive(Debug)]
pub struct ArgMax {
    axis: i64,
}

/// The index of the first maximum along the middle axis of `x` seen as `[outer, n, inner]`.
fn argmax_kernel<T: Element + PartialOrd>(x: &[T], n: usize, inner: usize) -> Vec<i64> {
    let outer = x.len().checked_div(n * inner).unwrap_or(0);
    let mut out = vec![0i64; outer * inner];
    let mut best: Vec<T> = Vec::with_capacity(inner);
    for (o, block) in x.chunks_exact((n * inner).max(1)).take(outer).enumerate() {
        let dst = &mut out[o * inner..(o + 1) * inner];
        best.clear();
        best.extend_from_slice(&block[..inner]);
        for (j, row) in block.chunks_exact(inner).enumerate().skip(1) {
            for ((b, d), &v) in best.iter_mut().zip(dst.iter_mut()).zip(row) {
                // Strictly greater: the smallest index wins ties.
                if v > *b {
                    *b = v;
                    *d = j as i64;
                }
            }
        }
    }
    out
}

impl Op for ArgMax {
    fn op_type(&self) -> &'static str {
        "ArgMax"
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        not_differentiable(gc)
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let x = ctx.input(0);
        let shape = x.shape();
        let axis = norm_axis(self.axis, shape.len()).ok_or_else(|| {
            Error::Kernel(format!(
                "Expected dimension in the range [{}, {}), but got {} (input shape {})",
                -(shape.len() as i64),
                shape.len(),
                self.axis,
                fmt_dims(shape)
            ))
        })?;
        let n = shape[axis];
        let out_shape: Vec<usize> = shape
            .iter()
            .enumerate()
            .filter(|&(i, _)| i != axis)
            .map(|(_, &d)| d)
            .collect();
        let out_len: usize = out_shape.iter().product();
        if n == 0 && out_len > 0 {
            return Err(Error::Kernel(format!(
                "Reduction axis {axis} is empty in shape {}",
                fmt_dims(shape)
            )));
        }
        let inner: usize = shape[axis + 1..].iter().product();
        let data = match x.dtype() {
            DType::F32 => argmax_kernel(x.as_slice::<f32>()?, n, inner),
            DType::I32 => argmax_kernel(x.as_slice::<i32>()?, n, inner),
            DType::I64 => argmax_kernel(x.as_slice::<i64>()?, n, inner),
            d => return Err(Error::Kernel(format!("argmax is not defined for {d}"))),
        };
        Ok(vec![Value::new(&out_shape, data)?])
    }
    fn attrs(&self) -> String {
        format!("axis={}", self.axis)
    }
}

/// The index of the largest element along `axis` (`tf.argmax(x, axis)`; node `ArgMax`),
/// as int64, with `axis` removed from the shape. Ties give the smallest index. No gradient.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{argmax, placeholder};
/// let g = Graph::new();
/// let y = placeholder(&g, DType::F32, shape![?, 10], "y");
/// let a = argmax(&y, 1).unwrap();
/// assert_eq!(a.shape().to_string(), "[?]");
/// assert_eq!(a.dtype(), DType::I64);
/// ```
pub fn argmax(x: &Tensor, axis: i64) -> Result<Tensor> {
    let g = x.graph();
    expect_dtype(
        g,
        "ArgMax",
        "ArgMax",
        x,
        &[DType::F32, DType::I32, DType::I64],
    )?;
    let shape = match x.shape().dims() {
        None => Shape::unknown(),
        Some(dims) => {
            let r = dims.len();
            let a = norm_axis(axis, r).ok_or_else(|| {
                let msg = format!(
                    "Expected dimension in the range [{}, {r}), but got {axis}",
                    -(r as i64)
                );
                shape_error(g, "ArgMax", "ArgMax", msg, &[x])
            })?;
            Shape::new(
                dims.iter()
                    .enumerate()
                    .filter(|&(i, _)| i != a)
                    .map(|(_, &d)| d)
                    .collect(),
            )
        }
    };
    add1(
        g,
        "ArgMax",
        ArgMax { axis },
        &[x],
        TensorSpec::new(DType::I64, shape),
    )
}
