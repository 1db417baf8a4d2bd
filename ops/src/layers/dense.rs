//! `layers.dense`: `activation(inputs · kernel + bias)`.

use super::{Activation, Affine, Scope};
use crate::{matmul, reshape};
use rustflow_graph::{Error, Result, Tensor};

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
    affine: Affine,
    scope: Scope,
}

impl Dense {
    /// A layer of `units` outputs, no activation, with a bias.
    pub fn new(units: usize) -> Self {
        Dense {
            units,
            affine: Affine::default(),
            scope: Scope::default(),
        }
    }

    affine_setters!();
    scope_setters!("dense");

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
        let kernel_shape = [fan_in, self.units];
        self.affine
            .build(&self.scope, g, "dense", &kernel_shape, |kernel| {
                if dims.len() <= 2 {
                    return matmul(inputs, kernel);
                }
                // Multiply along the last axis: [..., in] -> [-1, in] -> [..., units].
                let flat = matmul(&reshape(inputs, &[-1, fan_in as i64])?, kernel)?;
                let mut out: Vec<i64> = dims[..dims.len() - 1]
                    .iter()
                    .map(|d| d.map_or(-1, |d| d as i64))
                    .collect();
                out.push(self.units as i64);
                reshape(&flat, &out)
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
