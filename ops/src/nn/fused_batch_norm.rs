//! `fused_batch_norm`: batch normalization of an NHWC tensor per channel, with
//! `FusedBatchNormV3`'s outputs and gradients, composed of [`moments`] and
//! [`batch_normalization`].

use crate::nn::{batch_normalization, moments};
use crate::util::shape_error;
use crate::{constant, div, maximum, mul, ones_like, reduce_sum, stop_gradient, sub};
use rustflow_graph::{Result, Tensor};

/// Batch normalization of `x` (`[batch, height, width, channels]`) with per-channel `scale`
/// and `offset` (`tf.compat.v1.nn.fused_batch_norm`, NHWC). Returns `(y, batch_mean,
/// batch_variance)`.
///
/// With `is_training`, `y` uses the batch's mean and population variance (over `n = N·H·W`),
/// `batch_mean` is that mean and `batch_variance` the Bessel-corrected variance (over
/// `n - 1`, at least 1), the value for a running estimate; `mean` and `variance` are unused.
/// Otherwise `y` uses `mean` and `variance` (both required), which the other two outputs
/// echo. As TensorFlow's `FusedBatchNormGradV3`, only `y`'s upstream gradient flows back
/// (to `x`, `scale` and `offset`, and in training through the batch statistics): the second
/// and third outputs, and the fed statistics of inference, get no gradient.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{nn, placeholder};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 4, 4, 3], "x");
/// let s = placeholder(&g, DType::F32, shape![3], "s");
/// let o = placeholder(&g, DType::F32, shape![3], "o");
/// let (y, m, v) = nn::fused_batch_norm(&x, &s, &o, None, None, 1e-3, true).unwrap();
/// assert_eq!((y.shape().to_string(), m.shape().to_string()), ("[?,4,4,3]".into(), "[3]".into()));
/// assert!(nn::fused_batch_norm(&x, &s, &o, None, None, 1e-3, false).is_err());
/// ```
pub fn fused_batch_norm(
    x: &Tensor,
    scale: &Tensor,
    offset: &Tensor,
    mean: Option<&Tensor>,
    variance: Option<&Tensor>,
    epsilon: f32,
    is_training: bool,
) -> Result<(Tensor, Tensor, Tensor)> {
    let (g, name) = (x.graph(), "FusedBatchNormV3");
    if x.shape().rank().is_some_and(|r| r != 4) {
        let msg = "x must be 4-dimensional (NHWC)".to_string();
        return Err(shape_error(g, name, name, msg, &[x]));
    }
    if is_training {
        let (m, v) = moments(x, [0, 1, 2], false)?;
        let y = batch_normalization(x, &m, &v, Some(offset), Some(scale), epsilon)?;
        let n = reduce_sum(&ones_like(x)?, [0, 1, 2], false)?;
        let n1 = maximum(
            &sub(&n, &constant(g, 1f32, "one"))?,
            &constant(g, 1f32, "one"),
        )?;
        let unbiased = mul(&v, &div(&n, &n1)?)?;
        return Ok((y, stop_gradient(&m)?, stop_gradient(&unbiased)?));
    }
    let (Some(mean), Some(variance)) = (mean, variance) else {
        let msg = "inference (is_training false) needs mean and variance".to_string();
        return Err(shape_error(g, name, name, msg, &[x]));
    };
    let (m, v) = (stop_gradient(mean)?, stop_gradient(variance)?);
    let y = batch_normalization(x, &m, &v, Some(offset), Some(scale), epsilon)?;
    Ok((y, m, v))
}
