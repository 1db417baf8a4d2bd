//! `gather`: slices of a tensor picked by an index tensor.

use crate::array::common::{
    build_axis, checked_indices, dispatch, gather_rows, outer_inner, run_axis,
};
use crate::array::gather_grad::gather_grad;
use crate::util::{add1, expect_dtype};
use rustflow_graph::{
    DType, GradContext, KernelContext, Op, Result, Shape, Tensor, TensorSpec, Value,
};

/// The `GatherV2` op: input 0 the params, input 1 the int32/int64 indices (any rank).
#[derive(Debug)]
pub struct Gather {
    axis: i64,
}

impl Op for Gather {
    fn op_type(&self) -> &'static str {
        "GatherV2"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let (p, ind) = (ctx.input(0), ctx.input(1));
        let axis = run_axis(self.axis, p.shape())?;
        let n = p.shape()[axis];
        let rows = checked_indices(ind, n)?;
        let (outer, inner) = outer_inner(p.shape(), axis);
        let mut shape = p.shape()[..axis].to_vec();
        shape.extend_from_slice(ind.shape());
        shape.extend_from_slice(&p.shape()[axis + 1..]);
        ctx.check_output(p.dtype(), &shape)?;
        let y = dispatch!(p.dtype(), T => Value::new(
            &shape,
            gather_rows(p.as_slice::<T>()?, (outer, n, inner), &rows),
        )?);
        Ok(vec![y])
    }
    /// The upstream slices added into zeros shaped like the params, at their indices
    /// (repeated indices add up); the indices get none.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let dp = gather_grad(gc.dy(0), gc.x(1), gc.x(0), self.axis)?;
        Ok(vec![Some(dp), None])
    }
    fn attrs(&self) -> String {
        format!("axis={}", self.axis)
    }
}

/// The slices of `params` along `axis` at `indices` (int32 or int64, any rank)
/// (`tf.gather(params, indices, axis)`; op `GatherV2`): the output's shape is
/// `params.shape[:axis] + indices.shape + params.shape[axis + 1:]`. An index outside
/// `[0, params.shape[axis])` is a run-time error naming the node.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{gather, placeholder};
/// let g = Graph::new();
/// let params = placeholder(&g, DType::F32, shape![?, 5], "params");
/// let ids = placeholder(&g, DType::I64, shape![2, 2], "ids");
/// assert_eq!(gather(&params, &ids, 1).unwrap().shape().to_string(), "[?,2,2]");
/// assert_eq!(gather(&params, &ids, 0).unwrap().shape().to_string(), "[2,2,5]");
/// assert!(gather(&params, &ids, 2).is_err());
/// ```
pub fn gather(params: &Tensor, indices: &Tensor, axis: i64) -> Result<Tensor> {
    let g = params.graph();
    g.check_owns(indices.graph(), &indices.to_string())?;
    expect_dtype(
        g,
        "GatherV2",
        "GatherV2",
        indices,
        &[DType::I32, DType::I64],
    )?;
    let a = build_axis(
        g,
        "GatherV2",
        "GatherV2",
        axis,
        params.shape().rank(),
        &[params, indices],
    )?;
    let shape = match (a, params.shape().dims(), indices.shape().dims()) {
        (Some(a), Some(p), Some(i)) => {
            let mut d = p[..a].to_vec();
            d.extend_from_slice(i);
            d.extend_from_slice(&p[a + 1..]);
            Shape::new(d)
        }
        _ => Shape::unknown(),
    };
    add1(
        g,
        "GatherV2",
        Gather { axis },
        &[params, indices],
        TensorSpec::new(params.dtype(), shape),
    )
}
