//! The interface every op implements: the runtime and the gradient pass know ops only
//! through it.

use crate::{
    Capability, DType, Error, FunctionRunner, Graph, NodeId, Operation, Result, Tensor, Value,
};
use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex, PoisonError, RwLock};

/// What the runtime must know about an op beyond computing it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OpKind {
    /// A pure function of its inputs.
    Pure,
    /// Has effects or hidden state (random ops, variable updates): runs once per run, and
    /// never when its output is fed.
    Stateful,
    /// A placeholder: must be fed when needed.
    Placeholder,
    /// A variable: its output is the session's current value.
    Variable,
}

/// The gradient rule of an op that TensorFlow declares not differentiable
/// (`ops.NotDifferentiable`): no input gets a gradient.
pub fn not_differentiable(gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
    Ok(vec![None; gc.inputs.len()])
}

/// Any op as `Any`, for callers that need its concrete type; every `Op` has it. On an
/// `Arc<dyn Op>`, call it through the op (`(*arc).as_any()`): the `Arc` is an `AsAny` too.
pub trait AsAny {
    /// The value as `Any`.
    fn as_any(&self) -> &dyn Any;
}

impl<T: Any> AsAny for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// An op: its type name, run-time kernel, and gradient rule. Shape inference lives in the
/// builder function beside it, which computes the output specs when the node is added.
pub trait Op: AsAny + Send + Sync + fmt::Debug + 'static {
    /// TensorFlow's op type (`MatMul`, `Conv2D`, ...).
    fn op_type(&self) -> &'static str;

    /// How the runtime treats the op.
    fn kind(&self) -> OpKind {
        OpKind::Pure
    }

    /// Variables this op reads through the session's storage rather than through an input
    /// (`AssignAdd`, optimizer updates): a run checks they are initialized before it starts.
    fn reads_variables(&self) -> Vec<NodeId> {
        Vec::new()
    }

    /// Computes the outputs from the inputs in `ctx`.
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>>;

    /// Builds the gradient of each input from the upstream gradients; `None` for an input that
    /// gets no gradient. The default is an error naming the node ([`Error::NoGradient`]): an op
    /// that TensorFlow declares not differentiable (`ArgMax`, `Equal`, random ops) says so
    /// with [`not_differentiable`], so a path through an op without a rule never gives a silent
    /// `None` or a partial sum.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        Err(Error::NoGradient {
            node: gc.op.name(),
            op: self.op_type().into(),
        })
    }

    /// The attributes, for DOT export and graph listings (`transpose_a=false`).
    fn attrs(&self) -> String {
        String::new()
    }

    /// What this op offers a plan's fusion pass ([`Capability`]); none by default.
    fn capability(&self) -> Capability {
        Capability::None
    }

    /// Whether the op only hands work to another thread and returns (a gradient handed to
    /// the all-reduce thread): a plan runs it as soon as its inputs exist, ahead of the
    /// other ready steps, so that the work it starts overlaps the rest of the run.
    fn urgent(&self) -> bool {
        false
    }
}

/// The float buffers a session's runs have freed, by length, for kernels to write their
/// outputs into: once a training loop is warm, its steps allocate (and zero) almost nothing.
///
/// It holds at most [`BufferPool::MAX_BYTES`], and only buffers freed by runs of the plan
/// that runs now ([`BufferPool::begin_run`]): when a session switches to another plan (the
/// test-set evaluation after training), the old buffers go back to the allocator rather than
/// add to the new plan's memory.
#[derive(Default)]
pub struct BufferPool {
    inner: Mutex<PoolInner>,
}

#[derive(Default)]
struct PoolInner {
    /// Free buffers by length.
    free: HashMap<usize, Vec<Vec<f32>>>,
    bytes: usize,
    /// The plan of the last run.
    plan: usize,
}

impl BufferPool {
    /// The most the pool holds, in bytes.
    pub const MAX_BYTES: usize = 16 << 20;
    /// Buffers shorter than this are not worth pooling.
    pub const MIN_LEN: usize = 4096;
    /// At most this many buffers of one length.
    const MAX_PER_LEN: usize = 2;

    fn lock(&self) -> std::sync::MutexGuard<'_, PoolInner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks the start of a run of the plan identified by `plan`; if another plan ran last,
    /// frees every buffer held.
    pub fn begin_run(&self, plan: usize) {
        let mut p = self.lock();
        if p.plan != plan {
            p.plan = plan;
            p.free.clear();
            p.bytes = 0;
        }
    }

    /// A buffer of `len` floats with unspecified contents (a freed buffer's values, or
    /// zeros): the caller must write every element.
    pub fn take(&self, len: usize) -> Vec<f32> {
        if len >= Self::MIN_LEN {
            let mut p = self.lock();
            if let Some(v) = p.free.get_mut(&len).and_then(Vec::pop) {
                p.bytes -= len * 4;
                return v;
            }
        }
        vec![0.0; len]
    }

