//! `SoftmaxGrad` and `LogSoftmaxGrad`: the gradients of `softmax` and `log_softmax` along
//! the last axis, from the forward output.

use crate::util::{add1, same_dtype, shape_error};
use crate::{exp, mul, neg, reduce_sum, sub};
use rustflow_graph::{
    fmt_dims, Error, GradContext, KernelContext, Op, Result, Tensor, TensorSpec, Value,
};

/// Inputs `(dy, y)`; per row of the last axis:
/// softmax (`y = softmax(x)`): `dx = (dy - Σ dy·y) * y`;
/// log-softmax (`y = log_softmax(x)`): `dx = dy - exp(y) * Σ dy`.
/// Computed in `dy`'s buffer when nothing else holds it.
#[derive(Debug)]
pub struct SoftmaxGrad {
    pub(crate) log: bool,
}

impl Op for SoftmaxGrad {
    fn op_type(&self) -> &'static str {
        if self.log {
            "LogSoftmaxGrad"
        } else {
            "SoftmaxGrad"
        }
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let mut dy = ctx.take_input(0);
        let y = ctx.input(1);
        let c = match y.shape().last() {
            Some(&c) if y.shape() == dy.shape() => c,
            _ => {
                return Err(Error::Kernel(format!(
                "{}: gradients of shape {} and outputs of shape {} must match and have rank >= 1",
                self.op_type(),
                fmt_dims(dy.shape()),
                fmt_dims(y.shape())
            )))
            }
        };
        if c == 0 {
            return Ok(vec![dy]);
        }
        let ys = y.as_slice::<f32>()?;
        let d = dy.data_mut::<f32>()?;
        for (dr, yr) in d.chunks_exact_mut(c).zip(ys.chunks_exact(c)) {
            if self.log {
                let s: f32 = dr.iter().sum();
                for (g, &v) in dr.iter_mut().zip(yr) {
                    *g -= v.exp() * s;
                }
            } else {
                let s: f32 = dr.iter().zip(yr).map(|(&g, &v)| g * v).sum();
                for (g, &v) in dr.iter_mut().zip(yr) {
                    *g = (*g - s) * v;
                }
            }
        }
        Ok(vec![dy])
    }
    /// Both are linear in `dy`. With `g` the upstream gradient and sums along the last axis:
    /// softmax: `d(dy) = softmax_grad(g, y)`, `d(y) = g·(dy - Σ dy·y) - dy·Σ g·y`;
    /// log-softmax: `d(dy) = g - Σ g·exp(y)`, `d(y) = -g·exp(y)·Σ dy`.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let (dy, y, g) = (gc.x(0), gc.x(1), gc.dy(0));
        let row_sum = |t: &Tensor| reduce_sum(t, -1, true);
        let (d_dy, d_y) = if self.log {
            let ge = mul(g, &exp(y)?)?;
            (sub(g, &row_sum(&ge)?)?, neg(&mul(&ge, &row_sum(dy)?)?)?)
        } else {
            let centered = sub(dy, &row_sum(&mul(dy, y)?)?)?;
            let d_y = sub(&mul(g, &centered)?, &mul(dy, &row_sum(&mul(g, y)?)?)?)?;
            (softmax_grad(g, y)?, d_y)
        };
        Ok(vec![Some(d_dy), Some(d_y)])
    }
}

fn grad(dy: &Tensor, y: &Tensor, log: bool) -> Result<Tensor> {
    let g = dy.graph();
    g.check_owns(y.graph(), &y.to_string())?;
    let op = SoftmaxGrad { log };
    let name = op.op_type();
    same_dtype(g, name, name, &[dy, y])?;
    let shape = dy.shape().merge(&y.shape()).ok_or_else(|| {
        let msg = "Gradients and outputs must have the same shape".to_string();
        shape_error(g, name, name, msg, &[dy, y])
    })?;
    add1(g, name, op, &[dy, y], TensorSpec::new(dy.dtype(), shape))
}

/// The gradient of `y = softmax(x)` for the upstream `dy`: `(dy - Σ_last dy·y) * y`.
pub fn softmax_grad(dy: &Tensor, y: &Tensor) -> Result<Tensor> {
    grad(dy, y, false)
}

/// The gradient of `y = log_softmax(x)` for the upstream `dy`: `dy - exp(y) * Σ_last dy`.
pub fn log_softmax_grad(dy: &Tensor, y: &Tensor) -> Result<Tensor> {
    grad(dy, y, true)
}
