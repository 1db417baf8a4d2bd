//! `gather_nd`: slices of a tensor picked by index tuples.

use crate::array::common::{dispatch, gather_rows, index_values};
use crate::array::scatter_nd::scatter_nd_like;
use crate::util::{add1, expect_dtype, shape_error};
use rustflow_graph::{
    fmt_dims, DType, Error, GradContext, KernelContext, Op, Result, Shape, Tensor, TensorSpec,
    Value,
};

/// The `GatherNd` op: input 0 the params, input 1 the int32/int64 index tuples (last axis).
#[derive(Debug)]
pub struct GatherNd;

/// Where the index tuples of `ind` point into params of `shape`: the row of each tuple in
/// params seen as `[rows, inner]`, that row count and `inner`, and the gathered shape
/// `ind.shape[:-1] + shape[k:]`. Tuples outside `shape` are errors (TensorFlow's message).
pub(crate) fn nd_rows(
    ind: &Value,
    shape: &[usize],
) -> Result<(Vec<usize>, usize, usize, Vec<usize>)> {
    let (&k, lead) = ind
        .shape()
        .split_last()
        .filter(|(&k, _)| k <= shape.len())
        .ok_or_else(|| {
            Error::Kernel(format!(
                "indices of shape {} must have rank >= 1 and a last dimension <= the params' rank {} (params shape {})",
                fmt_dims(ind.shape()),
                shape.len(),
                fmt_dims(shape)
            ))
        })?;
    let n: usize = shape[..k].iter().product();
    let inner: usize = shape[k..].iter().product();
    let idx = index_values(ind)?;
    let rows = (0..lead.iter().product())
        .map(|t: usize| {
            let tuple = &idx[t * k..(t + 1) * k];
            let mut row = 0usize;
            for (&i, &d) in tuple.iter().zip(shape) {
                match usize::try_from(i).ok().filter(|&i| i < d) {
                    Some(i) => row = row * d + i,
                    None => {
                        return Err(Error::Kernel(format!(
                            "indices[{t}] = {tuple:?} does not index into param shape {}",
                            fmt_dims(shape)
                        )))
                    }
                }
            }
            Ok(row)
        })
        .collect::<Result<Vec<_>>>()?;
    let mut out = lead.to_vec();
    out.extend_from_slice(&shape[k..]);
    Ok((rows, n, inner, out))
}

impl Op for GatherNd {
    fn op_type(&self) -> &'static str {
        "GatherNd"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let (p, ind) = (ctx.input(0), ctx.input(1));
        let (rows, n, inner, shape) = nd_rows(ind, p.shape())?;
        ctx.check_output(p.dtype(), &shape)?;
        let y = dispatch!(p.dtype(), T => Value::new(
            &shape,
            gather_rows(p.as_slice::<T>()?, (1, n, inner), &rows),
        )?);
        Ok(vec![y])
    }
    /// The upstream slices added into zeros shaped like the params at their tuples
    /// (repeated tuples add up); the indices get none.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![
            Some(scatter_nd_like(gc.x(1), gc.dy(0), gc.x(0))?),
            None,
        ])
    }
}

/// The slices of `params` at the index tuples along the last axis of `indices`
/// (`tf.gather_nd(params, indices)`; op `GatherNd`): the output's shape is
/// `indices.shape[:-1] + params.shape[indices.shape[-1]:]`. A tuple outside the params is a
/// run-time error naming the node.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{gather_nd, placeholder};
/// let g = Graph::new();
/// let params = placeholder(&g, DType::F32, shape![?, 3, 4], "params");
/// let pairs = placeholder(&g, DType::I32, shape![5, 2], "pairs");
/// assert_eq!(gather_nd(&params, &pairs).unwrap().shape().to_string(), "[5,4]");
/// let too_long = placeholder(&g, DType::I32, shape![5, 4], "t");
/// assert!(gather_nd(&params, &too_long).is_err());
/// ```
pub fn gather_nd(params: &Tensor, indices: &Tensor) -> Result<Tensor> {
    let g = params.graph();
    g.check_owns(indices.graph(), &indices.to_string())?;
    expect_dtype(
        g,
        "GatherNd",
        "GatherNd",
        indices,
        &[DType::I32, DType::I64],
    )?;
    let shape = match (params.shape().dims(), indices.shape().dims()) {
        (Some(p), Some(i)) => match i.split_last() {
            Some((Some(k), lead)) if *k <= p.len() => {
                let mut d = lead.to_vec();
                d.extend_from_slice(&p[*k..]);
                Shape::new(d)
            }
            Some((None, _)) => Shape::unknown(),
            _ => {
                return Err(shape_error(
                    g,
                    "GatherNd",
                    "GatherNd",
                    format!(
                        "indices.shape[-1] must be <= params.rank, and indices must have rank >= 1, but got params rank {}",
                        p.len()
                    ),
                    &[params, indices],
                ))
            }
        },
        _ => Shape::unknown(),
    };
    add1(
        g,
        "GatherNd",
        GatherNd,
        &[params, indices],
        TensorSpec::new(params.dtype(), shape),
    )
}
