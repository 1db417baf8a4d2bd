//! The gradient of `gather_nd`: updates added into zeros at index tuples.

use crate::array::common::scatter_rows;
use crate::array::gather_nd::{gather_nd, nd_rows};
use crate::util::add1;
use rustflow_graph::{fmt_dims, Error, GradContext, KernelContext, Op, Result, Tensor, Value};

/// The `ScatterNd` op: input 1 (the updates) added into zeros shaped like input 2 (read for
/// its run-time shape) at the index tuples of input 0; repeated tuples add up.
#[derive(Debug)]
pub struct ScatterNd;

impl Op for ScatterNd {
    fn op_type(&self) -> &'static str {
        "ScatterNd"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let (ind, upd, like) = (ctx.input(0), ctx.input(1), ctx.input(2));
        let shape = like.shape();
        let (rows, n, inner, want) = nd_rows(ind, shape)?;
        if upd.shape() != want.as_slice() {
            return Err(Error::Kernel(format!(
                "updates of shape {} for indices of shape {} into shape {}: want {}",
                fmt_dims(upd.shape()),
                fmt_dims(ind.shape()),
                fmt_dims(shape),
                fmt_dims(&want)
            )));
        }
        let dx = scatter_rows(upd.as_slice::<f32>()?, (1, n, inner), &rows);
        Ok(vec![Value::new(shape, dx)?])
    }
    /// The upstream gathered at the same tuples; the indices and shape input get none.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![None, Some(gather_nd(gc.dy(0), gc.x(0))?), None])
    }
}

/// `updates` added into zeros shaped like `like` at the tuples of `indices`.
pub(crate) fn scatter_nd_like(indices: &Tensor, updates: &Tensor, like: &Tensor) -> Result<Tensor> {
    add1(
        updates.graph(),
        "ScatterNd",
        ScatterNd,
        &[indices, updates, like],
        like.spec(),
    )
}
