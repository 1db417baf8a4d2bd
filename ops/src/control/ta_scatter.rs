//! `TensorArrayScatterV3` / `TensorArrayWriteV3`: a TensorArray with elements replaced.

use super::ta_gather::{gather_rows, indices};
use crate::util::add1;
use crate::zeros_like;
use rustflow_graph::{
    fmt_dims, DType, Error, GradContext, KernelContext, Op, Result, Tensor, Value,
};

/// The flow (input 0) with the rows at the indices (input 1) replaced by the slices of the
/// value (input 2); a scalar index writes one element. With `add`, the slices are added to
/// the rows instead (the gradient of a read, where an index may repeat).
#[derive(Debug)]
pub struct Scatter {
    add: bool,
    write: bool,
}

impl Op for Scatter {
    fn op_type(&self) -> &'static str {
        match (self.add, self.write) {
            (true, _) => "TensorArrayScatterAdd",
            (false, true) => "TensorArrayWriteV3",
            (false, false) => "TensorArrayScatterV3",
        }
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let mut flow = ctx.take_input(0);
        let (index, value) = (ctx.input(1), ctx.input(2));
        let n = flow.shape().first().copied().unwrap_or(0);
        let idx = indices(index, n)?;
        let elem = &flow.shape()[1..];
        let len: usize = elem.iter().product();
        if value.shape() != [index.shape(), elem].concat() {
            return Err(Error::Kernel(format!(
                "Could not write to TensorArray: element shape {} (with indices {}) does not match the value's shape {}",
                fmt_dims(elem),
                fmt_dims(index.shape()),
                fmt_dims(value.shape())
            )));
        }
        if flow.dtype() != DType::F32 {
            return Err(Error::Kernel(format!(
                "writing to a TensorArray of {} elements",
                flow.dtype()
            )));
        }
        let src = value.as_slice::<f32>()?;
        let dst = flow.data_mut::<f32>()?;
        for (k, &i) in idx.iter().enumerate() {
            let (d, s) = (
                &mut dst[i * len..(i + 1) * len],
                &src[k * len..(k + 1) * len],
            );
            if self.add {
                d.iter_mut().zip(s).for_each(|(d, s)| *d += s);
            } else {
                d.copy_from_slice(s);
            }
        }
        Ok(vec![flow])
    }
    /// The flow's gradient passes except at the rows written (which the value replaced); the
    /// value's gradient is those rows.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let dy = gc.dy(0);
        let d_value = gather_rows(dy, gc.x(1))?;
        let d_flow = if self.add {
            dy.clone()
        } else {
            scatter_rows(dy, gc.x(1), &zeros_like(gc.x(2))?, false)?
        };
        Ok(vec![Some(d_flow), None, Some(d_value)])
    }
}

/// `flow` with the rows at `index` replaced by (or, with `add`, increased by) `value`.
pub(crate) fn scatter_rows(
    flow: &Tensor,
    index: &Tensor,
    value: &Tensor,
    add: bool,
) -> Result<Tensor> {
    let g = flow.graph();
    let write = index.shape().rank() == Some(0);
    let op = Scatter { add, write };
    let name = if write {
        "TensorArrayWrite"
    } else {
        "TensorArrayScatter"
    };
    if !matches!(index.dtype(), DType::I32 | DType::I64)
        || index.shape().rank().is_some_and(|r| r > 1)
        || value.dtype() != flow.dtype()
    {
        return Err(crate::util::arg_error(
            g,
            name,
            op.op_type(),
            format!(
                "writes {} {} at indices {} {} into a TensorArray of {} {}",
                value.dtype(),
                value.shape(),
                index.dtype(),
                index.shape(),
                flow.dtype(),
                flow.shape()
            ),
        ));
    }
    add1(g, name, op, &[flow, index, value], flow.spec())
}
