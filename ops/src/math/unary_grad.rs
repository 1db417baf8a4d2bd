//! The fused gradients of the float element-wise ops whose derivative is cheapest from one
//! saved tensor: `SigmoidGrad`, `TanhGrad`, `SqrtGrad` (from the output `y`) and `AbsGrad`
//! (from the input `x`).

use crate::util::add1;
use rustflow_graph::{fmt_dims, Error, KernelContext, Op, Result, Tensor, Value};

/// Which derivative a [`UnaryGrad`] computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UnaryGradKind {
    /// `dy * y * (1 - y)`, from `y = sigmoid(x)`.
    Sigmoid,
    /// `dy * (1 - y * y)`, from `y = tanh(x)`.
    Tanh,
    /// `0.5 * dy / y`, from `y = sqrt(x)` (infinite at `y = 0`, as TensorFlow).
    Sqrt,
    /// `dy * sign(x)`, from `x` (0 at `x = 0`).
    Abs,
}

/// Inputs `(s, dy)` where `s` is the saved tensor (see [`UnaryGradKind`]); output: the
/// gradient of the forward op's input, computed in `dy`'s buffer when nothing else holds it.
#[derive(Debug)]
pub struct UnaryGrad {
    pub(crate) kind: UnaryGradKind,
}

impl Op for UnaryGrad {
    fn op_type(&self) -> &'static str {
        match self.kind {
            UnaryGradKind::Sigmoid => "SigmoidGrad",
            UnaryGradKind::Tanh => "TanhGrad",
            UnaryGradKind::Sqrt => "SqrtGrad",
            UnaryGradKind::Abs => "AbsGrad",
        }
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let mut dy = ctx.take_input(1);
        let s = ctx.input(0);
        if s.shape() != dy.shape() {
            return Err(Error::Kernel(format!(
                "{}: saved tensor of shape {} and upstream gradient of shape {} differ",
                self.op_type(),
                fmt_dims(s.shape()),
                fmt_dims(dy.shape())
            )));
        }
        let s = s.as_slice::<f32>()?;
        let d = dy.data_mut::<f32>()?;
        match self.kind {
            UnaryGradKind::Sigmoid => d
                .iter_mut()
                .zip(s)
                .for_each(|(g, &y)| *g = *g * y * (1.0 - y)),
            UnaryGradKind::Tanh => d.iter_mut().zip(s).for_each(|(g, &y)| *g *= 1.0 - y * y),
            UnaryGradKind::Sqrt => d.iter_mut().zip(s).for_each(|(g, &y)| *g = 0.5 * *g / y),
            UnaryGradKind::Abs => d.iter_mut().zip(s).for_each(|(g, &x)| {
                *g = if x > 0.0 {
                    *g
                } else if x < 0.0 {
                    -*g
                } else {
                    0.0
                }
            }),
        }
        Ok(vec![dy])
    }
}

/// Adds the `kind` gradient of saved tensor `s` and upstream `dy`.
pub(crate) fn unary_grad(kind: UnaryGradKind, s: &Tensor, dy: &Tensor) -> Result<Tensor> {
    let op = UnaryGrad { kind };
    add1(dy.graph(), op.op_type(), op, &[s, dy], dy.spec())
}
