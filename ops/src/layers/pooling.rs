//! `layers.max_pooling2d`, `layers.average_pooling2d` (NHWC).

use crate::nn;
use rustflow_graph::{Result, Tensor};

/// `tf.compat.v1.layers.max_pooling2d(inputs, pool_size, strides, padding)`, in the name
/// scope `max_pooling2d` (`max_pooling2d_1`, ...).
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{layers, nn, placeholder};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 28, 28, 32], "x");
/// let y = layers::max_pooling2d(&x, [2, 2], [2, 2], nn::Padding::Valid).unwrap();
/// assert_eq!(y.shape().to_string(), "[?,14,14,32]");
/// assert_eq!(y.op().name(), "max_pooling2d/MaxPool");
/// ```
pub fn max_pooling2d(
    inputs: &Tensor,
    pool_size: [usize; 2],
    strides: [usize; 2],
    padding: nn::Padding,
) -> Result<Tensor> {
    pool2d(
        "max_pooling2d",
        nn::max_pool,
        inputs,
        pool_size,
        strides,
        padding,
    )
}

/// `tf.compat.v1.layers.average_pooling2d(inputs, pool_size, strides, padding)`, in the
/// name scope `average_pooling2d`.
pub fn average_pooling2d(
    inputs: &Tensor,
    pool_size: [usize; 2],
    strides: [usize; 2],
    padding: nn::Padding,
) -> Result<Tensor> {
    pool2d(
        "average_pooling2d",
        nn::avg_pool,
        inputs,
        pool_size,
        strides,
        padding,
    )
}

type Pool = fn(&Tensor, [usize; 4], [usize; 4], nn::Padding) -> Result<Tensor>;

/// A pooling layer: `pool` with windows and strides over height and width only.
fn pool2d(
    scope: &str,
    pool: Pool,
    inputs: &Tensor,
    [ph, pw]: [usize; 2],
    [sh, sw]: [usize; 2],
    padding: nn::Padding,
) -> Result<Tensor> {
    inputs.graph().name_scope(scope, |_| {
        pool(inputs, [1, ph, pw, 1], [1, sh, sw, 1], padding)
    })
}
