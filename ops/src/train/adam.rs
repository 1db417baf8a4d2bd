//! `AdamOptimizer`, with TensorFlow 1.x's update (epsilon outside the bias correction).

use super::slots::{SlotSpec, Slots};
use super::update::{ApplyDense, Rule};
use super::{Hyper, Optimizer};
use crate::util::add;
use crate::{mul, Variable};
use rustflow_graph::{Error, Graph, Operation, Result, Tensor};
use std::sync::{Mutex, PoisonError};

/// Adam's rule (`ApplyAdam`; inputs: the gradient, `beta1_power`, `beta2_power`, then the
/// learning rate, beta1, beta2 and epsilon).
#[derive(Clone, Debug)]
pub(crate) struct Adam;

/// One Adam step's constants.
#[derive(Clone, Copy)]
pub(crate) struct Step {
    lr_t: f32,
    b1: f32,
    b2: f32,
    eps: f32,
}

impl Rule for Adam {
    const OP: &'static str = "ApplyAdam";
    type Step = Step;
    fn step(&self, s: &[f32]) -> Step {
        let [b1p, b2p, lr, beta1, beta2, eps] = s[..] else {
            return Step {
                lr_t: f32::NAN,
                b1: f32::NAN,
                b2: f32::NAN,
                eps: f32::NAN,
            };
        };
        Step {
            lr_t: lr * (1.0 - b2p).sqrt() / (1.0 - b1p),
            b1: 1.0 - beta1,
            b2: 1.0 - beta2,
            eps,
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
        String::new()
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
    learning_rate: Hyper,
    beta1: Hyper,
    beta2: Hyper,
    epsilon: Hyper,
    slots: Slots,
    powers: Mutex<Option<(Variable, Variable)>>,
}

impl AdamOptimizer {
    /// Adam with this learning rate and TensorFlow's defaults: beta1 0.9, beta2 0.999,
    /// epsilon 1e-8.
    pub fn new(learning_rate: impl Into<Hyper>) -> Self {
        AdamOptimizer {
            learning_rate: learning_rate.into(),
            beta1: 0.9.into(),
            beta2: 0.999.into(),
            epsilon: 1e-8.into(),
            slots: Slots::default(),
            powers: Mutex::new(None),
        }
    }

    /// Sets the decay of the first moment (default 0.9).
    pub fn with_beta1(mut self, beta1: impl Into<Hyper>) -> Self {
        self.beta1 = beta1.into();
        self
    }

    /// Sets the decay of the second moment (default 0.999).
    pub fn with_beta2(mut self, beta2: impl Into<Hyper>) -> Self {
        self.beta2 = beta2.into();
        self
    }

    /// Sets epsilon (default 1e-8), added to `sqrt(v)` of the uncorrected `v`.
    pub fn with_epsilon(mut self, epsilon: impl Into<Hyper>) -> Self {
        self.epsilon = epsilon.into();
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

    fn hypers(&self) -> Vec<(&'static str, &Hyper)> {
        vec![
            ("learning_rate", &self.learning_rate),
            ("beta1", &self.beta1),
            ("beta2", &self.beta2),
            ("epsilon", &self.epsilon),
        ]
    }

    fn create_slots(&self, vars: &[&Variable]) -> Result<()> {
        let mut powers = self.powers.lock().unwrap_or_else(PoisonError::into_inner);
        if powers.is_none() {
            if let Some(first) = vars.first() {
                let g = first.graph();
                let b1 = Variable::non_trainable(
                    &self.beta1.tensor(g, "beta1_power/initial_value")?,
                    "beta1_power",
                )?;
                let b2 = Variable::non_trainable(
                    &self.beta2.tensor(g, "beta2_power/initial_value")?,
                    "beta2_power",
                )?;
                *powers = Some((b1, b2));
            }
        }
        let spec = |name| SlotSpec { name, init: 0.0 };
        let specs = [spec("m"), spec("v")];
        vars.iter()
            .try_for_each(|v| self.slots.create(v, "Adam", &specs))
    }

    fn get_slot(&self, var: &Variable, name: &str) -> Option<Variable> {
        self.slots.get_slot(var, name)
    }

    fn apply_dense(&self, grad: &Tensor, var: &Variable, h: &[Tensor]) -> Result<Operation> {
        let slots = self.slots.get(var)?;
        let (b1, b2) = self.powers()?;
        let vars = [var, &slots[0], &slots[1]]
            .iter()
            .map(|v| (v.node(), v.op_name()))
            .collect();
        let op = ApplyDense::new(Adam, vars);
        let inputs = [grad, &b1, &b2, &h[0], &h[1], &h[2], &h[3]];
        add(var.graph(), "ApplyAdam", op, &inputs, vec![])
    }

    fn finish(&self, g: &Graph, updates: &[Operation], h: &[Tensor]) -> Result<Vec<Operation>> {
        let (b1, b2) = self.powers()?;
        g.control_dependencies(
            &updates.iter().collect::<Vec<_>>(),
            |_| -> Result<Vec<Operation>> {
                let next1 = b1.assign(&mul(&b1, &h[1])?)?;
                let next2 = b2.assign(&mul(&b2, &h[2])?)?;
                Ok(vec![next1.op(), next2.op()])
            },
        )?
    }
}
