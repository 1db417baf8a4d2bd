//! `RMSPropOptimizer`, plain or centered, with momentum.

use super::slots::{apply_rule, Rule, SlotSpec, Slots};
use super::{Hyper, Optimizer};
use crate::Variable;
use rustflow_graph::{Operation, Result, Tensor};

/// The rule of `ApplyRMSProp` / `ApplyCenteredRMSProp`; hyper-parameters: learning rate,
/// decay, momentum, epsilon; slots: `ms`, (`mg`,) `mom`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RmsProp;

impl Rule for RmsProp {
    const OP_TYPE: &'static str = "ApplyRMSProp";
    fn step(&self, h: &[f32], g: &[f32], w: &mut [f32], slots: &mut [&mut [f32]]) {
        let (lr, rho, mu, eps) = (h[0], h[1], h[2], h[3]);
        let [ms, mom] = slots else { return };
        for (((w, ms), mom), &g) in w.iter_mut().zip(ms.iter_mut()).zip(mom.iter_mut()).zip(g) {
            *ms += (g * g - *ms) * (1.0 - rho);
            *mom = *mom * mu + g * lr / (*ms + eps).sqrt();
            *w -= *mom;
        }
    }
}

/// The centered variant: the denominator is the variance `ms - mg²`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CenteredRmsProp;

impl Rule for CenteredRmsProp {
    const OP_TYPE: &'static str = "ApplyCenteredRMSProp";
    fn step(&self, h: &[f32], g: &[f32], w: &mut [f32], slots: &mut [&mut [f32]]) {
        let (lr, rho, mu, eps) = (h[0], h[1], h[2], h[3]);
        let [ms, mg, mom] = slots else { return };
        let slots = ms.iter_mut().zip(mg.iter_mut()).zip(mom.iter_mut());
        for ((w, ((ms, mg), mom)), &g) in w.iter_mut().zip(slots).zip(g) {
            *ms += (g * g - *ms) * (1.0 - rho);
            *mg += (g - *mg) * (1.0 - rho);
            let denom = (*ms - *mg * *mg) + eps;
            *mom = *mom * mu + g * lr / denom.sqrt();
            *w -= *mom;
        }
    }
}

/// RMSProp (`tf.train.RMSPropOptimizer`) as TensorFlow 1.x computes it:
///
/// ```text
/// rms = rms + (g² - rms) * (1 - decay)          (rms starts at 1, not 0)
/// mg  = mg + (g - mg) * (1 - decay)             (centered only)
/// mom = momentum * mom + lr * g / sqrt(rms [- mg²] + epsilon)
/// var -= mom
/// ```
///
/// Slots `rms`, `mg` (centered) and `momentum`, named `<var>/RMSProp`, `<var>/RMSProp_1`, ...
/// in that order. Defaults: decay 0.9, momentum 0, epsilon 1e-10, not centered.
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{constant, square, Variable};
/// use rustflow_ops::train::{Optimizer, RMSPropOptimizer};
/// let g = Graph::new();
/// let w = Variable::new(&constant(&g, 3.0f32, ""), "w").unwrap();
/// let opt = RMSPropOptimizer::new(0.01).with_momentum(0.9).with_centered(true);
/// opt.minimize(&square(&w).unwrap()).unwrap();
/// assert_eq!(opt.get_slot(&w, "mg").unwrap().name(), "w/RMSProp_1:0");
/// ```
#[derive(Debug)]
pub struct RMSPropOptimizer {
    learning_rate: Hyper,
    decay: Hyper,
    momentum: Hyper,
    epsilon: Hyper,
    centered: bool,
    slots: Slots,
}

impl RMSPropOptimizer {
    /// RMSProp with this learning rate and TensorFlow's defaults.
    pub fn new(learning_rate: impl Into<Hyper>) -> Self {
        RMSPropOptimizer {
            learning_rate: learning_rate.into(),
            decay: 0.9.into(),
            momentum: 0.0.into(),
            epsilon: 1e-10.into(),
            centered: false,
            slots: Slots::default(),
        }
    }

    /// Sets the decay of the moving averages (default 0.9).
    pub fn with_decay(mut self, decay: impl Into<Hyper>) -> Self {
        self.decay = decay.into();
        self
    }

    /// Sets the momentum (default 0).
    pub fn with_momentum(mut self, momentum: impl Into<Hyper>) -> Self {
        self.momentum = momentum.into();
        self
    }

    /// Sets epsilon (default 1e-10), added under the square root.
    pub fn with_epsilon(mut self, epsilon: impl Into<Hyper>) -> Self {
        self.epsilon = epsilon.into();
        self
    }

    /// Normalizes by the estimated variance of the gradient instead of its second moment.
    pub fn with_centered(mut self, centered: bool) -> Self {
        self.centered = centered;
        self
    }
}

impl Optimizer for RMSPropOptimizer {
    fn name(&self) -> &str {
        "RMSProp"
    }

    fn hypers(&self) -> Vec<(&'static str, &Hyper)> {
        vec![
            ("learning_rate", &self.learning_rate),
            ("decay", &self.decay),
            ("momentum", &self.momentum),
            ("epsilon", &self.epsilon),
        ]
    }

    fn create_slots(&self, vars: &[&Variable]) -> Result<()> {
        let spec = |name, init| SlotSpec { name, init };
        let specs = if self.centered {
            vec![spec("rms", 1.0), spec("mg", 0.0), spec("momentum", 0.0)]
        } else {
            vec![spec("rms", 1.0), spec("momentum", 0.0)]
        };
        vars.iter()
            .try_for_each(|v| self.slots.create(v, "RMSProp", &specs))
    }

    fn get_slot(&self, var: &Variable, name: &str) -> Option<Variable> {
        self.slots.get_slot(var, name)
    }

    fn apply_dense(&self, grad: &Tensor, var: &Variable, h: &[Tensor]) -> Result<Operation> {
        let slots = self.slots.get(var)?;
        if self.centered {
            apply_rule(CenteredRmsProp, grad, var, &slots, h)
        } else {
            apply_rule(RmsProp, grad, var, &slots, h)
        }
    }
}
