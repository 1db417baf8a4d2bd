//! `log_softmax` along the last axis (its op shares `Softmax`'s kernel).

use crate::nn::softmax::softmax_builder;
use rustflow_graph::{Result, Tensor};

/// `logits - ln Σ exp(logits)` along the last axis (`tf.nn.log_softmax`; node
/// `LogSoftmax`), computed after subtracting each row's maximum, so large logits stay
/// finite. The gradient is `dy - exp(y) * Σ_last dy` (one `LogSoftmaxGrad` op).
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{nn, placeholder};
/// let g = Graph::new();
/// let logits = placeholder(&g, DType::F32, shape![?, 10], "logits");
/// let y = nn::log_softmax(&logits).unwrap();
/// assert_eq!(y.op().op_type(), "LogSoftmax");
/// ```
pub fn log_softmax(logits: &Tensor) -> Result<Tensor> {
    softmax_builder(logits, true)
}
