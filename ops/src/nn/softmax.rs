//! `softmax` along the last axis.

use crate::nn::softmax_grad::softmax_grad;
use crate::util::{add1, expect_dtype, shape_error};
use rustflow_graph::{fmt_dims, Error, GradContext, KernelContext, Op, Result, Tensor, Value};

/// The `Softmax` (or, with `log`, `LogSoftmax`) op along the last axis.
#[derive(Debug)]
pub struct Softmax {
    pub(crate) log: bool,
}

/// Softmax (or log-softmax) of every row of `c` elements of `z`, in place. Subtracting the
/// row maximum first keeps logits of ±1000 finite. TensorFlow's float order:
/// `e = exp(z - max)`, `softmax = e * (1 / Σ e)`, `log_softmax = (z - max) - ln Σ e`.
pub(crate) fn softmax_rows(z: &mut [f32], c: usize, log: bool) {
    if c == 0 {
        return;
    }
    for row in z.chunks_exact_mut(c) {
        let m = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        if log {
            row.iter_mut().for_each(|v| *v -= m);
            let lse = row.iter().map(|v| v.exp()).sum::<f32>().ln();
            row.iter_mut().for_each(|v| *v -= lse);
        } else {
            let mut s = 0f32;
            for v in row.iter_mut() {
                *v = (*v - m).exp();
                s += *v;
            }
            let inv = 1.0 / s;
            row.iter_mut().for_each(|v| *v *= inv);
        }
    }
}

impl Op for Softmax {
    fn op_type(&self) -> &'static str {
        if self.log {
            "LogSoftmax"
        } else {
            "Softmax"
        }
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let mut x = ctx.take_input(0);
        let Some(&c) = x.shape().last() else {
            return Err(Error::Kernel(format!(
                "logits must have >= 1 dimension, got {}",
                fmt_dims(x.shape())
            )));
        };
        softmax_rows(x.data_mut::<f32>()?, c, self.log);
        Ok(vec![x])
    }
    /// `SoftmaxGrad(dy, y)` = `(dy - Σ_last dy·y) * y` (or `LogSoftmaxGrad`).
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let dy = gc.dy(0);
        let dx = if self.log {
            crate::nn::softmax_grad::log_softmax_grad(dy, gc.y(0))?
        } else {
            softmax_grad(dy, gc.y(0))?
        };
        Ok(vec![Some(dx)])
    }
}

/// Adds a `Softmax` or `LogSoftmax` node on `logits` (float32, rank >= 1).
pub(crate) fn softmax_builder(logits: &Tensor, log: bool) -> Result<Tensor> {
    let g = logits.graph();
    let op = Softmax { log };
    let name = op.op_type();
    expect_dtype(g, name, name, logits, &[rustflow_graph::DType::F32])?;
    if logits.shape().rank() == Some(0) {
        let msg = "Shape must be at least rank 1 but is rank 0".to_string();
        return Err(shape_error(g, name, name, msg, &[logits]));
    }
    add1(g, name, op, &[logits], logits.spec())
}

/// `exp(logits) / Σ exp(logits)` along the last axis (`tf.nn.softmax`; node `Softmax`),
/// computed after subtracting each row's maximum, so large logits stay finite.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{nn, placeholder};
/// let g = Graph::new();
/// let logits = placeholder(&g, DType::F32, shape![?, 10], "logits");
/// let y = nn::softmax(&logits).unwrap();
/// assert_eq!(y.shape().to_string(), "[?,10]");
/// assert_eq!(y.op().name(), "Softmax");
/// ```
pub fn softmax(logits: &Tensor) -> Result<Tensor> {
    softmax_builder(logits, false)
}

/// The permutation that moves `axis` of a rank-`rank` tensor to the end, and its inverse;
/// `None` when `axis` already is the last one.
pub(crate) fn move_to_end(axis: usize, rank: usize) -> Option<(Vec<usize>, Vec<usize>)> {
    if axis + 1 == rank {
        return None;
    }
    let perm: Vec<usize> = (0..rank).filter(|&d| d != axis).chain([axis]).collect();
    let mut inverse = vec![0; rank];
    for (i, &p) in perm.iter().enumerate() {
        inverse[p] = i;
    }
    Some((perm, inverse))
}

/// `f` applied along `axis` of `x` (negative counts from the end): `x` is transposed so that
/// `axis` comes last, and the result transposed back. The rank must be known.
fn along_axis(x: &Tensor, axis: i64, f: impl Fn(&Tensor) -> Result<Tensor>) -> Result<Tensor> {
    let g = x.graph();
    let rank = x.shape().rank().ok_or_else(|| {
        shape_error(
            g,
            "Softmax",
            "Softmax",
            "softmax along an axis needs a known rank".into(),
            &[x],
        )
    })?;
    let ax = crate::util::norm_axis(axis, rank).ok_or_else(|| {
        let msg = format!("axis {axis} is out of range for a tensor of rank {rank}");
        shape_error(g, "Softmax", "Softmax", msg, &[x])
    })?;
    match move_to_end(ax, rank) {
        None => f(x),
        Some((perm, inverse)) => {
            let y = f(&crate::transpose(x, Some(&perm))?)?;
            crate::transpose(&y, Some(&inverse))
        }
    }
}

/// [`softmax`] along `axis` (`tf.nn.softmax(logits, axis)`).
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{nn, placeholder};
/// let g = Graph::new();
/// let logits = placeholder(&g, DType::F32, shape![4, 3, 5], "logits");
/// assert_eq!(nn::softmax_axis(&logits, 1).unwrap().shape().to_string(), "[4,3,5]");
/// assert!(nn::softmax_axis(&logits, 3).is_err());
/// ```
pub fn softmax_axis(logits: &Tensor, axis: i64) -> Result<Tensor> {
    along_axis(logits, axis, softmax)
}

/// [`crate::nn::log_softmax()`] along `axis` (`tf.nn.log_softmax(logits, axis)`).
pub fn log_softmax_axis(logits: &Tensor, axis: i64) -> Result<Tensor> {
    along_axis(logits, axis, |x| softmax_builder(x, true))
}