    /// Keeps `buf` for a later [`BufferPool::take`] of its length, if there is room.
    pub fn give(&self, buf: Vec<f32>) {
        let len = buf.len();
        if len < Self::MIN_LEN {
            return;
        }
        let mut p = self.lock();
        if p.bytes + len * 4 > Self::MAX_BYTES {
            return;
        }
        let list = p.free.entry(len).or_default();
        if list.len() < Self::MAX_PER_LEN {
            list.push(buf);
            p.bytes += len * 4;
        }
    }

    /// The bytes held.
    pub fn held_bytes(&self) -> usize {
        self.lock().bytes
    }
}

/// One variable's storage in a session: `None` until initialized.
pub type VarSlot = RwLock<Option<Value>>;

/// One node's private state in a session (a random op's generator, ...).
pub type NodeState = Arc<Mutex<Box<dyn Any + Send>>>;

/// How exactly a session's kernels compute (`kernels::*::select` reads it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum KernelPolicy {
    /// Sums of products as TensorFlow rounds them (within its test tolerances).
    #[default]
    Exact,
    /// Also faster arithmetic that rounds differently, where a kernel family's `select()`
    /// finds it cheaper (today Winograd's minimal filtering for 3x3 and 5x5 stride-1
    /// convolutions and their gradients). Its error scales with the data's magnitude rather
    /// than each output's, within a few times TensorFlow's float32 test tolerance; the
    /// kernels' documentation (`rustflow_ops::kernels`) gives each one's measured error.
    Fast,
}

/// How a session's kernels may compute: the part of TensorFlow's `ConfigProto` that applies
/// here. The default computes as TensorFlow does.
///
/// ```
/// use rustflow_graph::{KernelPolicy, SessionOptions};
/// assert_eq!(SessionOptions::default().kernels, KernelPolicy::Exact);
/// assert_eq!(SessionOptions::default().memory_limit, None);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SessionOptions {
    /// Exact or fast arithmetic ([`KernelPolicy`]); exact by default.
    pub kernels: KernelPolicy,
    /// The largest tensor, in bytes, a kernel may allocate; a larger output is refused with
    /// [`Error::ResourceExhausted`] before it is allocated. `None` (the default): the
    /// machine's available memory when the process first asks.
    pub memory_limit: Option<usize>,
}

/// The machine's available memory in bytes (`MemAvailable` of `/proc/meminfo`), read once;
/// unlimited where it cannot be read.
fn available_memory() -> usize {
    static AVAILABLE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *AVAILABLE.get_or_init(|| {
        std::fs::read_to_string("/proc/meminfo")
            .ok()
            .and_then(|s| {
                let line = s.lines().find(|l| l.starts_with("MemAvailable:"))?;
                let kb: usize = line.split_whitespace().nth(1)?.parse().ok()?;
                kb.checked_mul(1024)
            })
            .unwrap_or(usize::MAX)
    })
}

/// Per-session state of the stateful nodes: variable values and each node's private state
/// (a random op's generator, ...), and the session's options. It belongs to a session, so a
/// new session starts fresh.
#[derive(Default)]
pub struct Resources {
    vars: RwLock<HashMap<NodeId, Arc<VarSlot>>>,
    states: Mutex<HashMap<NodeId, NodeState>>,
    /// Freed float buffers, handed back to kernels for their outputs.
    pub buffers: BufferPool,
    /// How the kernels may compute.
    pub options: SessionOptions,
}

impl Resources {
    /// Checks that a tensor of `dtype` and `shape` fits the session's memory limit (see
    /// [`KernelContext::check_output`], which kernels call).
    ///
    /// ```
    /// use rustflow_graph::{DType, Error, Resources, SessionOptions};
    /// let r = Resources::with_options(SessionOptions { memory_limit: Some(1 << 20), ..Default::default() });
    /// assert!(r.check_output(DType::F32, &[512, 512]).is_ok());
    /// let err = r.check_output(DType::F32, &[1 << 20, 1 << 20]).unwrap_err();
    /// assert!(matches!(err, Error::ResourceExhausted { bytes, .. } if bytes == 1 << 42));
    /// ```
    pub fn check_output(&self, dtype: DType, shape: &[usize]) -> Result<()> {
        let bytes = shape
            .iter()
            .fold(dtype.size() as u128, |n, &d| n.saturating_mul(d as u128));
        let limit = self.memory_limit();
        if bytes <= limit as u128 {
            return Ok(());
        }
        Err(Error::ResourceExhausted {
            node: String::new(),
            op: String::new(),
            shape: format!(
                "[{}]",
                shape
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(",")
            ),
            dtype,
            bytes,
            limit,
        })
    }

    /// Empty resources for a session with these options.
    pub fn with_options(options: SessionOptions) -> Resources {
        Resources {
            options,
            ..Resources::default()
        }
    }

