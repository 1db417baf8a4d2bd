//! `layers.conv2d`: a 2-D convolution over NHWC inputs, plus bias and activation.

use super::{Activation, Affine, Scope};
use crate::nn;
use rustflow_graph::{Error, Result, Tensor};

/// A convolutional layer (`tf.compat.v1.layers.conv2d`, NHWC). Variables: `<name>/kernel`
/// `[kh, kw, in, filters]` (Glorot uniform) and `<name>/bias` `[filters]` (zeros).
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{layers::Conv2D, nn, placeholder};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 28, 28, 1], "x");
/// let y = Conv2D::new(32, [5, 5]).padding(nn::Padding::Same).activation(nn::relu).apply(&x).unwrap();
/// assert_eq!(y.shape().to_string(), "[?,28,28,32]");
/// assert!(g.tensor_by_name("conv2d/kernel:0").is_ok());
/// ```
#[derive(Clone, Debug)]
pub struct Conv2D {
    filters: usize,
    kernel_size: [usize; 2],
    strides: [usize; 2],
    padding: nn::Padding,
    affine: Affine,
    scope: Scope,
}

impl Conv2D {
    /// `filters` output channels of a `kernel_size` window, strides 1, VALID padding.
    pub fn new(filters: usize, kernel_size: [usize; 2]) -> Self {
        Conv2D {
            filters,
            kernel_size,
            strides: [1, 1],
            padding: nn::Padding::Valid,
            affine: Affine::default(),
            scope: Scope::default(),
        }
    }

    /// The strides along height and width (default 1, 1).
    pub fn strides(mut self, strides: [usize; 2]) -> Self {
        self.strides = strides;
        self
    }

    /// `Valid` (default) or `Same`.
    pub fn padding(mut self, padding: nn::Padding) -> Self {
        self.padding = padding;
        self
    }

    affine_setters!();
    scope_setters!("conv2d");

    /// Builds the layer on `inputs` `[batch, height, width, channels]`.
    pub fn apply(&self, inputs: &Tensor) -> Result<Tensor> {
        let g = inputs.graph();
        let channels = match inputs.shape().dims() {
            Some(&[_, _, _, Some(c)]) => c,
            _ => {
                return Err(Error::Shape {
                    node: g.peek_unique_name("conv2d"),
                    op: "Conv2D".into(),
                    msg: "conv2d needs NHWC inputs of rank 4 with a known channel dimension".into(),
                    inputs: vec![inputs.shape()],
                })
            }
        };
        let [kh, kw] = self.kernel_size;
        let [sh, sw] = self.strides;
        let kernel_shape = [kh, kw, channels, self.filters];
        self.affine
            .build(&self.scope, g, "conv2d", &kernel_shape, |kernel| {
                nn::conv2d(inputs, kernel, [1, sh, sw, 1], self.padding)
            })
    }
}

/// `tf.compat.v1.layers.conv2d(inputs, filters, kernel_size, strides, padding, activation)`
/// with the other options at their defaults.
pub fn conv2d(
    inputs: &Tensor,
    filters: usize,
    kernel_size: [usize; 2],
    strides: [usize; 2],
    padding: nn::Padding,
    activation: Option<Activation>,
) -> Result<Tensor> {
    let layer = Conv2D::new(filters, kernel_size)
        .strides(strides)
        .padding(padding);
    match activation {
        Some(f) => layer.activation(f).apply(inputs),
        None => layer.apply(inputs),
    }
}
