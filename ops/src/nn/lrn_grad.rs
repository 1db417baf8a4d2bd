//! `LRNGrad`: the gradient of `local_response_normalization`.

use crate::kernels::lrn::Lrn;
use crate::nn::lrn::{check_input, describe, lrn_channels};
use crate::util::{add1, same_dtype, shape_error};
use rustflow_graph::{fmt_dims, Error, KernelContext, Op, Result, Tensor, TensorSpec, Value};

/// The `LRNGrad` op: inputs (the upstream gradient `dy`, the LRN's input `x`); output shaped
/// like `x`. (TensorFlow's op also takes the LRN's output; the norms are recomputed here.)
/// TensorFlow registers no gradient for it, nor does this.
#[derive(Debug)]
pub struct LrnGrad {
    params: Lrn,
}

impl Op for LrnGrad {
    fn op_type(&self) -> &'static str {
        "LRNGrad"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let (dy, x) = (ctx.input(0), ctx.input(1));
        let c = lrn_channels("LRNGrad", x.shape())?;
        if dy.shape() != x.shape() {
            return Err(Error::Kernel(format!(
                "LRNGrad: gradients {} and input {} must have the same shape",
                fmt_dims(dy.shape()),
                fmt_dims(x.shape())
            )));
        }
        let mut dx = ctx.output_f32(x.len());
        self.params
            .backward(dy.as_slice()?, x.as_slice()?, c, &mut dx);
        Ok(vec![Value::new(x.shape(), dx)?])
    }
    fn attrs(&self) -> String {
        describe(&self.params)
    }
}

/// The gradient of an LRN with parameters `params` at input `x`, for the upstream `dy`.
pub(crate) fn lrn_grad(dy: &Tensor, x: &Tensor, params: Lrn) -> Result<Tensor> {
    let name = "LRNGrad";
    let g = x.graph();
    g.check_owns(dy.graph(), &dy.to_string())?;
    check_input(name, x)?;
    same_dtype(g, name, name, &[dy, x])?;
    let shape = x.shape().merge(&dy.shape()).ok_or_else(|| {
        let msg = "gradients and input must have the same shape".to_string();
        shape_error(g, name, name, msg, &[dy, x])
    })?;
    add1(
        g,
        name,
        LrnGrad { params },
        &[dy, x],
        TensorSpec::new(x.dtype(), shape),
    )
}
