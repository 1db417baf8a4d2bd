//! The fused gradients of the float element-wise ops whose derivative is cheapest from one
//! saved tensor `s` (the op's output `y` or input `x`), one row each in [`unary_grads!`]:
//! TensorFlow's op type, `f'` as a function of `s` (the kernel computes `dy * f'(s)`), and
//! `f'`'s own derivative with respect to `s` as graph ops, for the gradient of the gradient.

use crate::math::kernels::unary_inplace_with;
use crate::math::unary::{SELU_ALPHA, SELU_SCALE};
use crate::util::add1;
use crate::{cast, constant, less, mul, square, zeros_like};
use rustflow_graph::{
    fmt_dims, DType, Error, GradContext, Graph, KernelContext, Op, Result, Tensor, Value,
};

/// One row per gradient op: `Kind "TfName" (s) = f'(s); second(g, s) = f''(s) as a tensor
/// (`None`: zero)`.
macro_rules! unary_grads {
    ($(
        $(#[doc = $doc:literal])*
        $kind:ident $tf:literal ($s:ident) = $d:expr;
        second($g:ident, $t:ident) = $second:expr;
    )*) => {
        /// Which derivative a [`UnaryGrad`] computes.
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub(crate) enum UnaryGradKind {
            $($(#[doc = $doc])* $kind,)*
        }

        impl UnaryGradKind {
            /// Every kind.
            const ALL: &'static [UnaryGradKind] = &[$(UnaryGradKind::$kind,)*];

            fn op_type(self) -> &'static str {
                match self {
                    $(UnaryGradKind::$kind => $tf,)*
                }
            }

            /// `dy * f'(s)` in `dy`'s buffer.
            fn apply(self, s: &[f32], dy: &mut [f32]) {
                match self {
                    $(UnaryGradKind::$kind => unary_inplace_with(dy, s, |g, $s: f32| g * $d),)*
                }
            }

            /// `f''(s)`, the derivative of `f'` at `s`; `None` where it is zero.
            fn second(self, graph: &Graph, s: &Tensor) -> Result<Option<Tensor>> {
                match self {
                    $(UnaryGradKind::$kind => {
                        #[allow(unused_variables)]
                        let ($g, $t) = (graph, s);
                        Ok($second)
                    })*
                }
            }
        }
    };
}

/// `1.0` where `t < 0`, else `0.0`.
fn below_zero(g: &Graph, t: &Tensor) -> Result<Tensor> {
    cast(&less(t, &constant(g, 0f32, "Const"))?, DType::F32)
}

unary_grads! {
    /// From `y = sigmoid(x)`: `y * (1 - y)`.
    Sigmoid "SigmoidGrad" (y) = y * (1.0 - y);
    second(g, y) = Some(crate::add(&constant(g, 1f32, "Const"), &mul(&constant(g, -2f32, "Const"), y)?)?);
    /// From `y = tanh(x)`: `1 - y²`.
    Tanh "TanhGrad" (y) = 1.0 - y * y;
    second(g, y) = Some(mul(&constant(g, -2f32, "Const"), y)?);
    /// From `y = sqrt(x)`: `0.5 / y` (infinite at `y = 0`, as TensorFlow).
    Sqrt "SqrtGrad" (y) = 0.5 / y;
    second(g, y) = Some(crate::div(&constant(g, -0.5f32, "Const"), &square(y)?)?);
    /// From `y = rsqrt(x)`: `-0.5 * y³`.
    Rsqrt "RsqrtGrad" (y) = -0.5 * y * y * y;
    second(g, y) = Some(mul(&constant(g, -1.5f32, "Const"), &square(y)?)?);
    /// From `y = 1 / x`: `-y²`.
    Reciprocal "ReciprocalGrad" (y) = -(y * y);
    second(g, y) = Some(mul(&constant(g, -2f32, "Const"), y)?);
    /// From `x`: `sign(x)` (0 at `x = 0`).
    Abs "AbsGrad" (x) = if x > 0.0 { 1.0 } else if x < 0.0 { -1.0 } else { 0.0 };
    second(g, x) = None;
    /// From `x`: 1 where `0 < x < 6`, else 0 (TensorFlow's `Relu6Grad`).
    Relu6 "Relu6Grad" (x) = if x > 0.0 && x < 6.0 { 1.0 } else { 0.0 };
    second(g, x) = None;
    /// From `y = elu(x)`: `y + 1` below 0, else 1.
    Elu "EluGrad" (y) = if y < 0.0 { y + 1.0 } else { 1.0 };
    second(g, y) = Some(below_zero(g, y)?);
    /// From `y = selu(x)`: `y + scale * alpha` below 0, else `scale`.
    Selu "SeluGrad" (y) = if y < 0.0 { y + SELU_SCALE * SELU_ALPHA } else { SELU_SCALE };
    second(g, y) = Some(below_zero(g, y)?);
}

/// Inputs `(s, dy)` where `s` is the saved tensor (see [`UnaryGradKind`]); output: the
/// gradient of the forward op's input, computed in `dy`'s buffer when nothing else holds it.
#[derive(Debug)]
pub struct UnaryGrad {
    pub(crate) kind: UnaryGradKind,
}

impl Op for UnaryGrad {
    fn op_type(&self) -> &'static str {
        self.kind.op_type()
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
        self.kind.apply(s.as_slice::<f32>()?, dy.data_mut::<f32>()?);
        Ok(vec![dy])
    }
    /// With `g` the upstream: `ds = g * dy * f''(s)` and `ddy = g * f'(s)` (this op again),
    /// as TensorFlow's `_TanhGradGrad`, `_SigmoidGradGrad`, ...
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let (s, dy, g) = (gc.x(0), gc.x(1), gc.dy(0));
        let ds = match self.kind.second(gc.graph, s)? {
            Some(d2) => mul(&mul(g, dy)?, &d2)?,
            None => zeros_like(s)?,
        };
        Ok(vec![Some(ds), Some(unary_grad(self.kind, s, g)?)])
    }
}

/// The fused gradient op TensorFlow's graphs name `op_type` (`TanhGrad`, `SigmoidGrad`,
/// `SqrtGrad`, `RsqrtGrad`, `ReciprocalGrad`, `Relu6Grad`, `EluGrad`, `SeluGrad`, ...) of the
/// saved tensor `s` (TensorFlow's first input) and the upstream gradient `dy`; `None` for any
/// other op type.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{placeholder, unary_grad_of};
/// let g = Graph::new();
/// let y = placeholder(&g, DType::F32, shape![2], "y");
/// let dy = placeholder(&g, DType::F32, shape![2], "dy");
/// let dx = unary_grad_of("TanhGrad", &y, &dy).unwrap().unwrap();
/// assert_eq!(dx.op().op_type(), "TanhGrad");
/// assert!(unary_grad_of("MatMul", &y, &dy).is_none());
/// ```
pub fn unary_grad_of(op_type: &str, s: &Tensor, dy: &Tensor) -> Option<Result<Tensor>> {
    let kind = UnaryGradKind::ALL.iter().find(|k| k.op_type() == op_type)?;
    Some(unary_grad(*kind, s, dy))
}

/// Adds the `kind` gradient of saved tensor `s` and upstream `dy`.
pub(crate) fn unary_grad(kind: UnaryGradKind, s: &Tensor, dy: &Tensor) -> Result<Tensor> {
    let op = UnaryGrad { kind };
    add1(dy.graph(), op.op_type(), op, &[s, dy], dy.spec())
}
