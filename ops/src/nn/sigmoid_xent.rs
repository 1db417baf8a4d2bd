//! `sigmoid_cross_entropy_with_logits` and `weighted_cross_entropy_with_logits`: element-wise
//! logistic losses, composed of element-wise ops as in TensorFlow (so their gradients, and the
//! gradients of those, are the element-wise ops' rules).

use crate::nn::relu;
use crate::util::shape_error;
use crate::{abs, add, constant, exp, log1p, mul, neg, sub};
use rustflow_graph::{Result, Tensor};

/// `log1p(exp(-|x|))`, finite for any `x`.
fn log1p_exp_neg_abs(x: &Tensor) -> Result<Tensor> {
    log1p(&exp(&neg(&abs(x)?)?)?)
}

/// Checks that labels and logits have compatible shapes (TensorFlow requires equal shapes).
fn check(name: &str, labels: &Tensor, logits: &Tensor) -> Result<()> {
    let g = logits.graph();
    g.check_owns(labels.graph(), &labels.to_string())?;
    if labels.shape().is_compatible(&logits.shape()) {
        Ok(())
    } else {
        let msg = "logits and labels must have the same shape".to_string();
        Err(shape_error(g, name, name, msg, &[logits, labels]))
    }
}

/// The logistic loss of `logits` against probabilities `labels` (same shape), element-wise:
/// `max(x, 0) - x·z + log(1 + exp(-|x|))`, finite for logits of any size
/// (`tf.nn.sigmoid_cross_entropy_with_logits`). Both inputs get gradients:
/// `d logits = sigmoid(x) - z`, `d labels = -x`.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{nn, placeholder};
/// let g = Graph::new();
/// let z = placeholder(&g, DType::F32, shape![?, 4], "z");
/// let x = placeholder(&g, DType::F32, shape![?, 4], "x");
/// let loss = nn::sigmoid_cross_entropy_with_logits(&z, &x).unwrap();
/// assert_eq!(loss.shape().to_string(), "[?,4]");
/// ```
pub fn sigmoid_cross_entropy_with_logits(labels: &Tensor, logits: &Tensor) -> Result<Tensor> {
    check("logistic_loss", labels, logits)?;
    let x = logits;
    add(&sub(&relu(x)?, &mul(x, labels)?)?, &log1p_exp_neg_abs(x)?)
}

/// The logistic loss with the positive term weighted by `pos_weight`, element-wise:
/// `(1 - z)·x + (1 + (pos_weight - 1)·z)·(log(1 + exp(-|x|)) + max(-x, 0))`
/// (`tf.nn.weighted_cross_entropy_with_logits`). Both inputs get gradients.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{nn, placeholder};
/// let g = Graph::new();
/// let z = placeholder(&g, DType::F32, shape![3, 4], "z");
/// let x = placeholder(&g, DType::F32, shape![3, 4], "x");
/// let loss = nn::weighted_cross_entropy_with_logits(&z, &x, 2.0).unwrap();
/// assert_eq!(loss.shape().to_string(), "[3,4]");
/// ```
pub fn weighted_cross_entropy_with_logits(
    labels: &Tensor,
    logits: &Tensor,
    pos_weight: f32,
) -> Result<Tensor> {
    check("logistic_loss", labels, logits)?;
    let (g, x, z) = (logits.graph(), logits, labels);
    let one = constant(g, 1f32, "one");
    let log_weight = add(
        &one,
        &mul(&constant(g, pos_weight - 1.0, "pos_weight_m1"), z)?,
    )?;
    let softplus_neg = add(&log1p_exp_neg_abs(x)?, &relu(&neg(x)?)?)?;
    add(&mul(&sub(&one, z)?, x)?, &mul(&log_weight, &softplus_neg)?)
}
