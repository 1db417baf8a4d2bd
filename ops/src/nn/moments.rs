//! `moments` and `batch_normalization`: the statistics and the normalization of TF1's
//! non-fused batch normalization, composed of reductions and element-wise ops as in
//! TensorFlow (their gradients are those ops' rules).

use crate::{add, constant, div, mul, reduce_mean, sqrt, square, stop_gradient, sub, Axes};
use rustflow_graph::{Result, Tensor};

/// The mean and the population variance (divided by n) of `x` over `axes`
/// (`tf.nn.moments`); with `keep_dims` the reduced axes stay as size 1.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{nn, placeholder};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 5, 5, 8], "x");
/// let (mean, var) = nn::moments(&x, [0, 1, 2], false).unwrap();
/// assert_eq!(mean.shape().to_string(), "[8]");
/// assert_eq!(var.shape().to_string(), "[8]");
/// ```
pub fn moments(x: &Tensor, axes: impl Into<Axes>, keep_dims: bool) -> Result<(Tensor, Tensor)> {
    let axes = axes.into();
    let mean = reduce_mean(x, axes.clone(), keep_dims)?;
    let centre = if keep_dims {
        mean.clone()
    } else {
        reduce_mean(x, axes.clone(), true)?
    };
    let dev = square(&sub(x, &stop_gradient(&centre)?)?)?;
    Ok((mean, reduce_mean(&dev, axes, keep_dims)?))
}

/// `scale · (x - mean) / sqrt(variance + variance_epsilon) + offset`, broadcasting the
/// statistics against `x` (`tf.nn.batch_normalization`); `offset` and `scale` are optional.
/// Every tensor input gets a gradient.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{nn, placeholder};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 3], "x");
/// let m = placeholder(&g, DType::F32, shape![3], "m");
/// let v = placeholder(&g, DType::F32, shape![3], "v");
/// let y = nn::batch_normalization(&x, &m, &v, None, None, 1e-3).unwrap();
/// assert_eq!(y.shape().to_string(), "[?,3]");
/// ```
pub fn batch_normalization(
    x: &Tensor,
    mean: &Tensor,
    variance: &Tensor,
    offset: Option<&Tensor>,
    scale: Option<&Tensor>,
    variance_epsilon: f32,
) -> Result<Tensor> {
    let g = x.graph();
    let eps = constant(g, variance_epsilon, "variance_epsilon");
    let one = constant(g, 1f32, "one");
    let mut inv = div(&one, &sqrt(&add(variance, &eps)?)?)?;
    if let Some(s) = scale {
        inv = mul(&inv, s)?;
    }
    let shift = mul(mean, &inv)?;
    let shift = match offset {
        Some(o) => sub(o, &shift)?,
        None => crate::neg(&shift)?,
    };
    add(&mul(x, &inv)?, &shift)
}
