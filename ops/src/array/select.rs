//! `select` (TF1's three-argument `tf.where`): elements or rows picked by a condition.

use crate::array::common::dispatch;
use crate::state::zeros_like;
use crate::util::{add1, expect_dtype, same_dtype, shape_error};
use rustflow_graph::{
    fmt_dims, DType, Element, Error, GradContext, KernelContext, Op, Result, Shape, Tensor,
    TensorSpec, Value,
};

/// The `Select` op: input 0 the bool condition, inputs 1 and 2 the values.
#[derive(Debug)]
pub struct Select;

/// How many consecutive elements of `x` each condition element decides, for a condition of
/// `c` and values of `x` (same shape, a vector over the first dimension, or a scalar).
fn block(c: &[usize], x: &[usize]) -> Option<usize> {
    let n: usize = x.iter().product();
    if c == x {
        Some(1)
    } else if c.is_empty() {
        Some(n)
    } else if c.len() == 1 && x.first() == Some(&c[0]) {
        Some(x[1..].iter().product())
    } else {
        None
    }
}

fn pick<T: Element>(c: &[bool], x: &Value, y: &Value, block: usize) -> Result<Value> {
    let (xs, ys) = (x.as_slice::<T>()?, y.as_slice::<T>()?);
    let out = xs
        .iter()
        .zip(ys)
        .enumerate()
        .map(|(i, (&a, &b))| if c[i / block.max(1)] { a } else { b })
        .collect();
    Value::new(x.shape(), out)
}

impl Op for Select {
    fn op_type(&self) -> &'static str {
        "Select"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let (c, x, y) = (ctx.input(0), ctx.input(1), ctx.input(2));
        let b = block(c.shape(), x.shape()).filter(|_| x.shape() == y.shape());
        let Some(b) = b else {
            return Err(Error::Kernel(format!(
                "condition must be a scalar, a vector of the first dimension, or the shape of 'then' and 'else' (which must match): condition {}, then {}, else {}",
                fmt_dims(c.shape()),
                fmt_dims(x.shape()),
                fmt_dims(y.shape())
            )));
        };
        let c = c.as_slice::<bool>()?;
        Ok(vec![dispatch!(x.dtype(), T => pick::<T>(c, x, y, b)?)])
    }
    /// The upstream where each value was picked, zeros elsewhere; the condition gets none.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let (c, dy) = (gc.x(0), gc.dy(0));
        let zeros = zeros_like(dy)?;
        Ok(vec![
            None,
            Some(select(c, dy, &zeros)?),
            Some(select(c, &zeros, dy)?),
        ])
    }
}

/// The elements of `x` where `condition` is true and of `y` elsewhere (TF1's
/// `tf.where(condition, x, y)`; op `Select`). `condition` (bool) has `x`'s shape, or is a
/// vector over `x`'s first dimension (whole rows are picked), or a scalar.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{placeholder, select};
/// let g = Graph::new();
/// let rows = placeholder(&g, DType::Bool, shape![?], "rows");
/// let x = placeholder(&g, DType::F32, shape![?, 4], "x");
/// let y = placeholder(&g, DType::F32, shape![?, 4], "y");
/// assert_eq!(select(&rows, &x, &y).unwrap().shape().to_string(), "[?,4]");
/// let bad = placeholder(&g, DType::Bool, shape![?, 3], "bad");
/// assert!(select(&bad, &x, &y).is_err());
/// ```
pub fn select(condition: &Tensor, x: &Tensor, y: &Tensor) -> Result<Tensor> {
    let g = x.graph();
    for t in [condition, y] {
        g.check_owns(t.graph(), &t.to_string())?;
    }
    expect_dtype(g, "Select", "Select", condition, &[DType::Bool])?;
    let dtype = same_dtype(g, "Select", "Select", &[x, y])?;
    let err = |m: String| shape_error(g, "Select", "Select", m, &[condition, x, y]);
    let shape = x
        .shape()
        .merge(&y.shape())
        .ok_or_else(|| err("'then' and 'else' must have the same shape".into()))?;
    if let (Some(c), Some(d)) = (condition.shape().dims(), shape.dims()) {
        let fits = c.is_empty()
            || Shape::new(c.to_vec()).is_compatible(&shape)
            || (c.len() == 1
                && !d.is_empty()
                && Shape::new(vec![c[0]]).is_compatible(&Shape::new(vec![d[0]])));
        if !fits {
            return Err(err(
                "condition must be a scalar, a vector of the first dimension, or the shape of 'then' and 'else'".into(),
            ));
        }
    }
    add1(
        g,
        "Select",
        Select,
        &[condition, x, y],
        TensorSpec::new(dtype, shape),
    )
}
