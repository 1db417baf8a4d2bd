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
use std::sync::{Arc, Condvar, Mutex, PoisonError, RwLockWriteGuard};

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
    /// order), `g` the gradient, `w` the variable and `slots` its slots, updated in place.
    fn step(&self, h: &[f32], g: &[f32], w: &mut [f32], slots: &mut [&mut [f32]]);
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

/// Runs `f` on every item of `items`: the work of an update that holds variable locks,
/// which must never wait for a job of rayon's pool that has not started (the pool's threads
/// may be blocked on those very locks; see the module's lock order).
///
/// The calling thread takes items from a shared queue until it is empty; helper jobs
/// spawned on rayon's pool (one fewer than its threads) take items too, if they start in
/// time. At the end the caller waits only for helpers that are inside the queue, which
/// hold no lock and finish their item; a helper that starts later finds the queue closed
/// and returns. So the pool's idle threads share the work, none is oversubscribed, and
/// the wait always ends.
pub(crate) fn for_each_unpooled<I>(items: I, f: impl Fn(I::Item) + Sync)
where
    I: Iterator + Send,
    I::Item: Send,
{
    let helpers = rayon::current_num_threads()
        .saturating_sub(1)
        .min(items.size_hint().0.saturating_sub(1));
    if helpers == 0 {
        return items.for_each(f);
    }
    let queue = Queue {
        items: Mutex::new(items),
        f,
    };
    let door = Arc::new(Door::default());
    // SAFETY: `_close` (below) closes the door and waits until no helper is inside before
    // this frame ends, also when `f` unwinds; helpers touch `queue` only while inside.
    let work: &'static (dyn Work + '_) =
        unsafe { std::mem::transmute::<&(dyn Work + '_), &'static (dyn Work + 'static)>(&queue) };
    *door.state.lock().unwrap_or_else(PoisonError::into_inner) = (Some(WorkRef(work)), 0);
    let _close = Close(&door);
    for _ in 0..helpers {
        let door = Arc::clone(&door);
        rayon::spawn(move || {
            let Some(work) = door.enter() else { return };
            while work.0.run_one() {}
            door.leave();
        });
    }
    while queue.run_one() {}
}

/// The items of a [`for_each_unpooled`] call and what to do with each.
struct Queue<I, F> {
    /// The innermost lock: nothing else is taken or awaited while it is held.
    items: Mutex<I>,
    f: F,
}

/// A queue's work, with its item type erased, for helpers.
trait Work: Sync {
    /// Runs the next item; false when there is none.
    fn run_one(&self) -> bool;
}

impl<I: Iterator + Send, F: Fn(I::Item) + Sync> Work for Queue<I, F>
where
    I::Item: Send,
{
    fn run_one(&self) -> bool {
        let next = self
            .items
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .next();
        next.map(&self.f).is_some()
    }
}

/// A reference to a queue's work that helpers may carry to another thread.
#[derive(Clone, Copy)]
struct WorkRef(&'static dyn Work);

/// How helpers reach a queue: the work while it is open, and how many helpers are inside.
#[derive(Default)]
struct Door {
    state: Mutex<(Option<WorkRef>, usize)>,
    left: Condvar,
}

impl Door {
    /// The work, counting the helper inside, unless the door is closed.
    fn enter(&self) -> Option<WorkRef> {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let work = s.0?;
        s.1 += 1;
        Some(work)
    }

    /// A helper is done with the queue.
    fn leave(&self) {
        let mut s = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        s.1 -= 1;
        self.left.notify_all();
    }
}

/// Closes a door when dropped and waits until every helper inside has left.
struct Close<'a>(&'a Door);

impl Drop for Close<'_> {
    fn drop(&mut self) {
        let mut s = self.0.state.lock().unwrap_or_else(PoisonError::into_inner);
        s.0 = None;
        while s.1 > 0 {
            s = self.0.left.wait(s).unwrap_or_else(PoisonError::into_inner);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::for_each_unpooled;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{mpsc, Mutex};

    /// Every item runs once, also while every other thread of the pool waits for a lock
    /// the caller holds (the case that made waiting for the pool deadlock).
    #[test]
    fn runs_every_item_while_the_pool_is_blocked_on_the_callers_lock() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let lock = Mutex::new(());
        let counts: Vec<AtomicUsize> = (0..1000).map(|_| AtomicUsize::new(0)).collect();
        pool.in_place_scope(|s| {
            let held = lock.lock().unwrap();
            let (started, blocked) = mpsc::channel();
            for _ in 0..2 {
                let (lock, started) = (&lock, started.clone());
                s.spawn(move |_| {
                    started.send(()).unwrap();
                    drop(lock.lock().unwrap());
                });
            }
            blocked.recv().unwrap();
            blocked.recv().unwrap();
            pool.install(|| {
                for_each_unpooled(counts.iter(), |c| {
                    c.fetch_add(1, Ordering::Relaxed);
                })
            });
            drop(held);
        });
        assert!(counts.iter().all(|c| c.load(Ordering::Relaxed) == 1));
    }
}
