//! The executor: runs a plan's steps in dependency order on the rayon pool, independent steps
//! concurrently, freeing each intermediate value after its last reader.

use crate::plan::{Plan, Step};
use rustflow_graph::{Error, FunctionRunner, KernelContext, Resources, Result, Value};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Instant;

/// Runs of a plan shorter than this (the last time it ran), in microseconds, execute their
/// nodes one at a time (see [`RunOptions::inter_op_parallelism`]).
pub const SEQUENTIAL_BELOW_US: u64 = 1000;

/// How a run executes.
#[derive(Clone, Debug)]
pub struct RunOptions {
    /// Record the start and end of every node (see [`RunMetadata`]).
    pub trace: bool,
    /// Fail on the first float output holding a NaN or an infinity, naming its node.
    pub check_numerics: bool,
    /// Run independent nodes concurrently (on by default); off runs them one by one in a
    /// fixed topological order. Even when on, a plan whose last run took under
    /// [`SEQUENTIAL_BELOW_US`] microseconds runs one node at a time: waking a thread costs more
    /// than such a run gains from it (kernels still use every core inside).
    pub inter_op_parallelism: bool,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            trace: false,
            check_numerics: false,
            inter_op_parallelism: true,
        }
    }
}

/// One node's execution in a traced run.
#[derive(Clone, Debug)]
pub struct NodeTrace {
    /// The node's name.
    pub node: String,
    /// Its op type.
    pub op: &'static str,
    /// Start, in microseconds since the run began.
    pub start_us: f64,
    /// Duration in microseconds.
    pub duration_us: f64,
    /// The rayon worker (or `usize::MAX` for the calling thread).
    pub thread: usize,
}

/// What a traced run recorded.
#[derive(Clone, Debug, Default)]
pub struct RunMetadata {
    /// One entry per node that ran, in completion order.
    pub nodes: Vec<NodeTrace>,
}

impl RunMetadata {
    /// The trace in Chrome's trace-event JSON (open it in Perfetto or chrome://tracing):
    /// one complete event per node, on the thread that ran it.
    pub fn to_chrome_trace(&self) -> String {
        let events: Vec<String> = self
            .nodes
            .iter()
            .map(|n| {
                format!(
                    "{{\"name\":{:?},\"cat\":{:?},\"ph\":\"X\",\"ts\":{:.3},\"dur\":{:.3},\"pid\":1,\"tid\":{}}}",
                    n.node,
                    n.op,
                    n.start_us,
                    n.duration_us,
                    if n.thread == usize::MAX { 0 } else { n.thread + 1 }
                )
            })
            .collect();
        format!("{{\"traceEvents\":[\n{}\n]}}\n", events.join(",\n"))
    }

    /// Total time per op type, largest first: (op type, microseconds, node count).
    pub fn by_op_type(&self) -> Vec<(&'static str, f64, usize)> {
        let mut m: std::collections::HashMap<&'static str, (f64, usize)> = Default::default();
        for n in &self.nodes {
            let e = m.entry(n.op).or_default();
            e.0 += n.duration_us;
            e.1 += 1;
        }
        let mut v: Vec<_> = m.into_iter().map(|(k, (t, c))| (k, t, c)).collect();
        v.sort_by(|a, b| b.1.total_cmp(&a.1));
        v
    }
}

