//! `AdagradOptimizer`: `accum += grad²; var -= learning_rate * grad / sqrt(accum)`.

use super::slots::{apply_rule, Rule, SlotSpec, Slots};
use super::{Hyper, Optimizer};
use crate::Variable;
use rustflow_graph::{Operation, Result, Tensor};

/// The rule of `ApplyAdagrad`; hyper-parameter: the learning rate; slot: `accum`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Adagrad;

impl Rule for Adagrad {
    const OP_TYPE: &'static str = "ApplyAdagrad";
    fn step(&self, h: &[f32], g: &[f32], w: &mut [f32], slots: &mut [&mut [f32]]) {
        let lr = h[0];
        let [a] = slots else { return };
        for ((w, a), &g) in w.iter_mut().zip(a.iter_mut()).zip(g) {
            *a += g * g;
            *w -= g * lr * (1.0 / a.sqrt());
        }
    }
}

/// Adagrad (`tf.train.AdagradOptimizer`), TensorFlow 1.x's rule without epsilon: one slot
/// per variable, `<var>/Adagrad` (slot name `accumulator`), starting at
/// `initial_accumulator_value` (default 0.1).
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{constant, square, Variable};
/// use rustflow_ops::train::{AdagradOptimizer, Optimizer};
/// let g = Graph::new();
/// let w = Variable::new(&constant(&g, 3.0f32, ""), "w").unwrap();
/// let opt = AdagradOptimizer::new(0.1);
/// let step = opt.minimize(&square(&w).unwrap()).unwrap();
/// assert_eq!(step.name(), "Adagrad");
/// assert_eq!(opt.get_slot(&w, "accumulator").unwrap().name(), "w/Adagrad:0");
/// ```
#[derive(Debug)]
pub struct AdagradOptimizer {
    learning_rate: Hyper,
    initial_accumulator_value: f32,
    slots: Slots,
}

impl AdagradOptimizer {
    /// Adagrad with this learning rate and accumulators starting at 0.1.
    pub fn new(learning_rate: impl Into<Hyper>) -> Self {
        AdagradOptimizer {
            learning_rate: learning_rate.into(),
            initial_accumulator_value: 0.1,
            slots: Slots::default(),
        }
    }

    /// Sets the accumulators' starting value (default 0.1; must be positive).
    pub fn with_initial_accumulator_value(mut self, value: f32) -> Self {
        self.initial_accumulator_value = value;
        self
    }
}

impl Optimizer for AdagradOptimizer {
    fn name(&self) -> &str {
        "Adagrad"
    }

    fn hypers(&self) -> Vec<(&'static str, &Hyper)> {
        vec![("learning_rate", &self.learning_rate)]
    }

    fn create_slots(&self, vars: &[&Variable]) -> Result<()> {
        let spec = SlotSpec {
            name: "accumulator",
            init: self.initial_accumulator_value,
        };
        vars.iter()
            .try_for_each(|v| self.slots.create(v, "Adagrad", &[spec]))
    }

    fn get_slot(&self, var: &Variable, name: &str) -> Option<Variable> {
        self.slots.get_slot(var, name)
    }

    fn apply_dense(&self, grad: &Tensor, var: &Variable, h: &[Tensor]) -> Result<Operation> {
        apply_rule(Adagrad, grad, var, &self.slots.get(var)?, h)
    }
}
