//! Functions: subgraphs that an op runs on its own terms (a `cond` branch, a `while_loop`
//! body), built by [`Graph::build_function`](crate::Graph::build_function) and run through a
//! [`FunctionRunner`].

use crate::{Error, KernelContext, NodeId, Op, OpKind, Result, Tensor, Value};

/// A subgraph with arguments and results. Its nodes live in the graph like any other, but
/// nothing outside reads them, so ordinary plans never include them: the op that owns the
/// function (`If`, `While`) runs it with its own argument values, as a plan of its own.
///
/// The arguments are the explicit ones (a loop's variables), then one per tensor captured
/// from outside (`captures`, in the same order), which the owning op takes as inputs.
#[derive(Clone, Debug)]
pub struct Function {
    /// The argument nodes (each an [`Arg`], output 0): explicit ones first, then captures.
    pub args: Vec<NodeId>,
    /// How many of `args` are explicit.
    pub n_explicit: usize,
    /// The outer tensors captured, one per argument after the explicit ones.
    pub captures: Vec<Tensor>,
    /// The results: (node, output).
    pub results: Vec<(NodeId, usize)>,
    /// The nodes built directly in the function (not in functions nested in it), in order.
    pub nodes: Vec<NodeId>,
    /// Those of `nodes` with effects (assigns, random ops): a call runs them even when no
    /// result needs them, as TensorFlow's functions do.
    pub stateful: Vec<NodeId>,
}

/// An argument of a function: fed by the function's caller (`_Arg` in TensorFlow).
#[derive(Debug)]
pub struct Arg;

impl Op for Arg {
    fn op_type(&self) -> &'static str {
        "_Arg"
    }
    fn kind(&self) -> OpKind {
        OpKind::Placeholder
    }
    fn compute(&self, _ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        Err(Error::Kernel(
            "a function's argument is fed by its caller and never runs".into(),
        ))
    }
}

/// Runs functions within a session run: what the kernels of `If` and `While` call.
pub trait FunctionRunner: Send + Sync {
    /// Runs `f` with one value per argument and returns its results.
    fn call(&self, f: &Function, args: Vec<Value>) -> Result<Vec<Value>>;
}
