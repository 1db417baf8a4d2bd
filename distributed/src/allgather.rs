//! `allgather`: the processes' tensors concatenated along the first axis.

use crate::comm::Collective;
use rustflow_graph::{
    DType, Error, GradContext, KernelContext, Op, OpKind, Result, Shape, Tensor, TensorSpec, Value,
};
use std::sync::Arc;

/// The `HorovodAllgather` op.
#[derive(Debug)]
struct Allgather {
    name: String,
}

impl Op for Allgather {
    fn op_type(&self) -> &'static str {
        "HorovodAllgather"
    }
    fn kind(&self) -> OpKind {
        OpKind::Stateful
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        if ctx.input(0).shape().is_empty() {
            return Err(crate::unavailable(
                &self.name,
                self.op_type(),
                "allgather needs a tensor of rank 1 or more, got a scalar".into(),
            ));
        }
        crate::collective_kernel(ctx, &self.name, self.op_type(), Collective::Allgather)
    }
    /// Each process's rows are used by every process: the gradient of this process's rows
    /// is the sum over the processes of the upstream gradient's rows at this process's place.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let name = gc.graph.peek_unique_name("HorovodAllgatherGrad");
        let grad = gc.graph.add_node(
            "HorovodAllgatherGrad",
            Arc::new(AllgatherGrad { name }),
            &[gc.dy(0), gc.x(0)],
            &[],
            vec![gc.x(0).spec()],
        )?;
        Ok(vec![Some(grad.output(0)?)])
    }
}

/// The gradient of `HorovodAllgather`: all-reduces the upstream gradient and keeps this
/// process's rows (its place comes from an allgather of every process's row count).
#[derive(Debug)]
struct AllgatherGrad {
    name: String,
}

impl Op for AllgatherGrad {
    fn op_type(&self) -> &'static str {
        "HorovodAllgatherGrad"
    }
    fn kind(&self) -> OpKind {
        OpKind::Stateful
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let op = self.op_type();
        let dy = ctx.take_input(0);
        let x_shape = ctx.input(1).shape().to_vec();
        let rows = x_shape[0];
        let sum = crate::collective(&format!("{}/sum", self.name), op, Collective::Sum, dy)?;
        let counts = Value::new(&[1], vec![rows as i64])?;
        let all = crate::collective(
            &format!("{}/rows", self.name),
            op,
            Collective::Allgather,
            counts,
        )?;
        let rank = crate::world()?.rank;
        let start: i64 = all.as_slice::<i64>()?[..rank].iter().sum();
        let row_len: usize = x_shape[1..].iter().product();
        let from = start as usize * row_len;
        let s = sum.as_slice::<f32>()?;
        if from + rows * row_len > s.len() {
            return Err(crate::unavailable(
                &self.name,
                op,
                format!(
                    "the upstream gradient has {} elements; rows {start}..{} of {row_len} \
                     elements each do not fit",
                    s.len(),
                    start as usize + rows
                ),
            ));
        }
        Ok(vec![Value::new(
            &x_shape,
            s[from..from + rows * row_len].to_vec(),
        )?])
    }
}

/// The processes' values of `x` concatenated along the first axis, in rank order
/// (`hvd.allgather`): the first dimension may differ between processes, the others may not.
/// `float32`, `int32` or `int64`, of rank 1 or more; the gradient flows for `float32`.
///
/// ```no_run
/// use rustflow_graph::Graph;
/// use rustflow_mpi::allgather;
/// use rustflow_ops::constant;
/// rustflow_mpi::init().unwrap();
/// let g = Graph::new();
/// let all = allgather(&constant(&g, [[1.0f32, 2.0]], "x")).unwrap(); // [size, 2]
/// assert_eq!(all.shape().dim(1), Some(2));
/// ```
pub fn allgather(x: &Tensor) -> Result<Tensor> {
    let g = x.graph();
    let op = "HorovodAllgather";
    let name = crate::collective_name(x, op, "allgather", &[DType::F32, DType::I32, DType::I64])?;
    let shape = match x.shape().dims() {
        None => Shape::unknown(),
        Some([]) => {
            return Err(Error::Shape {
                node: name,
                op: op.into(),
                msg: "Shape must be at least rank 1 but is rank 0".into(),
                inputs: vec![x.shape()],
            })
        }
        Some([first, rest @ ..]) => {
            let size = crate::world()?.size;
            let rows = if size == 1 { *first } else { None };
            Shape::new(std::iter::once(rows).chain(rest.iter().copied()).collect())
        }
    };
    g.add_node(
        op,
        Arc::new(Allgather { name }),
        &[x],
        &[],
        vec![TensorSpec::new(x.dtype(), shape)],
    )?
    .output(0)
}
