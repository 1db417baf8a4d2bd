//! `AdamOptimizer`, with TensorFlow 1.x's update (epsilon outside the bias correction).

use super::slots::Slots;
use super::update::{ApplyDense, Rule};
use super::Optimizer;
use crate::util::add;
use crate::{constant, mul, Variable};
use rustflow_graph::{Error, Graph, Operation, Result, Tensor};
use std::sync::{Mutex, PoisonError};

/// Adam's rule (`ApplyAdam`; inputs: the gradient, `beta1_power`, `beta2_power`).
#[derive(Clone, Debug)]
struct Adam {
    learning_rate: f32,
    beta1: f32,
    beta2: f32,
    epsilon: f32,
}

/// One Adam step's constants.
#[derive(Clone, Copy)]
struct Step {
    lr_t: f32,
    b1: f32,
    b2: f32,
    eps: f32,
}

impl Rule for Adam {
    const OP: &'static str = "ApplyAdam";
    type Step = Step;
    fn step(&self, powers: &[f32]) -> Step {
        let (b1p, b2p) = (powers[0], powers[1]);
        Step {
            lr_t: self.learning_rate * (1.0 - b2p).sqrt() / (1.0 - b1p),
            b1: 1.0 - self.beta1,
            b2: 1.0 - self.beta2,
            eps: self.epsilon,
        }
    }
    fn apply(step: Step, w: &mut [f32], slots: &mut [&mut [f32]], g: &[f32]) {
        let Step { lr_t, b1, b2, eps } = step;
        let [m, v] = slots else { return };
        for (((w, m), v), &g) in w.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(g) {
            *m += (g - *m) * b1;
            *v += (g * g - *v) * b2;
            *w -= lr_t * *m / (v.sqrt() + eps);
        }
    }
    fn attrs(&self) -> String {
        format!(
            "learning_rate={}, beta1={}, beta2={}, epsilon={}",
            self.learning_rate, self.beta1, self.beta2, self.epsilon
        )
    }
}

/// Adam (`tf.train.AdamOptimizer`), exactly as TensorFlow 1.x computes it:
///
/// ```text
/// lr_t = lr * sqrt(1 - beta2_power) / (1 - beta1_power)
/// m    = m + (g - m) * (1 - beta1)
/// v    = v + (g*g - v) * (1 - beta2)
/// var  = var - lr_t * m / (sqrt(v) + epsilon)
/// then, after every variable's update: beta1_power *= beta1, beta2_power *= beta2
/// ```
///
/// `minimize` creates the slots `<var>/Adam` (m) and `<var>/Adam_1` (v) and the scalars
/// `beta1_power` and `beta2_power`, all non-trainable: run `global_variables_initializer()`
/// after `minimize`.
///
/// As every optimizer's update, it computes a `MatMul`'s weight gradient itself when a plan
/// fuses the two (`rustflow_ops::fusion`).
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{constant, square, Variable};
/// use rustflow_ops::train::{AdamOptimizer, Optimizer};
/// let g = Graph::new();
/// let w = Variable::new(&constant(&g, 3.0f32, ""), "w").unwrap();
/// let step = AdamOptimizer::new(1e-4).minimize(&square(&w).unwrap()).unwrap();
/// assert_eq!(step.name(), "Adam");
/// for name in ["w/Adam:0", "w/Adam_1:0", "beta1_power:0", "beta2_power:0"] {
///     assert!(g.tensor_by_name(name).is_ok(), "{name}");
/// }
/// ```
#[derive(Debug)]
pub struct AdamOptimizer {
    learning_rate: f32,
    beta1: f32,
    beta2: f32,
    epsilon: f32,
    slots: Slots,
    powers: Mutex<Option<(Variable, Variable)>>,
}

impl AdamOptimizer {
    /// Adam with this learning rate and TensorFlow's defaults: beta1 0.9, beta2 0.999,
    /// epsilon 1e-8.
    pub fn new(learning_rate: f32) -> Self {
        AdamOptimizer {
            learning_rate,
            beta1: 0.9,
            beta2: 0.999,
            epsilon: 1e-8,
            slots: Slots::default(),
            powers: Mutex::new(None),
        }
    }

    /// Sets the decay of the first moment (default 0.9).
    pub fn with_beta1(mut self, beta1: f32) -> Self {
        self.beta1 = beta1;
        self
    }

    /// Sets the decay of the second moment (default 0.999).
    pub fn with_beta2(mut self, beta2: f32) -> Self {
        self.beta2 = beta2;
        self
    }

    /// Sets epsilon (default 1e-8), added to `sqrt(v)` of the uncorrected `v`.
    pub fn with_epsilon(mut self, epsilon: f32) -> Self {
        self.epsilon = epsilon;
        self
    }

    fn powers(&self) -> Result<(Variable, Variable)> {
        self.powers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or_else(|| Error::Kernel("Adam: minimize has not created beta1_power".into()))
    }
}

impl Optimizer for AdamOptimizer {
    fn name(&self) -> &str {
        "Adam"
    }

    fn create_slots(&self, vars: &[&Variable]) -> Result<()> {
        let mut powers = self.powers.lock().unwrap_or_else(PoisonError::into_inner);
        if powers.is_none() {
            if let Some(first) = vars.first() {
                let g = first.graph();
                let b1 = Variable::non_trainable(
                    &constant(g, self.beta1, "beta1_power/initial_value"),
                    "beta1_power",
                )?;
                let b2 = Variable::non_trainable(
                    &constant(g, self.beta2, "beta2_power/initial_value"),
                    "beta2_power",
                )?;
                *powers = Some((b1, b2));
            }
        }
        vars.iter()
            .try_for_each(|v| self.slots.create(v, &["Adam", "Adam_1"]))
    }

    fn apply_dense(&self, grad: &Tensor, var: &Variable) -> Result<Operation> {
        let slots = self.slots.get(var)?;
        let (b1, b2) = self.powers()?;
        let rule = Adam {
            learning_rate: self.learning_rate,
            beta1: self.beta1,
            beta2: self.beta2,
            epsilon: self.epsilon,
        };
        let vars = [&**var, &*slots[0], &*slots[1]]
            .iter()
            .map(|v| (v.node(), v.op().name()))
            .collect();
        let op = ApplyDense::new(rule, vars);
        add(var.graph(), "ApplyAdam", op, &[grad, &b1, &b2], vec![])
    }

    fn finish(&self, g: &Graph, updates: &[Operation]) -> Result<Vec<Operation>> {
        let (b1, b2) = self.powers()?;
        g.control_dependencies(
            &updates.iter().collect::<Vec<_>>(),
            |g| -> Result<Vec<Operation>> {
                let next1 = b1.assign(&mul(&b1, &constant(g, self.beta1, "beta1"))?)?;
                let next2 = b2.assign(&mul(&b2, &constant(g, self.beta2, "beta2"))?)?;
                Ok(vec![next1.op(), next2.op()])
            },
        )?
    }
}
