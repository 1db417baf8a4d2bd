//! Slot variables: per-variable optimizer state (`<var>/Momentum`, `<var>/Adam`, ...), the
//! element rules of the optimizers whose constants are all hyper-parameters, and how updates
//! lock them.
//!
//! Lock order, for every optimizer op: the variable's lock, then its slots' locks in
//! creation order, all taken by [`lock_var`] (an `Assign` and a variable read take one
//! variable's lock alone). While it holds them, an update never waits for rayon's pool: the
//! pool's threads may be blocked on those very locks (other runs' updates and reads of the
//! same variables), so such a wait could never end. Updates that are worth parallelizing use
//! [`for_each_unpooled`] instead.

use super::update::{ApplyDense, PerElement};
use crate::util::add;
use crate::{fill, Variable};
use rustflow_graph::{fmt_dims, Error, NodeId, Operation, Result, Tensor, Value, VarSlot};
use std::collections::HashMap;
use std::fmt::Debug;
use std::sync::{Arc, Mutex, PoisonError, RwLockWriteGuard};
use std::thread;

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
    /// The rule's attributes for graph listings (`use_nesterov=true`); none by default.
    fn attrs(&self) -> String {
        String::new()
    }
}

/// Adds the update op of `rule` for `var` and its `slots`, from `grad` and the hyper-parameter
/// tensors `h`, named after the rule's op type.
pub(crate) fn apply_rule<R: Rule + Clone + Copy>(
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
    let op = ApplyDense::new(PerElement(rule), vars);
    add(var.graph(), R::OP_TYPE, op, &inputs, vec![])
}

/// Runs `f` on every item of `items`, on the calling thread and on helper threads of its own
/// (one fewer than rayon's pool has), each taking the next item when it is done: the work
/// of an update that holds variable locks, which must not wait for rayon's pool (see the
/// module's lock order). The helpers take no lock but the queue of items, so the wait for
/// them always ends. A single item runs on the calling thread alone.
pub(crate) fn for_each_unpooled<I>(items: I, f: impl Fn(I::Item) + Sync)
where
    I: Iterator + Send,
    I::Item: Send,
{
    let helpers = rayon::current_num_threads()
        .saturating_sub(1)
        .min(items.size_hint().0.saturating_sub(1));
    // The innermost lock: nothing else is taken or awaited while it is held.
    let queue = Mutex::new(items);
    let work = || loop {
        let next = queue.lock().unwrap_or_else(PoisonError::into_inner).next();
        match next {
            Some(item) => f(item),
            None => return,
        }
    };
    if helpers == 0 {
        return work();
    }
    thread::scope(|s| {
        for _ in 0..helpers {
            s.spawn(work);
        }
        work();
    });
}
