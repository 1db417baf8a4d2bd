//! `AdamOptimizer`, with TensorFlow 1.x's update (epsilon outside the bias correction).

use super::slots::{lock_var, Slots};
use super::Optimizer;
use crate::util::add;
use crate::{constant, mul, Variable};
use rayon::prelude::*;
use rustflow_graph::{
    Error, Graph, KernelContext, NodeId, Op, OpKind, Operation, Result, Tensor, Value,
};
use std::sync::{Mutex, PoisonError};

/// Elements per parallel task of the update.
const CHUNK: usize = 1 << 15;

/// The `ApplyAdam` op: updates a variable and its slots `m`, `v` in place. Inputs: the
/// gradient, `beta1_power`, `beta2_power`.
#[derive(Debug)]
pub struct ApplyAdam {
    var: (NodeId, String),
    m: (NodeId, String),
    v: (NodeId, String),
    learning_rate: f32,
    beta1: f32,
    beta2: f32,
    epsilon: f32,
}

impl Op for ApplyAdam {
    fn op_type(&self) -> &'static str {
        "ApplyAdam"
    }
    fn kind(&self) -> OpKind {
        OpKind::Stateful
    }
    fn reads_variables(&self) -> Vec<NodeId> {
        vec![self.var.0, self.m.0, self.v.0]
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let grad = ctx.input(0);
        let g = grad.as_slice::<f32>()?;
        let (b1p, b2p) = (
            ctx.input(1).scalar_value::<f32>()?,
            ctx.input(2).scalar_value::<f32>()?,
        );
        let lr_t = self.learning_rate * (1.0 - b2p).sqrt() / (1.0 - b1p);
        let r = ctx.resources;
        let (vs, ms, ss) = (
            r.variable(self.var.0),
            r.variable(self.m.0),
            r.variable(self.v.0),
        );
        // Lock order: the variable, then its slots (every optimizer op does the same).
        let mut var = lock_var(&vs, &self.var.1, grad.shape())?;
        let mut m = lock_var(&ms, &self.m.1, grad.shape())?;
        let mut v = lock_var(&ss, &self.v.1, grad.shape())?;
        let (Some(var), Some(m), Some(v)) = (var.as_mut(), m.as_mut(), v.as_mut()) else {
            return Err(Error::Kernel("Adam slots vanished".into()));
        };
        let (w, m, v) = (
            var.data_mut::<f32>()?,
            m.data_mut::<f32>()?,
            v.data_mut::<f32>()?,
        );
        let (b1, b2, eps) = (1.0 - self.beta1, 1.0 - self.beta2, self.epsilon);
        w.par_chunks_mut(CHUNK)
            .zip(m.par_chunks_mut(CHUNK))
            .zip(v.par_chunks_mut(CHUNK))
            .zip(g.par_chunks(CHUNK))
            .for_each(|(((w, m), v), g)| {
                for (((w, m), v), &g) in w.iter_mut().zip(m).zip(v).zip(g) {
                    *m += (g - *m) * b1;
                    *v += (g * g - *v) * b2;
                    *w -= lr_t * *m / (v.sqrt() + eps);
                }
            });
        Ok(vec![])
    }
    fn attrs(&self) -> String {
        format!(
            "var={}, learning_rate={}, beta1={}, beta2={}, epsilon={}",
            self.var.1, self.learning_rate, self.beta1, self.beta2, self.epsilon
        )
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
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
        let op = ApplyAdam {
            var: (var.node(), var.op_name()),
            m: (slots[0].node(), slots[0].op_name()),
            v: (slots[1].node(), slots[1].op_name()),
            learning_rate: self.learning_rate,
            beta1: self.beta1,
            beta2: self.beta2,
            epsilon: self.epsilon,
        };
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
