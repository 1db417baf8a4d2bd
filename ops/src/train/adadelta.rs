//! `AdadeltaOptimizer`.

use super::slots::{apply_rule, Rule, SlotSpec, Slots};
use super::{Hyper, Optimizer};
use crate::Variable;
use rustflow_graph::{Operation, Result, Tensor};

/// The rule of `ApplyAdadelta`; hyper-parameters: learning rate, rho, epsilon; slots:
/// `accum`, `accum_update`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Adadelta;

impl Rule for Adadelta {
    const OP_TYPE: &'static str = "ApplyAdadelta";
    fn step(&self, h: &[f32], g: &[f32], w: &mut [f32], slots: &mut [&mut [f32]]) {
        let (lr, rho, eps) = (h[0], h[1], h[2]);
        let [acc, upd] = slots else { return };
        let slots = acc.iter_mut().zip(upd.iter_mut());
        for ((w, (acc, upd)), &g) in w.iter_mut().zip(slots).zip(g) {
            *acc = *acc * rho + g * g * (1.0 - rho);
            let update = (*upd + eps).sqrt() * (1.0 / (*acc + eps).sqrt()) * g;
            *w -= update * lr;
            *upd = *upd * rho + update * update * (1.0 - rho);
        }
    }
}

/// Adadelta (`tf.train.AdadeltaOptimizer`), as TensorFlow 1.x computes it:
///
/// ```text
/// accum        = rho * accum + (1 - rho) * g²
/// update       = sqrt(accum_update + epsilon) / sqrt(accum + epsilon) * g
/// accum_update = rho * accum_update + (1 - rho) * update²
/// var         -= learning_rate * update
/// ```
///
/// Slots `accum` (`<var>/Adadelta`) and `accum_update` (`<var>/Adadelta_1`), from zero.
/// Defaults: learning rate 0.001, rho 0.95, epsilon 1e-8.
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{constant, square, Variable};
/// use rustflow_ops::train::{AdadeltaOptimizer, Optimizer};
/// let g = Graph::new();
/// let w = Variable::new(&constant(&g, 3.0f32, ""), "w").unwrap();
/// let opt = AdadeltaOptimizer::new(1.0).with_rho(0.95).with_epsilon(1e-6);
/// opt.minimize(&square(&w).unwrap()).unwrap();
/// assert_eq!(opt.get_slot(&w, "accum_update").unwrap().name(), "w/Adadelta_1:0");
/// ```
#[derive(Debug)]
pub struct AdadeltaOptimizer {
    learning_rate: Hyper,
    rho: Hyper,
    epsilon: Hyper,
    slots: Slots,
}

impl AdadeltaOptimizer {
    /// Adadelta with this learning rate, rho 0.95 and epsilon 1e-8.
    pub fn new(learning_rate: impl Into<Hyper>) -> Self {
        AdadeltaOptimizer {
            learning_rate: learning_rate.into(),
            rho: 0.95.into(),
            epsilon: 1e-8.into(),
            slots: Slots::default(),
        }
    }

    /// Sets the decay rate rho (default 0.95).
    pub fn with_rho(mut self, rho: impl Into<Hyper>) -> Self {
        self.rho = rho.into();
        self
    }

    /// Sets epsilon (default 1e-8).
    pub fn with_epsilon(mut self, epsilon: impl Into<Hyper>) -> Self {
        self.epsilon = epsilon.into();
        self
    }
}

impl Optimizer for AdadeltaOptimizer {
    fn name(&self) -> &str {
        "Adadelta"
    }

    fn hypers(&self) -> Vec<(&'static str, &Hyper)> {
        vec![
            ("lr", &self.learning_rate),
            ("rho", &self.rho),
            ("epsilon", &self.epsilon),
        ]
    }

    fn create_slots(&self, vars: &[&Variable]) -> Result<()> {
        let spec = |name| SlotSpec { name, init: 0.0 };
        let specs = [spec("accum"), spec("accum_update")];
        vars.iter()
            .try_for_each(|v| self.slots.create(v, "Adadelta", &specs))
    }

    fn get_slot(&self, var: &Variable, name: &str) -> Option<Variable> {
        self.slots.get_slot(var, name)
    }

    fn apply_dense(&self, grad: &Tensor, var: &Variable, h: &[Tensor]) -> Result<Operation> {
        apply_rule(Adadelta, grad, var, &self.slots.get(var)?, h)
    }
}
