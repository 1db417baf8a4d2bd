//! Slot variables: per-variable optimizer state (`<var>/Momentum`, `<var>/Adam`, ...), and
//! how updates lock them.
//!
//! Lock order, for every optimizer op: the variable's lock, then its slots' locks in
//! creation order, all taken by [`lock_var`] (an `Assign` and a variable read take one
//! variable's lock alone). While it holds them, an update never waits for rayon's pool: the
//! pool's threads may be blocked on those very locks (other runs' updates and reads of the
//! same variables), so such a wait could never end. Updates that are worth parallelizing use
//! [`for_each_unpooled`] instead.

use crate::{fill, Variable};
use rustflow_graph::{fmt_dims, Error, NodeId, Result, Value, VarSlot};
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, RwLockWriteGuard};
use std::thread;

/// A non-trainable variable of `var`'s shape, initialized to zeros, named `<var>/<name>`.
/// Call it at the top level (see [`super::Optimizer::create_slots`]).
pub(crate) fn zeros_slot(var: &Variable, name: &str) -> Result<Variable> {
    let shape = var.shape().to_known().unwrap_or_default();
    let zeros = fill(var.graph(), &shape, 0f32, "zeros")?;
    Variable::non_trainable(&zeros, &format!("{}/{name}", var.op_name()))
}

/// The slots an optimizer created, by the variable they belong to.
#[derive(Debug, Default)]
pub(crate) struct Slots(Mutex<HashMap<NodeId, Vec<Variable>>>);

impl Slots {
    /// Creates `names` slots for `var` unless it has them already.
    pub fn create(&self, var: &Variable, names: &[&str]) -> Result<()> {
        let mut m = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if let Entry::Vacant(e) = m.entry(var.node()) {
            e.insert(
                names
                    .iter()
                    .map(|n| zeros_slot(var, n))
                    .collect::<Result<_>>()?,
            );
        }
        Ok(())
    }

    /// The slots of `var`, in creation order.
    pub fn get(&self, var: &Variable) -> Result<Vec<Variable>> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&var.node())
            .cloned()
            .ok_or_else(|| Error::Kernel(format!("no optimizer slots for variable {}", var.name())))
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
