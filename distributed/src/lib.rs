//! Data-parallel training over MPI, as Horovod gives TensorFlow 1.x: every process runs the
//! same graph on its own shard of the data, [`DistributedOptimizer`] averages the gradients
//! across processes (packed into fused buffers, reduced while the backward pass goes on), and
//! the variables stay identical everywhere.
//!
//! ```no_run
//! use rustflow_graph::Graph;
//! use rustflow_ops::train::{GradientDescentOptimizer, Optimizer};
//! use rustflow_ops::{constant, GraphOps, TensorOps};
//! use rustflow_mpi::{broadcast_global_variables, DistributedOptimizer};
//! let world = rustflow_mpi::init().unwrap(); // under `mpirun -np 2`: rank 0 or 1, size 2
//! let g = Graph::new();
//! let w = g.variable(&constant(&g, [1.0f32, 2.0], "w0"), "w").unwrap();
//! let loss = w.square().unwrap().reduce_sum(None).unwrap();
//! let opt = DistributedOptimizer::new(GradientDescentOptimizer::new(0.1 * world.size as f32));
//! let train = opt.minimize(&loss).unwrap();
//! let sync = broadcast_global_variables(&g, 0).unwrap();
//! # let _ = (train, sync);
//! ```
//!
//! MPI lives on one background thread per process ([`init`] starts it, the process's exit
//! finalizes it); the graph ops hand it their tensors. Launch with `mpirun -np N program`.

mod allgather;
mod allreduce;
mod broadcast;
mod comm;
mod fusion;
mod optimizer;

pub use allgather::allgather;
pub use allreduce::{allreduce, ReduceOp};
pub use broadcast::{broadcast, broadcast_global_variables};
pub use comm::World;
pub use optimizer::DistributedOptimizer;

use comm::{Collective, Header, Payload};
use rustflow_graph::{DType, Error, KernelContext, Op, Result, Tensor, Value};
use std::sync::Arc;
use std::time::Duration;

/// The timeout of a collective when `RUSTFLOW_MPI_TIMEOUT` (seconds) does not set one.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Initializes MPI (`hvd.init()`) and returns this process's rank and the number of
/// processes; later calls return the same. A collective that some process does not reach
/// within `RUSTFLOW_MPI_TIMEOUT` seconds (default 60) fails on every process with
/// [`Error::Unavailable`] naming the missing ranks. Without `mpirun`, the process is a job of
/// one.
pub fn init() -> Result<World> {
    let timeout = std::env::var("RUSTFLOW_MPI_TIMEOUT")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .filter(|s| *s > 0.0)
        .map_or(DEFAULT_TIMEOUT, Duration::from_secs_f64);
    comm::start(timeout).map_err(|msg| Error::Unavailable {
        node: String::new(),
        op: "MPI_Init".into(),
        msg,
    })
}

/// This process's rank and the job's size, once [`init`] succeeded.
pub fn world() -> Result<World> {
    comm::world().ok_or_else(|| Error::Unavailable {
        node: String::new(),
        op: "MPI_Init".into(),
        msg: "MPI is not initialized in this process: call rustflow_mpi::init() first".into(),
    })
}

/// Runs collective `kind` of `value` for node `node` (op `op`) and waits for the result.
fn collective(node: &str, op: &str, kind: Collective, value: Value) -> Result<Value> {
    let header = Header {
        name: node.into(),
        kind,
        dtype: value.dtype(),
        shape: value.shape().to_vec(),
        members: String::new(),
    };
    comm::call(header, Payload::Tensor(value)).map_err(|msg| unavailable(node, op, msg))
}

/// A collective op's kernel: collective `kind` of its input, for node `node` of op `op`.
fn collective_kernel(
    ctx: &mut KernelContext<'_>,
    node: &str,
    op: &str,
    kind: Collective,
) -> Result<Vec<Value>> {
    Ok(vec![collective(node, op, kind, ctx.take_input(0))?])
}

/// The name the node of collective op `op` on `x` gets, once `x`'s dtype is one of `dtypes`
/// (`what` names the collective in the error).
fn collective_name(x: &Tensor, op: &str, what: &str, dtypes: &[DType]) -> Result<String> {
    let name = x.graph().peek_unique_name(op);
    if dtypes.contains(&x.dtype()) {
        return Ok(name);
    }
    let names: Vec<_> = dtypes.iter().map(|d| d.tf_name()).collect();
    Err(Error::Type {
        node: name,
        op: op.into(),
        msg: format!(
            "{what} takes {}, not {}",
            names.join(" or "),
            x.dtype().tf_name()
        ),
    })
}

/// Adds `node`, collective op `op` on `x`, whose output is shaped like `x`.
fn add_collective(x: &Tensor, op: &str, node: Arc<dyn Op>) -> Result<Tensor> {
    x.graph()
        .add_node(op, node, &[x], &[], vec![x.spec()])?
        .output(0)
}

fn unavailable(node: &str, op: &str, msg: String) -> Error {
    Error::Unavailable {
        node: node.into(),
        op: op.into(),
        msg,
    }
}
