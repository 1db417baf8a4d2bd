//! `GradientDescentOptimizer`: `var -= learning_rate * grad`.

use super::Optimizer;
use crate::util::add;
use crate::Variable;
use rustflow_graph::{
    fmt_dims, not_differentiable, Error, GradContext, KernelContext, NodeId, Op, OpKind, Operation,
    Result, Tensor, Value,
};
use std::sync::PoisonError;

/// The `ApplyGradientDescent` op: updates its variable in place.
#[derive(Debug)]
pub struct ApplyGradientDescent {
    var: NodeId,
    var_name: String,
    learning_rate: f32,
}

impl Op for ApplyGradientDescent {
    fn op_type(&self) -> &'static str {
        "ApplyGradientDescent"
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        not_differentiable(gc)
    }
    fn kind(&self) -> OpKind {
        OpKind::Stateful
    }
    fn reads_variables(&self) -> Vec<NodeId> {
        vec![self.var]
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let grad = ctx.input(0);
        let slot = ctx.resources.variable(self.var);
        // Lock order (see `slots`): the variable's lock alone, released before any wait.
        let mut guard = slot.write().unwrap_or_else(PoisonError::into_inner);
        let var = guard.as_mut().ok_or_else(|| Error::Uninitialized {
            var: self.var_name.clone(),
        })?;
        if var.shape() != grad.shape() {
            return Err(Error::Kernel(format!(
                "var and delta do not have the same shape {} {}",
                fmt_dims(var.shape()),
                fmt_dims(grad.shape())
            )));
        }
        let lr = self.learning_rate;
        let g = grad.as_slice::<f32>()?;
        for (w, &d) in var.data_mut::<f32>()?.iter_mut().zip(g) {
            *w -= lr * d;
        }
        Ok(vec![])
    }
    fn attrs(&self) -> String {
        format!(
            "var={}, learning_rate={}",
            self.var_name, self.learning_rate
        )
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
        let op = ApplyGradientDescent {
            var: var.node(),
            var_name: var.op_name(),
            learning_rate: self.learning_rate,
        };
        add(var.graph(), "ApplyGradientDescent", op, &[grad], vec![])
    }
}
