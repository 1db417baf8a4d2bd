//! Hyper-parameters that are a number or a tensor (a schedule, a fed placeholder).

use crate::constant;
use crate::util::arg_error;
use rustflow_graph::{DType, Graph, Result, Tensor};

/// An optimizer's hyper-parameter (learning rate, momentum, ...), as TensorFlow 1.x takes it:
/// a number, or a float32 scalar tensor that is evaluated at every step, such as a decayed
/// learning rate or a placeholder fed with each batch.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{placeholder, train::Hyper};
/// let g = Graph::new();
/// let fixed: Hyper = 0.01.into();
/// let fed: Hyper = placeholder(&g, DType::F32, shape![], "lr").into();
/// assert_eq!(fixed.tensor(&g, "learning_rate").unwrap().name(), "learning_rate:0");
/// assert_eq!(fed.tensor(&g, "learning_rate").unwrap().name(), "lr:0");
/// ```
#[derive(Clone, Debug)]
pub enum Hyper {
    /// A fixed number, stored as a constant of the graph.
    Value(f32),
    /// A float32 scalar tensor, read at every step.
    Tensor(Tensor),
}

impl From<f32> for Hyper {
    fn from(v: f32) -> Self {
        Hyper::Value(v)
    }
}

impl From<Tensor> for Hyper {
    fn from(t: Tensor) -> Self {
        Hyper::Tensor(t)
    }
}

impl From<&Tensor> for Hyper {
    fn from(t: &Tensor) -> Self {
        Hyper::Tensor(t.clone())
    }
}

impl Hyper {
    /// The hyper-parameter as a tensor of `g`: a constant named `name` for a number, the
    /// tensor itself otherwise (which must be a float32 scalar of `g`).
    pub fn tensor(&self, g: &Graph, name: &str) -> Result<Tensor> {
        match self {
            Hyper::Value(v) => Ok(constant(g, *v, name)),
            Hyper::Tensor(t) => {
                g.check_owns(t.graph(), &t.to_string())?;
                let scalar = t.shape().rank().is_none_or(|r| r == 0);
                if t.dtype() != DType::F32 || !scalar {
                    return Err(arg_error(
                        g,
                        name,
                        "Optimizer",
                        format!("{name} must be a float32 scalar, got {t}"),
                    ));
                }
                Ok(t.clone())
            }
        }
    }

    /// The number, when the hyper-parameter is one.
    pub fn value(&self) -> Option<f32> {
        match self {
            Hyper::Value(v) => Some(*v),
            Hyper::Tensor(_) => None,
        }
    }
}
