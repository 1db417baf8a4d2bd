//! `Session`, `InteractiveSession`, and `eval` / `run` on tensors and operations.

use crate::executor::{execute, RunMetadata, RunOptions};
use crate::plan::{Plan, PlanKey};
use crate::{FeedDict, Fetch, Outputs};
use rustflow_graph::{
    Error, Function, FunctionRunner, Graph, Operation, Resources, Result, SessionOptions, Tensor,
    Value,
};
use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

struct Inner {
    graph: Graph,
    resources: Resources,
    plans: Mutex<HashMap<PlanKey, Arc<Plan>>>,
    closed: AtomicBool,
}

impl Inner {
    /// The plan of `key`, built on first use.
    fn plan(&self, key: &PlanKey) -> Result<Arc<Plan>> {
        let mut plans = self.plans.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(p) = plans.get(key) {
            return Ok(p.clone());
        }
        let p = Arc::new(Plan::build(&self.graph, key)?);
        plans.insert(key.clone(), p.clone());
        Ok(p)
    }
}

/// Runs the functions of a run's control-flow ops, each as a plan of its own (cached with
/// the session's plans: its fetches are the function's results and stateful nodes, its
/// feeds the arguments).
struct Calls<'a> {
    inner: &'a Inner,
    options: &'a RunOptions,
}

impl FunctionRunner for Calls<'_> {
    fn call(&self, f: &Function, args: Vec<Value>) -> Result<Vec<Value>> {
        let key = PlanKey::for_function(f);
        let plan = self.inner.plan(&key)?;
        let feeds = f
            .args
            .iter()
            .zip(args)
            .map(|(a, v)| (plan.feed_slots[&(*a, 0)], v))
            .collect();
        let (values, _) = execute(
            &plan,
            feeds,
            &self.inner.resources,
            self.options,
            self,
            true,
        )?;
        values
            .into_iter()
            .take(f.results.len())
            .zip(&f.results)
            .map(|(v, r)| {
                v.ok_or_else(|| {
                    Error::Kernel(format!(
                        "internal error: the function result {} was not computed",
                        self.inner.graph.with_node(r.0, |d| d.name.clone())
                    ))
                })
            })
            .collect()
    }
}

/// Runs a graph: `run(fetches, feeds)` executes the subgraph the fetches need, substituting
/// the fed tensors. Variable values belong to the session and persist across its runs; a new
/// session starts with every variable uninitialized.
///
/// A `Session` is `Send + Sync` and cheap to clone (clones share the session). `run` may be
/// called from many threads at once: each run has its own intermediate values; variables are
/// shared, and each update of one variable is atomic (it holds that variable's lock), so
/// concurrent training steps never tear a variable, though their updates interleave as in
/// TensorFlow. Concurrent read-only runs give exactly the results of serial runs.
///
/// ```
/// use rustflow_graph::{Graph, DType, shape};
/// use rustflow_runtime::{feed, fetches, Session};
/// let g = Graph::new();
/// let x = rustflow_ops::placeholder(&g, DType::F32, shape![?, 2], "x");
/// let y = rustflow_ops::add(&x, &x).unwrap();
/// let sess = Session::new(&g);
/// let out = sess.run(&fetches![&y], &feed! { &x => ndarray::array![[1.0f32, 2.0]] }).unwrap();
/// assert_eq!(out.value(0).unwrap().as_slice::<f32>().unwrap(), &[2.0, 4.0]);
/// ```
#[derive(Clone)]
pub struct Session {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Session({:?})", self.inner.graph)
    }
}

impl PartialEq for Session {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Session {
    /// A session over `graph`, with every variable uninitialized.
    pub fn new(graph: &Graph) -> Session {
        Session::with_options(graph, SessionOptions::default())
    }

    /// A session over `graph` whose kernels compute as `options` allow
    /// (`tf.Session(config=...)`).
    ///
    /// ```
    /// use rustflow_graph::{Graph, KernelPolicy, SessionOptions};
    /// use rustflow_runtime::Session;
    /// let g = Graph::new();
    /// let sess = Session::with_options(&g, SessionOptions { kernels: KernelPolicy::Fast, ..Default::default() });
    /// assert_eq!(sess.options().kernels, KernelPolicy::Fast);
    /// ```
    pub fn with_options(graph: &Graph, options: SessionOptions) -> Session {
        Session {
            inner: Arc::new(Inner {
                graph: graph.clone(),
                resources: Resources::with_options(options),
                plans: Mutex::new(HashMap::new()),
                closed: AtomicBool::new(false),
            }),
        }
    }

