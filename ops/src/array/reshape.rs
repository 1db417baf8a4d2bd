//! `reshape`: the same elements under another shape, without a copy.

use crate::array::reshape_like::reshape_like;
use crate::util::{add1, shape_error};
use rustflow_graph::{
    fmt_dims, Error, GradContext, KernelContext, Op, Result, Shape, Tensor, TensorSpec, Value,
};

/// The `Reshape` op; the target shape is an attribute (one entry may be -1).
#[derive(Debug)]
pub struct Reshape {
    shape: Vec<i64>,
}

/// A requested shape checked on its own: the index of the `-1`, if any, and the product of
/// the other entries (TensorFlow's messages for anything else).
fn parse_target(shape: &[i64]) -> std::result::Result<(Option<usize>, usize), String> {
    let mut unknown = None;
    let mut product = 1usize;
    for (i, &d) in shape.iter().enumerate() {
        if d == -1 {
            if let Some(u) = unknown {
                return Err(format!(
                    "Only one input size may be -1, not both {u} and {i}"
                ));
            }
            unknown = Some(i);
        } else if d < 0 {
            return Err(format!("Size {i} must be non-negative, not {d}"));
        } else {
            product = product
                .checked_mul(d as usize)
                .ok_or_else(|| format!("Requested shape {shape:?} has too many elements"))?;
        }
    }
    Ok((unknown, product))
}

const EMPTY_MSG: &str = "Reshape cannot infer the missing input size for an empty tensor unless all specified input sizes are non-zero";

/// The concrete output shape for an input of `n` elements (run-time messages).
fn resolve(shape: &[i64], n: usize) -> Result<Vec<usize>> {
    let (unknown, product) = parse_target(shape).map_err(Error::Kernel)?;
    let mut out: Vec<usize> = shape.iter().map(|&d| d.max(0) as usize).collect();
    match unknown {
        Some(k) => {
            if product == 0 {
                return Err(Error::Kernel(EMPTY_MSG.into()));
            }
            if !n.is_multiple_of(product) {
                return Err(Error::Kernel(format!(
                    "Input to reshape is a tensor with {n} values, but the requested shape requires a multiple of {product}"
                )));
            }
            out[k] = n / product;
        }
        None if product != n => {
            return Err(Error::Kernel(format!(
            "Input to reshape is a tensor with {n} values, but the requested shape has {product}"
        )))
        }
        None => {}
    }
    Ok(out)
}

impl Op for Reshape {
    fn op_type(&self) -> &'static str {
        "Reshape"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let x = ctx.take_input(0);
        let shape = resolve(&self.shape, x.len())?;
        Ok(vec![x.reshaped(&shape)?])
    }
    /// The upstream reshaped back to the input's run-time shape.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let dy = gc.dy(0);
        Ok(vec![Some(reshape_like(dy, gc.x(0))?)])
    }
    fn attrs(&self) -> String {
        format!("shape={:?}", self.shape)
    }
}

/// `x`'s elements, in row-major order, under `shape` (`tf.reshape`; node `Reshape`). One
/// entry may be -1: it is inferred from the element count. Checked at build time when
/// `x`'s element count is known (TensorFlow's messages), else at run time. The kernel never
/// copies: the output shares the input's buffer.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{placeholder, reshape};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 784], "x");
/// let image = reshape(&x, &[-1, 28, 28, 1]).unwrap();
/// assert_eq!(image.shape().to_string(), "[?,28,28,1]");
/// let y = placeholder(&g, DType::F32, shape![2, 3], "y");
/// assert_eq!(reshape(&y, &[3, -1]).unwrap().shape().to_string(), "[3,2]");
/// assert!(reshape(&y, &[-1, 4]).is_err());
/// ```
pub fn reshape(x: &Tensor, shape: &[i64]) -> Result<Tensor> {
    let g = x.graph();
    let err = |msg: String| shape_error(g, "Reshape", "Reshape", msg, &[x]);
    let (unknown, product) = parse_target(shape).map_err(err)?;
    let mut dims: Vec<Option<usize>> = shape
        .iter()
        .map(|&d| (d >= 0).then_some(d as usize))
        .collect();
    if let Some(n) = x.shape().num_elements() {
        match unknown {
            Some(_) if product == 0 => return Err(err(EMPTY_MSG.into())),
            Some(k) if n.is_multiple_of(product) => dims[k] = Some(n / product),
            Some(_) => {
                return Err(err(format!(
                    "Dimension size must be evenly divisible by {product} but is {n}"
                )))
            }
            None if n != product => {
                let want = fmt_dims(&shape.iter().map(|&d| d as usize).collect::<Vec<_>>());
                return Err(err(format!(
                    "Cannot reshape a tensor with {n} elements to shape {want} ({product} elements)"
                )));
            }
            None => {}
        }
    }
    add1(
        g,
        "Reshape",
        Reshape {
            shape: shape.to_vec(),
        },
        &[x],
        TensorSpec::new(x.dtype(), Shape::new(dims)),
    )
}