struct RunState<'a> {
    plan: &'a Plan,
    resources: &'a Resources,
    options: &'a RunOptions,
    functions: &'a dyn FunctionRunner,
    slots: Vec<Mutex<Option<Value>>>,
    readers: Vec<AtomicUsize>,
    pending: Vec<AtomicUsize>,
    error: Mutex<Option<Error>>,
    abort: AtomicBool,
    t0: Instant,
    trace: Mutex<Vec<NodeTrace>>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl RunState<'_> {
    fn fail(&self, e: Error) {
        let mut err = lock(&self.error);
        if err.is_none() {
            *err = Some(e);
        }
        self.abort.store(true, Ordering::SeqCst);
    }

    /// Gathers the inputs of `step`, moving a value out at its last read.
    fn inputs(&self, step: &Step) -> Result<Vec<Value>> {
        step.inputs
            .iter()
            .map(|&s| {
                // Count the read under the slot's lock, so that the last reader's `take`
                // cannot overtake another reader's `clone`.
                let mut slot = lock(&self.slots[s]);
                let last = self.readers[s].fetch_sub(1, Ordering::AcqRel) == 1;
                let v = if last { slot.take() } else { slot.clone() };
                v.ok_or_else(|| Error::InvalidArgument {
                    node: step.name.clone(),
                    op: step.op.op_type().into(),
                    msg: "internal error: an input value is missing".into(),
                })
            })
            .collect()
    }

    fn run_step(&self, k: usize) -> Result<()> {
        let step = &self.plan.steps[k];
        let inputs = self.inputs(step)?;
        let start = Instant::now();
        let mut ctx = KernelContext {
            inputs,
            node: step.node,
            resources: self.resources,
            functions: self.functions,
        };
        let result =
            catch_unwind(AssertUnwindSafe(|| step.op.compute(&mut ctx))).unwrap_or_else(|p| {
                let msg = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                Err(Error::Kernel(format!(
                    "internal error: the kernel panicked: {msg}"
                )))
            });
        // Inputs read for the last time go back to the session's pool.
        for v in ctx.inputs.drain(..) {
            if let Some(buf) = v.into_unique_f32() {
                self.resources.buffers.give(buf);
            }
        }
        let outputs = result.map_err(|e| e.at_node(&step.name, step.op.op_type()))?;
        if self.options.trace {
            lock(&self.trace).push(NodeTrace {
                node: step.name.clone(),
                op: step.op.op_type(),
                start_us: (start - self.t0).as_secs_f64() * 1e6,
                duration_us: start.elapsed().as_secs_f64() * 1e6,
                thread: rayon::current_thread_index().unwrap_or(usize::MAX),
            });
        }
        if outputs.len() != step.outputs.len() {
            return Err(Error::InvalidArgument {
                node: step.name.clone(),
                op: step.op.op_type().into(),
                msg: format!(
                    "internal error: the kernel gave {} outputs, the op declares {}",
                    outputs.len(),
                    step.outputs.len()
                ),
            });
        }
        for (v, slot) in outputs.into_iter().zip(&step.outputs) {
            if let Some(s) = slot {
                if self.options.check_numerics {
                    check_numerics(&v, step)?;
                }
                *lock(&self.slots[*s]) = Some(v);
            }
        }
        Ok(())
    }

    /// Runs step `k`, then whatever it made ready: one inline, the rest spawned.
    fn run_from<'s>(&'s self, mut k: usize, scope: &rayon::Scope<'s>) {
        loop {
            if self.abort.load(Ordering::SeqCst) {
                return;
            }
            if let Err(e) = self.run_step(k) {
                self.fail(e);
                return;
            }
            let mut next = None;
            for &s in &self.plan.steps[k].successors {
                if self.pending[s].fetch_sub(1, Ordering::AcqRel) == 1 {
                    match next {
                        None => next = Some(s),
                        Some(_) => scope.spawn(move |sc| self.run_from(s, sc)),
                    }
                }
            }
            match next {
                Some(s) => k = s,
                None => return,
            }
        }
    }
}

fn check_numerics(v: &Value, step: &Step) -> Result<()> {
    if let Ok(xs) = v.as_slice::<f32>() {
        if let Some(bad) = xs.iter().find(|x| !x.is_finite()) {
            return Err(Error::Numerics {
                node: step.name.clone(),
                op: step.op.op_type().into(),
                what: if bad.is_nan() { "NaN" } else { "Inf" },
                msg: "found by the run's numerics check".into(),
            });
        }
    }
    Ok(())
}

/// Runs `plan` with `feeds` (one value per fed slot) and returns the fetch slots' values.
/// `functions` runs the functions of control-flow ops; a function's plan runs `nested` in
/// the run that called it, and keeps the session's buffer pool as it is.
pub(crate) fn execute(
    plan: &Plan,
    feeds: Vec<(usize, Value)>,
    resources: &Resources,
    options: &RunOptions,
    functions: &dyn FunctionRunner,
    nested: bool,
) -> Result<(Vec<Option<Value>>, RunMetadata)> {
    let state = RunState {
        plan,
        resources,
        options,
        functions,
        slots: (0..plan.n_slots).map(|_| Mutex::new(None)).collect(),
        readers: plan.readers.iter().map(|&r| AtomicUsize::new(r)).collect(),
        pending: plan
            .steps
            .iter()
            .map(|s| AtomicUsize::new(s.n_deps))
            .collect(),
        error: Mutex::new(None),
        abort: AtomicBool::new(false),
        t0: Instant::now(),
        trace: Mutex::new(Vec::new()),
    };
    for (s, v) in feeds {
        *lock(&state.slots[s]) = Some(v);
    }
    if !nested {
        resources.buffers.begin_run(plan as *const Plan as usize);
    }
    let last_us = plan.last_run_us.load(Ordering::Relaxed);
    let short = last_us > 0 && last_us < SEQUENTIAL_BELOW_US;
    if options.inter_op_parallelism
        && !short
        && plan.steps.len() > 1
        && rayon::current_num_threads() > 1
    {
        let st = &state;
        rayon::in_place_scope(|scope| {
            for &r in &plan.roots {
                scope.spawn(move |sc| st.run_from(r, sc));
            }
        });
    } else {
        for k in 0..plan.steps.len() {
            if let Err(e) = state.run_step(k) {
                state.fail(e);
                break;
            }
        }
    }
    let took = state.t0.elapsed().as_micros().clamp(1, u64::MAX as u128) as u64;
    plan.last_run_us.store(took, Ordering::Relaxed);
    if let Some(e) = lock(&state.error).take() {
        return Err(e);
    }
    let outputs = plan
        .fetch_slots
        .iter()
        .map(|s| s.and_then(|s| lock(&state.slots[s]).clone()))
        .collect();
    let nodes = std::mem::take(&mut *lock(&state.trace));
    Ok((outputs, RunMetadata { nodes }))
}
