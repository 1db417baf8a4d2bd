//! `GradientDescentOptimizer`: `var -= learning_rate * grad`.

use super::update::{ApplyDense, Rule};
use super::Optimizer;
use crate::util::add;
use crate::Variable;
use rustflow_graph::{Operation, Result, Tensor};

/// The rule of `ApplyGradientDescent`: `var -= learning_rate * grad`.
#[derive(Clone, Debug)]
struct Descent {
    learning_rate: f32,
}

impl Rule for Descent {
    const OP: &'static str = "ApplyGradientDescent";
    type Step = f32;
    fn step(&self, _: &[f32]) -> f32 {
        self.learning_rate
    }
    fn apply(lr: f32, w: &mut [f32], _: &mut [&mut [f32]], g: &[f32]) {
        for (w, &d) in w.iter_mut().zip(g) {
            *w -= lr * d;
        }
    }
    fn attrs(&self) -> String {
        format!("learning_rate={}", self.learning_rate)
    }
}

/// Plain gradient descent (`tf.train.GradientDescentOptimizer`).
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
    learning_rate: f32,
}

impl GradientDescentOptimizer {
    /// An optimizer with this learning rate.
    pub fn new(learning_rate: f32) -> Self {
        GradientDescentOptimizer { learning_rate }
    }
}

impl Optimizer for GradientDescentOptimizer {
    fn name(&self) -> &str {
        "GradientDescent"
    }

    fn apply_dense(&self, grad: &Tensor, var: &Variable) -> Result<Operation> {
        let rule = Descent {
            learning_rate: self.learning_rate,
        };
        let op = ApplyDense::new(rule, vec![(var.node(), var.op_name())]);
        add(var.graph(), "ApplyGradientDescent", op, &[grad], vec![])
    }
}
