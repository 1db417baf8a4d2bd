//! `layers.dropout`, `layers.flatten`, and the `training` switch of layers.

use crate::{cast, constant, mul, nn, reshape, sub};
use rustflow_graph::{DType, Error, Graph, Result, Tensor};

/// The `training` argument of dropout and batch normalization: a fixed bool, or a bool
/// scalar tensor (a placeholder fed `true` while training and `false` to evaluate).
#[derive(Clone, Debug)]
pub enum Training {
    /// Fixed when the graph is built.
    Fixed(bool),
    /// Read at every run.
    Tensor(Tensor),
}

impl From<bool> for Training {
    fn from(b: bool) -> Self {
        Training::Fixed(b)
    }
}

impl From<&Tensor> for Training {
    fn from(t: &Tensor) -> Self {
        Training::Tensor(t.clone())
    }
}

impl From<Tensor> for Training {
    fn from(t: Tensor) -> Self {
        Training::Tensor(t)
    }
}

impl Training {
    /// 1.0 while training, 0.0 otherwise, as a float32 scalar of `g`.
    pub(crate) fn as_float(&self, g: &Graph) -> Result<Tensor> {
        cast(&self.as_bool(g)?, DType::F32)
    }

    /// Whether training, as a bool scalar of `g`.
    pub(crate) fn as_bool(&self, g: &Graph) -> Result<Tensor> {
        match self {
            Training::Fixed(b) => Ok(constant(g, *b, "training")),
            Training::Tensor(t) => {
                g.check_owns(t.graph(), &t.to_string())?;
                if t.dtype() != DType::Bool || t.shape().rank().is_some_and(|r| r != 0) {
                    return Err(Error::InvalidArgument {
                        node: t.name(),
                        op: t.op().op_type().into(),
                        msg: format!("`training` must be a bool scalar, got {t}"),
                    });
                }
                Ok(t.clone())
            }
        }
    }
}

/// `tf.compat.v1.layers.dropout(inputs, rate, training)`: while training, drops each element
/// with probability `rate` and scales the kept ones by `1 / (1 - rate)`; otherwise returns
/// the inputs unchanged (a keep probability of 1 draws no mask).
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{layers, placeholder};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 10], "x");
/// let training = placeholder(&g, DType::Bool, shape![], "training");
/// let y = layers::dropout(&x, 0.4, &training).unwrap();
/// assert_eq!(y.shape().to_string(), "[?,10]");
/// ```
pub fn dropout(inputs: &Tensor, rate: f32, training: impl Into<Training>) -> Result<Tensor> {
    let training = training.into();
    if let Training::Fixed(false) = training {
        return Ok(inputs.clone());
    }
    inputs.graph().name_scope("dropout", |g| {
        let on = training.as_float(g)?;
        let keep_prob = sub(
            &constant(g, 1f32, ""),
            &mul(&constant(g, rate, "rate"), &on)?,
        )?;
        nn::dropout(inputs, &keep_prob)
    })
}

/// `tf.compat.v1.layers.flatten(inputs)`: `[batch, d1, d2, ...]` to `[batch, d1 * d2 * ...]`
/// (the dimensions after the first must be known).
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{layers, placeholder};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 7, 7, 64], "x");
/// assert_eq!(layers::flatten(&x).unwrap().shape().to_string(), "[?,3136]");
/// ```
pub fn flatten(inputs: &Tensor) -> Result<Tensor> {
    let g = inputs.graph();
    let dims = inputs.shape().dims().map(<[_]>::to_vec);
    let rest: Option<usize> = dims
        .as_ref()
        .and_then(|d| d.iter().skip(1).copied().product::<Option<usize>>());
    let Some(rest) = rest else {
        return Err(Error::Shape {
            node: g.peek_unique_name("flatten"),
            op: "Reshape".into(),
            msg: "flatten needs every dimension after the first to be known".into(),
            inputs: vec![inputs.shape()],
        });
    };
    g.name_scope("flatten", |_| reshape(inputs, &[-1, rest as i64]))
}
