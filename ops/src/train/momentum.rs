//! `MomentumOptimizer`: `accum = momentum * accum + grad; var -= learning_rate * accum`, or
//! with Nesterov `var -= learning_rate * (grad + momentum * accum)`.

use super::slots::{apply_rule, Rule, SlotSpec, Slots};
use super::{Hyper, Optimizer};
use crate::Variable;
use rustflow_graph::{Operation, Result, Tensor};

/// The rule of `ApplyMomentum`; hyper-parameters: learning rate, momentum; slot: `accum`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Momentum {
    pub(crate) use_nesterov: bool,
}

impl Rule for Momentum {
    const OP_TYPE: &'static str = "ApplyMomentum";
    fn step(&self, h: &[f32], g: &[f32], w: &mut [f32], slots: &mut [&mut [f32]]) {
        let (lr, mu) = (h[0], h[1]);
        let [a] = slots else { return };
        for ((w, a), &g) in w.iter_mut().zip(a.iter_mut()).zip(g) {
            *a = mu * *a + g;
            *w -= if self.use_nesterov {
                g * lr + *a * mu * lr
            } else {
                lr * *a
            };
        }
    }
    fn attrs(&self) -> String {
        format!("use_nesterov={}", self.use_nesterov)
    }
}

/// Gradient descent with momentum (`tf.train.MomentumOptimizer`): one accumulator slot per
/// variable, `<var>/Momentum` (slot name `momentum`), starting at zero. Learning rate and
/// momentum are numbers or float32 scalar tensors.
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{constant, square, Variable};
/// use rustflow_ops::train::{MomentumOptimizer, Optimizer};
/// let g = Graph::new();
/// let w = Variable::new(&constant(&g, 3.0f32, ""), "w").unwrap();
/// let step = MomentumOptimizer::new(0.1, 0.9).minimize(&square(&w).unwrap()).unwrap();
/// assert_eq!(step.name(), "Momentum");
/// assert!(g.tensor_by_name("w/Momentum:0").is_ok());
/// ```
#[derive(Debug)]
pub struct MomentumOptimizer {
    learning_rate: Hyper,
    momentum: Hyper,
    use_nesterov: bool,
    slots: Slots,
}

impl MomentumOptimizer {
    /// An optimizer with this learning rate and momentum.
    pub fn new(learning_rate: impl Into<Hyper>, momentum: impl Into<Hyper>) -> Self {
        MomentumOptimizer {
            learning_rate: learning_rate.into(),
            momentum: momentum.into(),
            use_nesterov: false,
            slots: Slots::default(),
        }
    }

    /// Nesterov momentum (`use_nesterov=True`): the step is `learning_rate * (grad +
    /// momentum * accum)` with the updated accumulator.
    pub fn with_nesterov(mut self, use_nesterov: bool) -> Self {
        self.use_nesterov = use_nesterov;
        self
    }
}

impl Optimizer for MomentumOptimizer {
    fn name(&self) -> &str {
        "Momentum"
    }

    fn hypers(&self) -> Vec<(&'static str, &Hyper)> {
        vec![
            ("learning_rate", &self.learning_rate),
            ("momentum", &self.momentum),
        ]
    }

    fn create_slots(&self, vars: &[&Variable]) -> Result<()> {
        let spec = SlotSpec {
            name: "momentum",
            init: 0.0,
        };
        vars.iter()
            .try_for_each(|v| self.slots.create(v, "Momentum", &[spec]))
    }

    fn get_slot(&self, var: &Variable, name: &str) -> Option<Variable> {
        self.slots.get_slot(var, name)
    }

    fn apply_dense(&self, grad: &Tensor, var: &Variable, h: &[Tensor]) -> Result<Operation> {
        let rule = Momentum {
            use_nesterov: self.use_nesterov,
        };
        apply_rule(rule, grad, var, &self.slots.get(var)?, h)
    }
}
