//! `allreduce`: the element-wise sum or mean of a tensor over all processes.

use crate::comm::Collective;
use rustflow_graph::{DType, GradContext, KernelContext, Op, OpKind, Result, Tensor, Value};
use std::sync::Arc;

/// How [`allreduce`] combines the processes' tensors.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReduceOp {
    /// The element-wise sum.
    Sum,
    /// The element-wise mean (Horovod's default).
    Average,
}

/// The `HorovodAllreduce` op.
#[derive(Debug)]
struct Allreduce {
    name: String,
    op: ReduceOp,
}

impl Op for Allreduce {
    fn op_type(&self) -> &'static str {
        "HorovodAllreduce"
    }
    fn kind(&self) -> OpKind {
        // It communicates: it must run once per run, never be folded or merged.
        OpKind::Stateful
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let kind = match self.op {
            ReduceOp::Sum => Collective::Sum,
            ReduceOp::Average => Collective::Average,
        };
        crate::collective_kernel(ctx, &self.name, self.op_type(), kind)
    }
    /// Every process's loss depends on every process's input through the sum (or mean), so
    /// the gradient is the same all-reduce of the upstream gradients (as Horovod's).
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(allreduce(gc.dy(0), self.op)?)])
    }
    fn attrs(&self) -> String {
        format!("reduce_op={:?}", self.op)
    }
}

/// The element-wise sum or mean of `x` over all processes (`hvd.allreduce`); every process
/// must run the node of the same name with the same shape. Float tensors (sums also of
/// `int32`/`int64`).
///
/// ```no_run
/// use rustflow_graph::Graph;
/// use rustflow_mpi::{allreduce, ReduceOp};
/// use rustflow_ops::constant;
/// rustflow_mpi::init().unwrap();
/// let g = Graph::new();
/// let mean = allreduce(&constant(&g, [1.0f32, 2.0], "x"), ReduceOp::Average).unwrap();
/// assert_eq!(mean.op().op_type(), "HorovodAllreduce");
/// ```
pub fn allreduce(x: &Tensor, op: ReduceOp) -> Result<Tensor> {
    let allowed: &[DType] = match op {
        ReduceOp::Sum => &[DType::F32, DType::I32, DType::I64],
        ReduceOp::Average => &[DType::F32],
    };
    let what = format!("{op:?} all-reduce");
    let name = crate::collective_name(x, "HorovodAllreduce", &what, allowed)?;
    crate::add_collective(x, "HorovodAllreduce", Arc::new(Allreduce { name, op }))
}
