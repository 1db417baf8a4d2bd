//! `MomentumOptimizer`: `accum = momentum * accum + grad; var -= learning_rate * accum`.

use super::slots::Slots;
use super::update::{ApplyDense, Rule};
use super::Optimizer;
use crate::util::add;
use crate::Variable;
use rustflow_graph::{Operation, Result, Tensor};

/// The rule of `ApplyMomentum`: `accum = momentum * accum + grad; var -= lr * accum`.
#[derive(Clone, Debug)]
struct Momentum {
    learning_rate: f32,
    momentum: f32,
}

impl Rule for Momentum {
    const OP: &'static str = "ApplyMomentum";
    type Step = (f32, f32);
    fn step(&self, _: &[f32]) -> (f32, f32) {
        (self.learning_rate, self.momentum)
    }
    fn apply((lr, mu): (f32, f32), w: &mut [f32], slots: &mut [&mut [f32]], g: &[f32]) {
        let [a] = slots else { return };
        for ((w, a), &g) in w.iter_mut().zip(a.iter_mut()).zip(g) {
            *a = mu * *a + g;
            *w -= lr * *a;
        }
    }
    fn attrs(&self) -> String {
        format!(
            "learning_rate={}, momentum={}",
            self.learning_rate, self.momentum
        )
    }
}

/// Gradient descent with momentum (`tf.train.MomentumOptimizer`, `use_nesterov=False`): one
/// accumulator slot per variable, `<var>/Momentum`, starting at zero.
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
    learning_rate: f32,
    momentum: f32,
    slots: Slots,
}

impl MomentumOptimizer {
    /// An optimizer with this learning rate and momentum.
    pub fn new(learning_rate: f32, momentum: f32) -> Self {
        MomentumOptimizer {
            learning_rate,
            momentum,
            slots: Slots::default(),
        }
    }
}

impl Optimizer for MomentumOptimizer {
    fn name(&self) -> &str {
        "Momentum"
    }

    fn create_slots(&self, vars: &[&Variable]) -> Result<()> {
        vars.iter()
            .try_for_each(|v| self.slots.create(v, &["Momentum"]))
    }

    fn apply_dense(&self, grad: &Tensor, var: &Variable) -> Result<Operation> {
        let accum = self.slots.get(var)?.remove(0);
        let rule = Momentum {
            learning_rate: self.learning_rate,
            momentum: self.momentum,
        };
        let vars = vec![(var.node(), var.op_name()), (accum.node(), accum.op_name())];
        add(
            var.graph(),
            "ApplyMomentum",
            ApplyDense::new(rule, vars),
            &[grad],
            vec![],
        )
    }
}