    /// The storage of variable `var`, created uninitialized on first use.
    pub fn variable(&self, var: NodeId) -> Arc<VarSlot> {
        if let Some(slot) = self
            .vars
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&var)
        {
            return slot.clone();
        }
        self.vars
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(var)
            .or_default()
            .clone()
    }

    /// The largest tensor a kernel may allocate, in bytes ([`SessionOptions::memory_limit`]).
    pub fn memory_limit(&self) -> usize {
        self.options.memory_limit.unwrap_or_else(available_memory)
    }

    /// Whether variable `var` holds a value.
    pub fn is_initialized(&self, var: NodeId) -> bool {
        self.variable(var)
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .is_some()
    }

    /// The private state of `node`, created by `init` on first use.
    pub fn node_state(
        &self,
        node: NodeId,
        init: impl FnOnce() -> Box<dyn Any + Send>,
    ) -> NodeState {
        self.states
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(node)
            .or_insert_with(|| Arc::new(Mutex::new(init())))
            .clone()
    }
}

/// What a kernel sees: its inputs (owned, so it may reuse their buffers), its node, and the
/// session's resources.
pub struct KernelContext<'a> {
    /// The input values, in input order.
    pub inputs: Vec<Value>,
    /// The node being computed.
    pub node: NodeId,
    /// The session's variables and node states.
    pub resources: &'a Resources,
    /// Runs the functions of control-flow ops (`If`, `While`) within the same run.
    pub functions: &'a dyn FunctionRunner,
}

impl KernelContext<'_> {
    /// Input `i`.
    pub fn input(&self, i: usize) -> &Value {
        &self.inputs[i]
    }

    /// The session's options.
    pub fn options(&self) -> SessionOptions {
        self.resources.options
    }

    /// Checks that an output of `dtype` and `shape` fits the session's memory limit, before
    /// the kernel allocates it: the one check of every allocation whose size comes from data
    /// (shape attributes, feeds, files). A kernel whose output can be larger than its inputs
    /// (random ops, broadcasting, `MatMul`, ...) calls it first. The error is
    /// [`Error::ResourceExhausted`], attributed to the node by the executor.
    ///
    pub fn check_output(&self, dtype: DType, shape: &[usize]) -> Result<()> {
        self.resources.check_output(dtype, shape)
    }

    /// A buffer for a float output of `len` elements, from the session's pool when it has
    /// one: its contents are unspecified, so the kernel must write every element.
    pub fn output_f32(&self, len: usize) -> Vec<f32> {
        self.resources.buffers.take(len)
    }

    /// Takes input `i` out, so that its buffer can be reused when no one else holds it.
    pub fn take_input(&mut self, i: usize) -> Value {
        std::mem::replace(&mut self.inputs[i], Value::scalar(0f32))
    }
}

/// What a gradient rule sees: the forward node's inputs and outputs as graph tensors, and the
/// upstream gradient of each output. A rule is called only when some output has an upstream
/// gradient; the gradient pass gives the others zeros, as TensorFlow does.
pub struct GradContext<'a> {
    /// The graph to build the gradient in.
    pub graph: &'a Graph,
    /// The forward operation.
    pub op: Operation,
    /// Its inputs.
    pub inputs: Vec<Tensor>,
    /// Its outputs.
    pub outputs: Vec<Tensor>,
    /// The upstream gradient of each output.
    pub grads: Vec<Tensor>,
    /// Whether each input's gradient is used (the input depends on a tensor being
    /// differentiated); a rule may give `None` for the others, and skip their work.
    pub wanted: Vec<bool>,
}

impl GradContext<'_> {
    /// Input `i` of the forward op.
    pub fn x(&self, i: usize) -> &Tensor {
        &self.inputs[i]
    }

    /// Output `i` of the forward op.
    pub fn y(&self, i: usize) -> &Tensor {
        &self.outputs[i]
    }

    /// The upstream gradient of output `i`.
    pub fn dy(&self, i: usize) -> &Tensor {
        &self.grads[i]
    }
}

#[cfg(test)]
mod tests {
    use super::BufferPool;

    #[test]
    fn the_pool_hands_back_freed_buffers_of_the_same_length() {
        let pool = BufferPool::default();
        let buf = vec![1.5f32; 10_000];
        let ptr = buf.as_ptr();
        pool.give(buf);
        assert_eq!(
            pool.take(9_999).len(),
            9_999,
            "another length is a fresh buffer"
        );
        let again = pool.take(10_000);
        assert_eq!(again.as_ptr(), ptr);
        let fresh = pool.take(10_000);
        assert_ne!(fresh.as_ptr(), ptr, "given out once");
        // Small buffers are not kept.
        pool.give(vec![0f32; 16]);
        assert_eq!(pool.held_bytes(), 0);
        // At most two of a length, and never more than the byte limit.
        for _ in 0..3 {
            pool.give(vec![0f32; 5_000]);
        }
        assert_eq!(pool.held_bytes(), 2 * 5_000 * 4);
        pool.give(vec![0f32; BufferPool::MAX_BYTES / 4]);
        assert_eq!(pool.held_bytes(), 2 * 5_000 * 4);
        // Runs of the same plan keep them; a run of another plan frees them.
        pool.begin_run(0);
        assert_eq!(pool.held_bytes(), 2 * 5_000 * 4);
        pool.begin_run(7);
        assert_eq!(pool.held_bytes(), 0);
    }
}
