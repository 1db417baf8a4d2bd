//! `split`: a tensor cut along an axis into pieces.

use crate::array::common::{build_axis, run_axis, split_value, with_dim};
use crate::array::concat::concat;
use crate::util::{add, arg_error};
use rustflow_graph::{
    fmt_dims, Error, GradContext, KernelContext, Op, Result, Shape, Tensor, TensorSpec, Value,
};

/// How the axis is cut.
#[derive(Debug)]
enum Sizes {
    /// Into this many equal parts.
    Num(usize),
    /// Into parts of these sizes; one may be -1 (the rest).
    Given(Vec<i64>),
    /// Into parts as large as inputs 1.. are along the axis at run time (concat's gradient).
    Like,
}

/// The `Split` (equal parts) and `SplitV` (given sizes) ops.
#[derive(Debug)]
pub struct Split {
    axis: i64,
    sizes: Sizes,
}

impl Sizes {
    /// The sizes of the parts of an axis of size `dim`, or TensorFlow's message of why not.
    /// `likes` gives the parts' sizes for `Like`.
    fn resolve(&self, dim: usize, likes: &[usize]) -> std::result::Result<Vec<usize>, String> {
        match self {
            Sizes::Num(0) => Err("Number of ways to split should be > 0, but got 0".into()),
            Sizes::Num(k) if !dim.is_multiple_of(*k) => Err(format!(
                "Number of ways to split should evenly divide the split dimension, but got split_dim size {dim} and num_split {k}"
            )),
            Sizes::Num(k) => Ok(vec![dim / k; *k]),
            Sizes::Given(s) => {
                let mut rest = None;
                let mut sum = 0usize;
                for (i, &d) in s.iter().enumerate() {
                    match d {
                        -1 if rest.is_some() => {
                            return Err(format!(
                                "There can only be one -1 in the input: sizes {s:?}"
                            ))
                        }
                        -1 => rest = Some(i),
                        d if d < 0 => return Err(format!("Split size {d} must be >= 0 (sizes {s:?})")),
                        d => sum += d as usize,
                    }
                }
                let mut out: Vec<usize> = s.iter().map(|&d| d.max(0) as usize).collect();
                match rest {
                    Some(i) if sum <= dim => out[i] = dim - sum,
                    None if sum == dim => {}
                    _ => {
                        return Err(format!(
                            "Determined shape must either match input shape along split_dim exactly if fully specified, or be less than the size of the input along split_dim if not fully specified. Got: sizes {s:?} for a dimension of size {dim}"
                        ))
                    }
                }
                Ok(out)
            }
            Sizes::Like if likes.iter().sum::<usize>() == dim => Ok(likes.to_vec()),
            Sizes::Like => Err(format!(
                "the parts' sizes {likes:?} do not add up to the split dimension's {dim}"
            )),
        }
    }
}

impl Op for Split {
    fn op_type(&self) -> &'static str {
        match self.sizes {
            Sizes::Num(_) => "Split",
            _ => "SplitV",
        }
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let x = ctx.input(0);
        let axis = run_axis(self.axis, x.shape())?;
        let likes = ctx.inputs[1..]
            .iter()
            .map(|v| {
                v.shape().get(axis).copied().ok_or_else(|| {
                    Error::Kernel(format!(
                        "split: a part of shape {} has no axis {axis}",
                        fmt_dims(v.shape())
                    ))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let sizes = self
            .sizes
            .resolve(x.shape()[axis], &likes)
            .map_err(|m| Error::Kernel(format!("{m} (input shape {})", fmt_dims(x.shape()))))?;
        split_value(x, axis, &sizes, false)
    }
    /// The upstreams glued back together; the inputs that only give sizes get none.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let dys: Vec<&Tensor> = gc.grads.iter().collect();
        let mut out = vec![Some(concat(&dys, self.axis)?)];
        out.resize(gc.inputs.len(), None);
        Ok(out)
    }
    fn attrs(&self) -> String {
        format!("axis={} sizes={:?}", self.axis, self.sizes)
    }
}

fn build(x: &Tensor, axis: i64, sizes: Sizes, likes: &[&Tensor]) -> Result<Vec<Tensor>> {
    let g = x.graph();
    let (name, op) = match sizes {
        Sizes::Num(_) => ("split", "Split"),
        _ => ("split", "SplitV"),
    };
    let mut inputs = vec![x];
    inputs.extend_from_slice(likes);
    let axis_n = build_axis(g, name, op, axis, x.shape().rank(), &[x])?;
    let count = match &sizes {
        Sizes::Num(k) => *k,
        Sizes::Given(s) => s.len(),
        Sizes::Like => likes.len(),
    };
    let shapes: Vec<Shape> = match (axis_n, x.shape().dims()) {
        (Some(a), Some(dims)) => {
            let parts: Vec<Option<usize>> = match (&sizes, dims[a]) {
                (Sizes::Like, _) => likes.iter().map(|l| l.shape().dim(a)).collect(),
                (_, Some(d)) => sizes
                    .resolve(d, &[])
                    .map_err(|m| {
                        arg_error(g, name, op, format!("{m} (input shape {})", x.shape()))
                    })?
                    .into_iter()
                    .map(Some)
                    .collect(),
                (Sizes::Given(s), None) => {
                    s.iter().map(|&d| (d >= 0).then_some(d as usize)).collect()
                }
                _ => vec![None; count],
            };
            parts.into_iter().map(|p| with_dim(dims, a, p)).collect()
        }
        _ => vec![Shape::unknown(); count],
    };
    if count == 0 {
        return Err(arg_error(g, name, op, "split into no parts".into()));
    }
    let specs = shapes
        .into_iter()
        .map(|s| TensorSpec::new(x.dtype(), s))
        .collect();
    Ok(add(g, name, Split { axis, sizes }, &inputs, specs)?.outputs())
}

/// `x` cut along `axis` into `num` equal parts (`tf.split(x, num, axis)`; op `Split`).
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{placeholder, split};
/// let g = Graph::new();
/// let z = placeholder(&g, DType::F32, shape![?, 32], "z");
/// let parts = split(&z, 4, 1).unwrap();
/// assert_eq!(parts[3].shape().to_string(), "[?,8]");
/// assert!(split(&z, 3, 1).is_err());
/// ```
pub fn split(x: &Tensor, num: usize, axis: i64) -> Result<Vec<Tensor>> {
    build(x, axis, Sizes::Num(num), &[])
}

/// `x` cut along `axis` into parts of `sizes`, one of which may be -1 for the rest
/// (`tf.split(x, [2, -1], axis)`; op `SplitV`).
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{placeholder, split_v};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![3, 5], "x");
/// let parts = split_v(&x, &[2, -1], -1).unwrap();
/// assert_eq!(parts[1].shape().to_string(), "[3,3]");
/// ```
pub fn split_v(x: &Tensor, sizes: &[i64], axis: i64) -> Result<Vec<Tensor>> {
    build(x, axis, Sizes::Given(sizes.to_vec()), &[])
}

/// `x` cut along `axis` into parts as large as `likes` are there at run time (the gradient
/// of `concat`, whose inputs' sizes may be unknown at build time).
pub(crate) fn split_like(x: &Tensor, axis: i64, likes: &[&Tensor]) -> Result<Vec<Tensor>> {
    build(x, axis, Sizes::Like, likes)
}
