//! `MomentumOptimizer`: `accum = momentum * accum + grad; var -= learning_rate * accum`.

use super::slots::{lock_var, Slots};
use super::Optimizer;
use crate::util::add;
use crate::Variable;
use rustflow_graph::{
    not_differentiable, GradContext, KernelContext, NodeId, Op, OpKind, Operation, Result, Tensor,
    Value,
};

/// The `ApplyMomentum` op: updates a variable and its accumulator in place.
#[derive(Debug)]
pub struct ApplyMomentum {
    var: (NodeId, String),
    accum: (NodeId, String),
    learning_rate: f32,
    momentum: f32,
}

impl Op for ApplyMomentum {
    fn op_type(&self) -> &'static str {
        "ApplyMomentum"
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        not_differentiable(gc)
    }
    fn kind(&self) -> OpKind {
        OpKind::Stateful
    }
    fn reads_variables(&self) -> Vec<NodeId> {
        vec![self.var.0, self.accum.0]
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let grad = ctx.input(0);
        let g = grad.as_slice::<f32>()?;
        // Lock order (see `slots`): the variable, then its slots; the loop below is serial,
        // so nothing waits for rayon's pool under them.
        let (vs, accs) = (
            ctx.resources.variable(self.var.0),
            ctx.resources.variable(self.accum.0),
        );
        let mut var = lock_var(&vs, &self.var.1, grad.shape())?;
        let mut acc = lock_var(&accs, &self.accum.1, grad.shape())?;
        let (Some(var), Some(acc)) = (var.as_mut(), acc.as_mut()) else {
            return Ok(vec![]);
        };
        let (w, a) = (var.data_mut::<f32>()?, acc.data_mut::<f32>()?);
        let (lr, mu) = (self.learning_rate, self.momentum);
        for ((w, a), &g) in w.iter_mut().zip(a.iter_mut()).zip(g) {
            *a = mu * *a + g;
            *w -= lr * *a;
        }
        Ok(vec![])
    }
    fn attrs(&self) -> String {
        format!(
            "var={}, learning_rate={}, momentum={}",
            self.var.1, self.learning_rate, self.momentum
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
        let op = ApplyMomentum {
            var: (var.node(), var.op_name()),
            accum: (accum.node(), accum.op_name()),
            learning_rate: self.learning_rate,
            momentum: self.momentum,
        };
        add(var.graph(), "ApplyMomentum", op, &[grad], vec![])
    }
}
