//! Slot variables (per-variable optimizer state: `<var>/Momentum`, `<var>/Adam`, ...) and the
//! op that applies an update rule to a variable and its slots in place.

use crate::util::add;
use crate::{fill, Variable};
use rustflow_graph::{
    fmt_dims, not_differentiable, Error, GradContext, KernelContext, NodeId, Op, OpKind, Operation,
    Result, Tensor, Value, VarSlot,
};
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex, PoisonError, RwLockWriteGuard};

/// A slot to create for every variable: TensorFlow's slot name (`"m"`, `"rms"`) and the
/// value every element starts at.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SlotSpec {
    /// The name `get_slot` knows it by.
    pub name: &'static str,
    /// Its initial value.
    pub init: f32,
}

/// The slots an optimizer created, by the variable they belong to.
#[derive(Debug, Default)]
pub(crate) struct Slots(Mutex<HashMap<NodeId, Vec<(&'static str, Variable)>>>);

impl Slots {
    /// Creates the `specs` slots of `var` unless it has them already, each a non-trainable
    /// variable of `var`'s shape named `<var>/<optimizer>` (TensorFlow's names: the second
    /// is `<var>/<optimizer>_1`, ...). Call it at the top level (see
    /// [`super::Optimizer::create_slots`]).
    pub fn create(&self, var: &Variable, optimizer: &str, specs: &[SlotSpec]) -> Result<()> {
        let mut m = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if m.contains_key(&var.node()) {
            return Ok(());
        }
        let shape = var.shape().to_known().unwrap_or_default();
        let name = format!("{}/{optimizer}", var.op_name());
        let slots = specs
            .iter()
            .map(|s| {
                let init = fill(var.graph(), &shape, s.init, "")?;
                Ok((s.name, Variable::non_trainable(&init, &name)?))
            })
            .collect::<Result<_>>()?;
        m.insert(var.node(), slots);
        Ok(())
    }

    /// The slots of `var`, in creation order.
    pub fn get(&self, var: &Variable) -> Result<Vec<Variable>> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&var.node())
            .map(|s| s.iter().map(|(_, v)| v.clone()).collect())
            .ok_or_else(|| Error::Kernel(format!("no optimizer slots for variable {}", var.name())))
    }

    /// The slot named `name` of `var` (`get_slot`).
    pub fn get_slot(&self, var: &Variable, name: &str) -> Option<Variable> {
        let m = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        let slots = m.get(&var.node())?;
        slots
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.clone())
    }
}

/// Locks a variable's slot for writing and checks that it is initialized with `shape`.
pub(crate) fn lock_var<'a>(
    slot: &'a Arc<VarSlot>,
    name: &str,
    shape: &[usize],
) -> Result<RwLockWriteGuard<'a, Option<Value>>> {
    let guard = slot.write().unwrap_or_else(PoisonError::into_inner);
    match guard.as_ref() {
        None => Err(Error::Uninitialized {
            var: name.to_string(),
        }),
        Some(v) if v.shape() != shape => Err(Error::Kernel(format!(
            "{name} has shape {}, the gradient {}",
            fmt_dims(v.shape()),
            fmt_dims(shape)
        ))),
        Some(_) => Ok(guard),
    }
}

/// An update rule of an optimizer: its op type and one step on a variable and its slots.
pub(crate) trait Rule: Debug + Send + Sync + 'static {
    /// TensorFlow's op type (`ApplyRMSProp`).
    const OP_TYPE: &'static str;
    /// One step, element by element: `h` the hyper-parameters' values (in the optimizer's
    /// order), `g` the gradient, `v[0]` the variable and `v[1..]` its slots, updated in place.
    fn step(&self, h: &[f32], g: &[f32], v: &mut [&mut [f32]]);
}

/// The `Apply<Optimizer>` op of a [`Rule`]: inputs are the gradient, then the scalar
/// hyper-parameters; it updates the variable and its slots in place and outputs nothing.
/// The update is a plain loop under the variables' locks (the variable first, then its
/// slots, as every optimizer op takes them).
#[derive(Debug)]
pub(crate) struct ApplyOp<R> {
    rule: R,
    /// The variable, then its slots: node and name.
    vars: Vec<(NodeId, String)>,
}

impl<R: Rule> Op for ApplyOp<R> {
    fn op_type(&self) -> &'static str {
        R::OP_TYPE
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        not_differentiable(gc)
    }
    fn kind(&self) -> OpKind {
        OpKind::Stateful
    }
    fn reads_variables(&self) -> Vec<NodeId> {
        self.vars.iter().map(|v| v.0).collect()
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let grad = ctx.input(0);
        let h = (1..ctx.inputs.len())
            .map(|i| ctx.input(i).scalar_value::<f32>())
            .collect::<Result<Vec<f32>>>()?;
        let slots: Vec<Arc<VarSlot>> = self
            .vars
            .iter()
            .map(|v| ctx.resources.variable(v.0))
            .collect();
        let mut guards = slots
            .iter()
            .zip(&self.vars)
            .map(|(s, v)| lock_var(s, &v.1, grad.shape()))
            .collect::<Result<Vec<_>>>()?;
        let mut data = guards
            .iter_mut()
            .filter_map(|g| g.as_mut())
            .map(|v| v.data_mut::<f32>())
            .collect::<Result<Vec<&mut [f32]>>>()?;
        self.rule.step(&h, grad.as_slice::<f32>()?, &mut data);
        Ok(vec![])
    }
    fn attrs(&self) -> String {
        format!("var={}, {:?}", self.vars[0].1, self.rule)
    }
}

/// Adds the update op of `rule` for `var` and its `slots`, from `grad` and the hyper-parameter
/// tensors `h`, named after the rule's op type.
pub(crate) fn apply_rule<R: Rule>(
    rule: R,
    grad: &Tensor,
    var: &Variable,
    slots: &[Variable],
    h: &[Tensor],
) -> Result<Operation> {
    let vars = std::iter::once(var)
        .chain(slots)
        .map(|v| (v.node(), v.op_name()))
        .collect();
    let inputs: Vec<&Tensor> = std::iter::once(grad).chain(h).collect();
    add(
        var.graph(),
        R::OP_TYPE,
        ApplyOp { rule, vars },
        &inputs,
        vec![],
    )
}