    /// The graph this session runs.
    pub fn graph(&self) -> &Graph {
        &self.inner.graph
    }

    /// The options it was opened with.
    pub fn options(&self) -> SessionOptions {
        self.inner.resources.options
    }

    /// Runs what `fetches` need and returns their values in fetch order (`None` for an
    /// operation). Each op runs at most once; a fed tensor's producers do not run.
    /// Everything is checked before anything runs: on a bad fetch or feed, a missing feed or
    /// an uninitialized variable, no op has run and no variable changed.
    pub fn run(&self, fetches: &[Fetch], feeds: &FeedDict) -> Result<Outputs> {
        self.run_with(fetches, feeds, &RunOptions::default())
            .map(|(o, _)| o)
    }

    /// [`Session::run`] with options (tracing, numerics checks); returns what was recorded.
    pub fn run_with(
        &self,
        fetches: &[Fetch],
        feeds: &FeedDict,
        options: &RunOptions,
    ) -> Result<(Outputs, RunMetadata)> {
        let inner = &self.inner;
        if inner.closed.load(Ordering::SeqCst) {
            return Err(Error::ClosedSession);
        }
        let g = &inner.graph;
        for f in fetches {
            match f {
                Fetch::Tensor(t) => g.check_owns(t.graph(), &t.to_string())?,
                Fetch::Operation(o) => g.check_owns(o.graph(), &o.to_string())?,
            }
        }
        let mut fed = Vec::with_capacity(feeds.len());
        for (t, v) in feeds.entries() {
            g.check_owns(t.graph(), &t.to_string())?;
            let spec = t.spec();
            if v.dtype() != spec.dtype {
                return Err(Error::FeedDtype {
                    tensor: t.name(),
                    got: v.dtype(),
                    want: spec.dtype,
                });
            }
            if !spec.shape.is_compatible_with(v.shape()) {
                return Err(Error::FeedShape {
                    tensor: t.name(),
                    got: numpy_shape(v.shape()),
                    want: spec.shape,
                });
            }
            fed.push((t.node(), t.index()));
        }
        let key = PlanKey::new(fetches, &fed);
        let plan = self.plan(&key)?;
        for (var, name) in &plan.var_checks {
            if !inner.resources.is_initialized(*var) {
                return Err(Error::Uninitialized { var: name.clone() });
            }
        }
        let feed_values = feeds
            .entries()
            .iter()
            .map(|(t, v)| (plan.feed_slots[&(t.node(), t.index())], v.clone()))
            .collect();
        let calls = Calls { inner, options };
        let (values, meta) = execute(&plan, feed_values, &inner.resources, options, &calls, false)?;
        Ok((Outputs(values), meta))
    }

    fn plan(&self, key: &PlanKey) -> Result<Arc<Plan>> {
        self.inner.plan(key)
    }

    /// The value of one tensor (`sess.run(t, feeds)`).
    pub fn eval(&self, t: &Tensor, feeds: &FeedDict) -> Result<Value> {
        self.run(&[Fetch::from(t)], feeds)?.take(0)
    }

    /// Runs one operation (`sess.run(op, feeds)`).
    pub fn run_op(&self, op: &Operation, feeds: &FeedDict) -> Result<()> {
        self.run(&[Fetch::from(op)], feeds).map(|_| ())
    }

    /// Closes the session: later runs fail. If it is this thread's default session, it is
    /// uninstalled.
    pub fn close(&self) {
        self.inner.closed.store(true, Ordering::SeqCst);
        DEFAULT.with(|d| {
            let mut d = d.borrow_mut();
            if d.as_ref() == Some(self) {
                *d = None;
            }
        });
    }

    /// Whether [`Session::close`] was called (on this session or a clone of it).
    pub fn is_closed(&self) -> bool {
        self.inner.closed.load(Ordering::SeqCst)
    }

    /// Whether variable `var` holds a value in this session (`tf.is_variable_initialized`).
    pub fn is_initialized(&self, var: &Tensor) -> bool {
        self.inner.resources.is_initialized(var.node())
    }

