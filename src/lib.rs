//! # rustflow
//!
//! TensorFlow 1.x's graph-and-session model in Rust. Build a static graph of typed nodes,
//! let a symbolic gradient pass append the backward nodes, and run whatever subgraph the
//! fetches need in a [`Session`], feeding any tensor.
//!
//! ```
//! use rustflow::prelude::*;
//!
//! # fn main() -> rustflow::Result<()> {
//! let g = Graph::new();
//! let x = g.placeholder(F32, shape![?, 2]);
//! let w = g.variable(&g.constant([[1.0f32], [2.0]]), "W")?;
//! let y = x.matmul(&w)?;
//! let loss = y.mul(&y)?.reduce_sum(None)?;
//! let train_step = train::GradientDescentOptimizer::new(0.01).minimize(&loss)?;
//!
//! let sess = InteractiveSession::new(&g);
//! g.global_variables_initializer()?.run(&feed! {})?;
//! train_step.run(&feed! { &x => [[1.0f32, 1.0]] })?;
//! let w_now = w.eval(&feed! {})?;
//! assert_eq!(w_now.as_slice::<f32>()?, &[0.94, 1.94]);
//! # Ok(()) }
//! ```

pub use rustflow_graph::{
    fmt_dims, shape, CollectionItem, DType, Dim, Error, Graph, GraphKeys, KernelPolicy, Operation,
    Result, Reuse, SessionOptions, Shape, Tensor, TensorSpec, Value, VariableScope,
};
pub use rustflow_interop as interop;
pub use rustflow_mnist as mnist;
pub use rustflow_ops::*;
pub use rustflow_proto as proto;
pub use rustflow_runtime::{
    default_session, feed, fetches, FeedDict, Fetch, InteractiveSession, NodeTrace, OperationRun,
    Outputs, RunMetadata, RunOptions, Session, TensorEval, SEQUENTIAL_BELOW_US,
};

/// Optimizers and checkpoints (`tf.train`).
pub mod train {
    pub use rustflow_ops::train::*;
    pub use rustflow_runtime::{latest_checkpoint, CheckpointFormat, Saver};
}

/// TensorBoard (`tf.summary`): summary ops, and the event files they go to.
pub mod summary {
    pub use rustflow_interop::summary::FileWriter;
    pub use rustflow_ops::summary::*;
    pub use rustflow_runtime::{EventFileWriter, EventReader};
}

/// Everything a program needs, in one `use rustflow::prelude::*;`.
pub mod prelude {
    pub use crate::{
        feed, fetches, mnist, shape, train,
        train::Optimizer,
        DType,
        DType::{Bool, F32, I32, I64},
        Error, FeedDict, Fetch, Graph, GraphOps, InteractiveSession, KernelPolicy, Operation,
        OperationRun, Result, Session, SessionOptions, Shape, Tensor, TensorEval, TensorOps, Value,
        Variable,
    };
}
