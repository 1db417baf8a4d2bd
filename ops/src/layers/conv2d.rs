//! `layers.conv2d`: a 2-D convolution over NHWC inputs, plus bias and activation.

use super::{layer_scope, Activation};
use crate::{get_variable_with, nn, Initializer, VariableOptions};
use rustflow_graph::{Error, Result, Reuse, Tensor};

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
    activation: Option<Activation>,
    use_bias: bool,
    kernel_initializer: Initializer,
    bias_initializer: Initializer,
    trainable: bool,
    name: Option<String>,
    reuse: Option<Reuse>,
}

impl Conv2D {
    /// `filters` output channels of a `kernel_size` window, strides 1, VALID padding.
    pub fn new(filters: usize, kernel_size: [usize; 2]) -> Self {
        Conv2D {
            filters,
            kernel_size,
            strides: [1, 1],
            padding: nn::Padding::Valid,
            activation: None,
            use_bias: true,
            kernel_initializer: Initializer::default(),
            bias_initializer: Initializer::Zeros,
            trainable: true,
            name: None,
            reuse: None,
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

    /// Applies `f` to the output.
    pub fn activation(mut self, f: Activation) -> Self {
        self.activation = Some(f);
        self
    }

    /// Whether the layer adds a bias (default true).
    pub fn use_bias(mut self, use_bias: bool) -> Self {
        self.use_bias = use_bias;
        self
    }

    /// The kernel's initializer (default Glorot uniform).
    pub fn kernel_initializer(mut self, init: Initializer) -> Self {
        self.kernel_initializer = init;
        self
    }

    /// The bias's initializer (default zeros).
    pub fn bias_initializer(mut self, init: Initializer) -> Self {
        self.bias_initializer = init;
        self
    }

    /// Whether its variables are trainable (default true).
    pub fn trainable(mut self, trainable: bool) -> Self {
        self.trainable = trainable;
        self
    }

    /// The layer's name (its variable scope); default `conv2d`, `conv2d_1`, ...
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_string());
        self
    }

    /// Reuse the variables of the layer with the same name.
    pub fn reuse(mut self, reuse: Reuse) -> Self {
        self.reuse = Some(reuse);
        self
    }

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
        layer_scope(g, "conv2d", self.name.as_deref(), self.reuse, |g| {
            let opts = |initializer| VariableOptions {
                initializer,
                trainable: self.trainable,
                collections: vec![],
            };
            let [kh, kw] = self.kernel_size;
            let kernel = get_variable_with(
                g,
                "kernel",
                &[kh, kw, channels, self.filters],
                &opts(self.kernel_initializer),
            )?;
            let [sh, sw] = self.strides;
            let mut y = nn::conv2d(inputs, &kernel, [1, sh, sw, 1], self.padding)?;
            if self.use_bias {
                let bias =
                    get_variable_with(g, "bias", &[self.filters], &opts(self.bias_initializer))?;
                y = nn::bias_add(&y, &bias)?;
            }
            match self.activation {
                Some(f) => f(&y),
                None => Ok(y),
            }
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
