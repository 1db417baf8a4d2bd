//! `reduce_logsumexp`, as TensorFlow composes it.

use crate::{add, exp, log, reduce_max, reduce_sum, stop_gradient, sub, Axes};
use rustflow_graph::{Result, Tensor};

/// `log(sum(exp(x), axis))`, computed as `m + log(sum(exp(x - m)))` with `m` the maximum
/// (held constant for the gradient), so large inputs stay finite
/// (`tf.reduce_logsumexp(x, axis, keepdims)`).
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{constant, reduce_logsumexp};
/// let g = Graph::new();
/// let y = reduce_logsumexp(&constant(&g, [[500.0f32, 500.0]], ""), 1, false).unwrap();
/// assert_eq!(y.shape().to_string(), "[1]");
/// ```
pub fn reduce_logsumexp(x: &Tensor, axis: impl Into<Axes>, keep_dims: bool) -> Result<Tensor> {
    let axes = axis.into();
    let m = stop_gradient(&reduce_max(x, axes.clone(), true)?)?;
    let sum = reduce_sum(&exp(&sub(x, &m)?)?, axes.clone(), keep_dims)?;
    let m_out = stop_gradient(&reduce_max(x, axes, keep_dims)?)?;
    add(&log(&sum)?, &m_out)
}
