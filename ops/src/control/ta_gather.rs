//! `TensorArrayGatherV3` / `TensorArrayReadV3`: elements of a TensorArray by index.

use super::ta_scatter::scatter_rows;
use crate::util::add1;
use crate::zeros_like;
use rustflow_graph::{
    fmt_dims, DType, Element, Error, GradContext, KernelContext, Op, Result, Shape, Tensor,
    TensorSpec, Value,
};

/// Rows of the flow (input 0) at the indices (input 1): a scalar index reads one element
/// (`TensorArrayReadV3`), a vector gathers several (`TensorArrayGatherV3`).
#[derive(Debug)]
pub struct Gather {
    read: bool,
}

/// The indices of `v` (int32 or int64) as positions below `n`, or an error naming them.
pub(crate) fn indices(v: &Value, n: usize) -> Result<Vec<usize>> {
    let raw: Vec<i64> = match v.dtype() {
        DType::I64 => v.as_slice::<i64>()?.to_vec(),
        _ => v.as_slice::<i32>()?.iter().map(|&i| i64::from(i)).collect(),
    };
    raw.into_iter()
        .map(|i| {
            usize::try_from(i).ok().filter(|&i| i < n).ok_or_else(|| {
                Error::Kernel(format!(
                    "Tried to access element {i} of a TensorArray of size {n}"
                ))
            })
        })
        .collect()
}

fn gather_t<T: Element>(flow: &Value, idx: &[usize], shape: &[usize]) -> Result<Value> {
    let data = flow.as_slice::<T>()?;
    let len: usize = flow.shape()[1..].iter().product();
    let mut out = Vec::with_capacity(idx.len() * len);
    for &i in idx {
        out.extend_from_slice(&data[i * len..(i + 1) * len]);
    }
    Value::new(shape, out)
}

impl Op for Gather {
    fn op_type(&self) -> &'static str {
        if self.read {
            "TensorArrayReadV3"
        } else {
            "TensorArrayGatherV3"
        }
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let (flow, index) = (ctx.input(0), ctx.input(1));
        let n = flow.shape().first().copied().unwrap_or(0);
        let idx = indices(index, n)?;
        let mut shape = index.shape().to_vec();
        shape.extend_from_slice(&flow.shape()[1..]);
        let out = match flow.dtype() {
            DType::F32 => gather_t::<f32>(flow, &idx, &shape),
            DType::I32 => gather_t::<i32>(flow, &idx, &shape),
            DType::I64 => gather_t::<i64>(flow, &idx, &shape),
            DType::Bool => gather_t::<bool>(flow, &idx, &shape),
            d => Err(Error::Kernel(format!(
                "a TensorArray of {d} elements (shape {})",
                fmt_dims(flow.shape())
            ))),
        }?;
        Ok(vec![out])
    }
    /// The upstream gradient added at the rows read, zeros elsewhere.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let zeros = zeros_like(gc.x(0))?;
        Ok(vec![
            Some(scatter_rows(&zeros, gc.x(1), gc.dy(0), true)?),
            None,
        ])
    }
}

/// The rows of `flow` at `index` (a scalar: one element; a vector: several, stacked).
pub(crate) fn gather_rows(flow: &Tensor, index: &Tensor) -> Result<Tensor> {
    let g = flow.graph();
    let read = index.shape().rank() == Some(0);
    let name = if read {
        "TensorArrayRead"
    } else {
        "TensorArrayGather"
    };
    let op = Gather { read };
    if !matches!(index.dtype(), DType::I32 | DType::I64)
        || index.shape().rank().is_some_and(|r| r > 1)
    {
        return Err(crate::util::arg_error(
            g,
            name,
            op.op_type(),
            format!(
                "indices must be an int scalar or vector, got {} {}",
                index.dtype(),
                index.shape()
            ),
        ));
    }
    let shape = match (index.shape().dims(), flow.shape().dims()) {
        (Some(i), Some(f)) if !f.is_empty() => {
            Shape::new(i.iter().chain(&f[1..]).copied().collect())
        }
        _ => Shape::unknown(),
    };
    add1(
        g,
        name,
        op,
        &[flow, index],
        TensorSpec::new(flow.dtype(), shape),
    )
}
