//! `layers.dense`: `activation(inputs · kernel + bias)`.

use super::{layer_scope, Activation};
use crate::{get_variable_with, matmul, nn, reshape, Initializer, VariableOptions};
use rustflow_graph::{Error, Result, Reuse, Tensor};

/// A fully-connected layer (`tf.compat.v1.layers.dense`), with its options. Variables:
/// `<name>/kernel` `[in, units]` (Glorot uniform) and `<name>/bias` `[units]` (zeros). An
/// input of rank above 2 is multiplied along its last axis.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{layers::Dense, nn, placeholder};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 784], "x");
/// let h = Dense::new(128).activation(nn::relu).apply(&x).unwrap();
/// assert_eq!(h.shape().to_string(), "[?,128]");
/// assert!(g.tensor_by_name("dense/kernel:0").is_ok());
/// ```
#[derive(Clone, Debug)]
pub struct Dense {
    units: usize,
    activation: Option<Activation>,
    use_bias: bool,
    kernel_initializer: Initializer,
    bias_initializer: Initializer,
    trainable: bool,
    name: Option<String>,
    reuse: Option<Reuse>,
}

impl Dense {
    /// A layer of `units` outputs, no activation, with a bias.
    pub fn new(units: usize) -> Self {
        Dense {
            units,
            activation: None,
            use_bias: true,
            kernel_initializer: Initializer::default(),
            bias_initializer: Initializer::Zeros,
            trainable: true,
            name: None,
            reuse: None,
        }
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

    /// The layer's name (its variable scope); default `dense`, `dense_1`, ...
    pub fn name(mut self, name: &str) -> Self {
        self.name = Some(name.to_string());
        self
    }

    /// Reuse the variables of the layer with the same name.
    pub fn reuse(mut self, reuse: Reuse) -> Self {
        self.reuse = Some(reuse);
        self
    }

    /// Builds the layer on `inputs`.
    pub fn apply(&self, inputs: &Tensor) -> Result<Tensor> {
        let g = inputs.graph();
        let dims = inputs.shape().dims().map(<[_]>::to_vec).unwrap_or_default();
        let Some(Some(fan_in)) = dims.last().copied() else {
            return Err(Error::Shape {
                node: g.peek_unique_name("dense"),
                op: "Dense".into(),
                msg: "The last dimension of the inputs to `Dense` should be defined.".into(),
                inputs: vec![inputs.shape()],
            });
        };
        layer_scope(g, "dense", self.name.as_deref(), self.reuse, |g| {
            let opts = |initializer| VariableOptions {
                initializer,
                trainable: self.trainable,
                collections: vec![],
            };
            let kernel = get_variable_with(
                g,
                "kernel",
                &[fan_in, self.units],
                &opts(self.kernel_initializer),
            )?;
            let mut y = if dims.len() > 2 {
                // Multiply along the last axis: [..., in] -> [-1, in] -> [..., units].
                let flat = matmul(&reshape(inputs, &[-1, fan_in as i64])?, &kernel)?;
                let mut out: Vec<i64> = dims[..dims.len() - 1]
                    .iter()
                    .map(|d| d.map_or(-1, |d| d as i64))
                    .collect();
                out.push(self.units as i64);
                reshape(&flat, &out)?
            } else {
                matmul(inputs, &kernel)?
            };
            if self.use_bias {
                let bias =
                    get_variable_with(g, "bias", &[self.units], &opts(self.bias_initializer))?;
                y = nn::bias_add(&y, &bias)?;
            }
            match self.activation {
                Some(f) => f(&y),
                None => Ok(y),
            }
        })
    }
}

/// `tf.compat.v1.layers.dense(inputs, units, activation)` with the default options.
pub fn dense(inputs: &Tensor, units: usize, activation: Option<Activation>) -> Result<Tensor> {
    let layer = Dense::new(units);
    match activation {
        Some(f) => layer.activation(f).apply(inputs),
        None => layer.apply(inputs),
    }
}
