//! `broadcast`: every process gets one process's tensor; `broadcast_global_variables`.

use crate::allreduce::{allreduce, ReduceOp};
use crate::comm::Collective;
use rustflow_graph::{
    DType, Error, GradContext, Graph, KernelContext, Op, OpKind, Operation, Result, Tensor, Value,
};
use rustflow_ops::{constant, group, TensorOps, Variable};
use std::sync::Arc;

/// The `HorovodBroadcast` op.
#[derive(Debug)]
struct Broadcast {
    name: String,
    root: usize,
}

impl Op for Broadcast {
    fn op_type(&self) -> &'static str {
        "HorovodBroadcast"
    }
    fn kind(&self) -> OpKind {
        OpKind::Stateful
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let kind = Collective::Broadcast(self.root);
        crate::collective_kernel(ctx, &self.name, self.op_type(), kind)
    }
    /// Every process's output is the root's input: the root's gradient is the sum of all
    /// processes' upstream gradients, the others' is zero (still computed through the sum, so
    /// that every process runs the all-reduce; Horovod's rule).
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let sum = allreduce(gc.dy(0), ReduceOp::Sum)?;
        if crate::world()?.rank == self.root {
            return Ok(vec![Some(sum)]);
        }
        Ok(vec![Some(sum.mul(&constant(gc.graph, 0f32, "zero"))?)])
    }
    fn attrs(&self) -> String {
        format!("root_rank={}", self.root)
    }
}

/// Process `root`'s value of `x`, on every process (`hvd.broadcast`). `float32`, `int32`
/// or `int64`.
///
/// ```no_run
/// use rustflow_graph::Graph;
/// use rustflow_mpi::broadcast;
/// use rustflow_ops::constant;
/// rustflow_mpi::init().unwrap();
/// let g = Graph::new();
/// let x = broadcast(&constant(&g, [1.0f32, 2.0], "x"), 0).unwrap();
/// assert_eq!(x.op().op_type(), "HorovodBroadcast");
/// ```
pub fn broadcast(x: &Tensor, root: usize) -> Result<Tensor> {
    let op = "HorovodBroadcast";
    let name = crate::collective_name(x, op, "broadcast", &[DType::F32, DType::I32, DType::I64])?;
    let size = crate::world()?.size;
    if root >= size {
        return Err(Error::InvalidArgument {
            node: name,
            op: op.into(),
            msg: format!("root rank {root} is not a rank of a job of {size} processes"),
        });
    }
    crate::add_collective(x, op, Arc::new(Broadcast { name, root }))
}

/// One operation that assigns every global variable (optimizer slots included) process
/// `root`'s value (`hvd.broadcast_global_variables`): run it once after the initializer, so
/// that every process starts from the same point.
pub fn broadcast_global_variables(g: &Graph, root: usize) -> Result<Operation> {
    let assigns = g.name_scope("broadcast_global_variables", |g| {
        g.global_variables()
            .iter()
            .map(|info| {
                let v = Variable::from_info(g, info)?;
                Ok(v.assign(&broadcast(&v, root)?)?.op())
            })
            .collect::<Result<Vec<_>>>()
    })?;
    group(
        g,
        &assigns.iter().collect::<Vec<_>>(),
        "broadcast_global_variables",
    )
}
