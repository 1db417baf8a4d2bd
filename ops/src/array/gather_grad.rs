//! The gradient of `gather`: upstream slices added into zeros shaped like the params.

use crate::array::common::{checked_indices, outer_inner, run_axis, scatter_rows};
use crate::array::gather::gather;
use crate::util::add1;
use rustflow_graph::{fmt_dims, Error, GradContext, KernelContext, Op, Result, Tensor, Value};

/// `UnsortedSegmentSum` along `axis`: input 0 (`[outer, indices..., inner]`) added into
/// zeros shaped like input 2 (read for its run-time shape) at the rows input 1 names.
/// TensorFlow's gather gradient is the same sum, kept as `IndexedSlices`.
#[derive(Debug)]
pub struct GatherGrad {
    axis: i64,
}

impl Op for GatherGrad {
    fn op_type(&self) -> &'static str {
        "UnsortedSegmentSum"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let (dy, ind, like) = (ctx.input(0), ctx.input(1), ctx.input(2));
        let shape = like.shape();
        let axis = run_axis(self.axis, shape)?;
        let n = shape[axis];
        let rows = checked_indices(ind, n)?;
        let (outer, inner) = outer_inner(shape, axis);
        if dy.len() != outer * rows.len() * inner {
            return Err(Error::Kernel(format!(
                "the upstream of shape {} does not fit {} indices into params of shape {}",
                fmt_dims(dy.shape()),
                rows.len(),
                fmt_dims(shape)
            )));
        }
        let dx = scatter_rows(dy.as_slice::<f32>()?, (outer, n, inner), &rows);
        Ok(vec![Value::new(shape, dx)?])
    }
    /// The upstream gathered at the same indices; the indices and shape input get none.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![
            Some(gather(gc.dy(0), gc.x(1), self.axis)?),
            None,
            None,
        ])
    }
    fn attrs(&self) -> String {
        format!("axis={}", self.axis)
    }
}

/// `dy` (the upstream of `gather(params, indices, axis)`) summed into zeros shaped like
/// `params`.
pub(crate) fn gather_grad(
    dy: &Tensor,
    indices: &Tensor,
    params: &Tensor,
    axis: i64,
) -> Result<Tensor> {
    add1(
        dy.graph(),
        "UnsortedSegmentSum",
        GatherGrad { axis },
        &[dy, indices, params],
        params.spec(),
    )
}