    /// How many run signatures (fetches, feeds) this session has planned; each is planned once
    /// and reused by every later run with the same signature.
    pub fn cached_plans(&self) -> usize {
        self.inner
            .plans
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    /// The session's variable storage (for checkpointing).
    pub fn resources(&self) -> &Resources {
        &self.inner.resources
    }
}

/// NumPy's shape notation, as TensorFlow's feed errors print it: `(1, 4)`, `(3,)`, `()`.
fn numpy_shape(d: &[usize]) -> String {
    match d {
        [x] => format!("({x},)"),
        _ => format!(
            "({})",
            d.iter()
                .map(|x| x.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

thread_local! {
    /// This thread's default session: as in TensorFlow 1.x, each thread has its own.
    static DEFAULT: RefCell<Option<Session>> = const { RefCell::new(None) };
}

/// This thread's default session, if an [`InteractiveSession`] was opened on this thread and
/// is still open. Other threads' interactive sessions are not seen (TensorFlow 1.x keeps the
/// default-session stack per thread).
pub fn default_session() -> Option<Session> {
    DEFAULT.with(|d| d.borrow().clone())
}

/// A session that installs itself as the calling thread's default session as soon as it is
/// created, so that `tensor.eval(&feeds)` and `op.run(&feeds)` on that thread need no
/// session; dropping (or closing) it uninstalls it. It dereferences to [`Session`].
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_runtime::{feed, InteractiveSession, TensorEval};
/// let g = Graph::new();
/// let c = rustflow_ops::constant(&g, 3.0f32, "c");
/// let sess = InteractiveSession::new(&g);
/// assert_eq!(c.eval(&feed! {}).unwrap().scalar_value::<f32>().unwrap(), 3.0);
/// drop(sess);
/// assert!(c.eval(&feed! {}).is_err());
/// ```
#[derive(Debug)]
pub struct InteractiveSession {
    session: Session,
}

impl InteractiveSession {
    /// Opens a session over `graph` and makes it the default.
    pub fn new(graph: &Graph) -> InteractiveSession {
        InteractiveSession::with_options(graph, SessionOptions::default())
    }

    /// [`InteractiveSession::new`] with options (`tf.InteractiveSession(config=...)`).
    pub fn with_options(graph: &Graph, options: SessionOptions) -> InteractiveSession {
        let session = Session::with_options(graph, options);
        DEFAULT.with(|d| *d.borrow_mut() = Some(session.clone()));
        InteractiveSession { session }
    }
}

impl std::ops::Deref for InteractiveSession {
    type Target = Session;
    fn deref(&self) -> &Session {
        &self.session
    }
}

impl Drop for InteractiveSession {
    fn drop(&mut self) {
        self.session.close();
    }
}

fn with_default<R>(action: &'static str, f: impl FnOnce(&Session) -> Result<R>) -> Result<R> {
    match default_session() {
        Some(s) => f(&s),
        None => Err(Error::NoDefaultSession { action }),
    }
}

/// `tensor.eval(&feeds)`: the tensor's value in the default session.
pub trait TensorEval {
    /// Evaluates in the default session (see [`InteractiveSession`]).
    fn eval(&self, feeds: &FeedDict) -> Result<Value>;
    /// Evaluates in `session`.
    fn eval_in(&self, session: &Session, feeds: &FeedDict) -> Result<Value>;
}

impl TensorEval for Tensor {
    fn eval(&self, feeds: &FeedDict) -> Result<Value> {
        with_default("evaluate tensor using `eval()`", |s| s.eval(self, feeds))
    }
    fn eval_in(&self, session: &Session, feeds: &FeedDict) -> Result<Value> {
        session.eval(self, feeds)
    }
}

/// `op.run(&feeds)`: runs the operation in the default session.
pub trait OperationRun {
    /// Runs in the default session (see [`InteractiveSession`]).
    fn run(&self, feeds: &FeedDict) -> Result<()>;
    /// Runs in `session`.
    fn run_in(&self, session: &Session, feeds: &FeedDict) -> Result<()>;
}

impl OperationRun for Operation {
    fn run(&self, feeds: &FeedDict) -> Result<()> {
        with_default("execute operation using `run()`", |s| s.run_op(self, feeds))
    }
    fn run_in(&self, session: &Session, feeds: &FeedDict) -> Result<()> {
        session.run_op(self, feeds)
    }
}
