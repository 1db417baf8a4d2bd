//! `GradientDescentOptimizer`: `var -= learning_rate * grad`.

use super::slots::{apply_rule, Rule};
use super::{Hyper, Optimizer};
use crate::Variable;
use rustflow_graph::{Operation, Result, Tensor};

/// The rule of `ApplyGradientDescent`; hyper-parameter: the learning rate.
#[derive(Clone, Copy, Debug)]
pub(crate) struct GradientDescent;

impl Rule for GradientDescent {
    const OP_TYPE: &'static str = "ApplyGradientDescent";
    fn step(&self, h: &[f32], g: &[f32], w: &mut [f32], _slots: &mut [&mut [f32]]) {
        let lr = h[0];
        for (w, &d) in w.iter_mut().zip(g) {
            *w -= lr * d;
        }
    }
}

/// Plain gradient descent (`tf.train.GradientDescentOptimizer`). The learning rate is a
/// number or a float32 scalar tensor ([`Hyper`]).
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{constant, mul, reduce_sum, Variable};
/// use rustflow_ops::train::{GradientDescentOptimizer, Optimizer};
/// let g = Graph::new();
/// let w = Variable::new(&constant(&g, 3.0f32, ""), "w").unwrap();
/// let loss = mul(&w, &w).unwrap();
/// let step = GradientDescentOptimizer::new(0.1).minimize(&loss).unwrap();
/// assert_eq!(step.name(), "GradientDescent");
/// ```
#[derive(Clone, Debug)]
pub struct GradientDescentOptimizer {
    learning_rate: Hyper,
}

impl GradientDescentOptimizer {
    /// An optimizer with this learning rate.
    pub fn new(learning_rate: impl Into<Hyper>) -> Self {
        GradientDescentOptimizer {
            learning_rate: learning_rate.into(),
        }
    }
}

impl Optimizer for GradientDescentOptimizer {
    fn name(&self) -> &str {
        "GradientDescent"
    }

    fn hypers(&self) -> Vec<(&'static str, &Hyper)> {
        vec![("learning_rate", &self.learning_rate)]
    }

    fn apply_dense(&self, grad: &Tensor, var: &Variable, h: &[Tensor]) -> Result<Operation> {
        apply_rule(GradientDescent, grad, var, &[], h)
    }
}
