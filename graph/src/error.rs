//! The one error type of rustflow.

use crate::{DType, Shape};
use std::path::PathBuf;

/// Every failure of building, running, saving or loading. Each variant names what it is about:
/// the node (its unique name and op type) and the shapes, or the file and byte offset.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A static shape conflict found while building (TensorFlow's build-time `ValueError`).
    #[error("{msg} for '{node}' (op: '{op}') with input shapes: {}", fmt_shapes(.inputs))]
    Shape {
        /// The node that was being built.
        node: String,
        /// Its op type.
        op: String,
        /// What is wrong.
        msg: String,
        /// The static shapes of its inputs.
        inputs: Vec<Shape>,
    },
    /// Mixed dtypes or a dtype an op does not take (TensorFlow's `TypeError`).
    #[error("{msg} (node '{node}', op '{op}')")]
    Type {
        /// The node that was being built.
        node: String,
        /// Its op type.
        op: String,
        /// What is wrong.
        msg: String,
    },
    /// A bad argument or attribute, at build time or at run time (TensorFlow's
    /// `InvalidArgumentError` and argument `ValueError`s).
    #[error("{msg}\n\t [[{{{{node {node}}}}} = {op}]]")]
    InvalidArgument {
        /// The node involved.
        node: String,
        /// Its op type.
        op: String,
        /// What is wrong, with the shapes involved.
        msg: String,
    },
    /// A placeholder that the fetches need was not fed.
    #[error("You must feed a value for placeholder tensor '{node}' with dtype {}{}\n\t [[{{{{node {node}}}}}]]", .dtype.tf_name(), fmt_feed_shape(.shape))]
    MissingFeed {
        /// The placeholder's name.
        node: String,
        /// Its dtype.
        dtype: DType,
        /// Its declared shape.
        shape: Shape,
    },
    /// A fed value whose shape does not fit the tensor's static shape.
    #[error("Cannot feed value of shape {got} for Tensor '{tensor}', which has shape '{want}'")]
    FeedShape {
        /// The fed tensor (`x:0`).
        tensor: String,
        /// The value's shape.
        got: String,
        /// The tensor's static shape.
        want: Shape,
    },
    /// A fed value whose dtype differs from the tensor's.
    #[error("Cannot feed value of dtype {got} for Tensor '{tensor}', which has dtype {want}")]
    FeedDtype {
        /// The fed tensor (`x:0`).
        tensor: String,
        /// The value's dtype.
        got: DType,
        /// The tensor's dtype.
        want: DType,
    },
    /// A variable read before it was initialized in this session.
    #[error("Attempting to use uninitialized value {var}")]
    Uninitialized {
        /// The variable's name.
        var: String,
    },
    /// A tensor or operation of another graph was given to this graph or session.
    #[error("{what} is not an element of this graph.")]
    ForeignGraph {
        /// The foreign tensor or operation.
        what: String,
    },
    /// `eval`/`run` without a session and with no default session installed.
    #[error("Cannot {action}: No default session is registered. Create an InteractiveSession or pass a session explicitly")]
    NoDefaultSession {
        /// What was attempted.
        action: &'static str,
    },
    /// `minimize` found no variable with a gradient.
    #[error("No gradients provided for any variable, check your graph for ops that do not support gradients, between variables {vars:?} and loss {loss}")]
    NoGradients {
        /// The variables considered.
        vars: Vec<String>,
        /// The loss tensor.
        loss: String,
    },
    /// The gradient pass reached an op that has no gradient rule (TensorFlow's
    /// `LookupError: No gradient defined for operation ...`).
    #[error("No gradient defined for operation '{node}' (op type: {op})")]
    NoGradient {
        /// The node reached.
        node: String,
        /// Its op type.
        op: String,
    },
    /// A run on a closed session.
    #[error("Attempted to use a closed Session.")]
    ClosedSession,
    /// A name that names no tensor or operation of the graph.
    #[error("The name '{name}' refers to nothing in the graph")]
    NotFound {
        /// The name looked up.
        name: String,
    },
    /// A NaN or Inf found by `check_numerics` or by a run with numerics checking on.
    #[error("{msg} : Tensor had {what} values\n\t [[{{{{node {node}}}}} = {op}]]")]
    Numerics {
        /// The first node that produced the value.
        node: String,
        /// Its op type.
        op: String,
        /// `NaN` or `Inf`.
        what: &'static str,
        /// The check's message.
        msg: String,
    },
    /// A file could not be read or written.
    #[error("{}: {source}", .path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A checkpoint file that is corrupt or does not match the graph.
    #[error("checkpoint {}: {msg}", .path.display())]
    Checkpoint {
        /// The file.
        path: PathBuf,
        /// What is wrong (the variable, dtype, shape or byte offset).
        msg: String,
    },
    /// A record file (an event file) that is corrupt: a checksum that does not match, or a
    /// record that does not parse (TensorFlow's `DataLossError`).
    #[error("{}: {msg} at byte offset {offset}", .path.display())]
    DataLoss {
        /// The file.
        path: PathBuf,
        /// Where the bad record starts.
        offset: u64,
        /// What is wrong.
        msg: String,
    },
    /// An output too large for the session's memory limit
    /// ([`crate::SessionOptions::memory_limit`]), refused before it was allocated
    /// (TensorFlow's `ResourceExhaustedError`). The session stays usable.
    #[error("OOM when allocating tensor with shape{shape} and type {} ({bytes} bytes; the session's memory limit is {limit} bytes)\n\t [[{{{{node {node}}}}} = {op}]]", .dtype.tf_name())]
    ResourceExhausted {
        /// The node whose output it was (empty until the executor attributes it).
        node: String,
        /// Its op type.
        op: String,
        /// The output's shape (`[1048576,1048576]`).
        shape: String,
        /// Its dtype.
        dtype: DType,
        /// The bytes it needs (beyond `usize` when the element count overflows).
        bytes: u128,
        /// The limit it exceeds.
        limit: usize,
    },
    /// A collective across processes that failed: a process that died or stalled (named by
    /// its rank), or processes that disagree on the tensor (TensorFlow's `UnavailableError`).
    #[error("{msg}\n\t [[{{{{node {node}}}}} = {op}]]")]
    Unavailable {
        /// The node whose collective failed.
        node: String,
        /// Its op type.
        op: String,
        /// What happened, naming the ranks and shapes involved.
        msg: String,
    },
    /// A kernel-level failure not yet attributed to a node. The executor turns it into
    /// [`Error::InvalidArgument`] naming the node; it reaches users only from direct
    /// [`crate::Value`] calls.
    #[error("{0}")]
    Kernel(String),
}

/// The result type of rustflow.
pub type Result<T, E = Error> = std::result::Result<T, E>;

fn fmt_shapes(shapes: &[Shape]) -> String {
    shapes
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

fn fmt_feed_shape(s: &Shape) -> String {
    match s.rank() {
        None => String::new(),
        Some(_) => format!(" and shape {s}"),
    }
}

impl Error {
    /// Attributes an unlocated kernel error to a node; other errors pass unchanged.
    pub fn at_node(self, node: &str, op: &str) -> Error {
        match self {
            Error::Kernel(msg) => Error::InvalidArgument {
                node: node.into(),
                op: op.into(),
                msg,
            },
            Error::Numerics {
                node: n, what, msg, ..
            } if n.is_empty() => Error::Numerics {
                node: node.into(),
                op: op.into(),
                what,
                msg,
            },
            Error::ResourceExhausted {
                node: n,
                shape,
                dtype,
                bytes,
                limit,
                ..
            } if n.is_empty() => Error::ResourceExhausted {
                node: node.into(),
                op: op.into(),
                shape,
                dtype,
                bytes,
                limit,
            },
            e => e,
        }
    }
}
