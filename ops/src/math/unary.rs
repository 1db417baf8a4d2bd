//! The float element-wise unary ops, one row each in [`unary_ops!`]: TensorFlow's op type,
//! the builder, the float function, and the gradient expression (as tinygrad's gradient table
//! or candle's `unary_op!`). A row's kernel runs the function in the input's buffer when
//! nothing else holds it, split into tasks on the rayon pool for large tensors; its gradient
//! is built from ordinary (differentiable) ops or a [`UnaryGrad`](super::unary_grad) row, so
//! gradients of gradients work. Adding an op is adding a row.

use crate::math::approx;
use crate::math::kernels::unary_inplace;
use crate::math::unary_grad::{unary_grad, UnaryGradKind as G};
use crate::util::{add1, expect_dtype};
use crate::{add, constant, div, mul, zeros_like};
use rustflow_graph::{
    Capability, DType, Elementwise, GradContext, KernelContext, Op, Result, Tensor, Value,
};

/// Adds a float32 element-wise op named `name` on `x`; the output has `x`'s spec.
pub(crate) fn unary_builder(x: &Tensor, name: &str, op: impl Op) -> Result<Tensor> {
    expect_dtype(x.graph(), name, op.op_type(), x, &[DType::F32])?;
    add1(x.graph(), name, op, &[x], x.spec())
}

/// The rows whose function never decreases and is defined everywhere (no NaN from a
/// finite input), so that a fused kernel may max-pool before applying it.
const NON_DECREASING: &[&str] = &[
    "Exp", "Expm1", "Sigmoid", "Tanh", "Softplus", "Softsign", "Elu", "Selu", "Relu6", "Erf",
    "Floor", "Ceil", "Round",
];

/// One row per op: `Type "TfName" builder(x) = float expression; grad(gc, dy) = the
/// gradient of the input (an `Option<Tensor>`, `None` where TensorFlow gives none)`.
macro_rules! unary_ops {
    ($(
        $(#[doc = $doc:literal])*
        $ty:ident $tf:literal $builder:ident($x:ident) = $f:expr;
        grad($gc:ident, $dy:ident) = $grad:expr;
    )*) => {$(
        #[doc = concat!("The `", $tf, "` op.")]
        #[derive(Debug)]
        pub(crate) struct $ty;

        impl Op for $ty {
            fn op_type(&self) -> &'static str {
                $tf
            }
            fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
                Ok(vec![unary_inplace(ctx.take_input(0), |$x: f32| $f)?])
            }
            fn gradient(&self, $gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
                #[allow(unused_variables)]
                let $dy = $gc.dy(0);
                Ok(vec![$grad])
            }
            fn capability(&self) -> Capability {
                Capability::Elementwise(Elementwise {
                    apply: |xs| xs.iter_mut().for_each(|v| {
                        let $x: f32 = *v;
                        *v = $f;
                    }),
                    monotone: NON_DECREASING.contains(&$tf),
                })
            }
        }

        $(#[doc = $doc])*
        #[doc = concat!("Float32 only; node `", $tf, "`.")]
        #[doc = ""]
        #[doc = "```"]
        #[doc = "use rustflow_graph::Graph;"]
        #[doc = concat!("use rustflow_ops::{constant, ", stringify!($builder), "};")]
        #[doc = "let g = Graph::new();"]
        #[doc = concat!("let y = ", stringify!($builder), "(&constant(&g, [0.5f32, 4.0], \"\")).unwrap();")]
        #[doc = concat!("assert_eq!(y.op().op_type(), \"", $tf, "\");")]
        #[doc = "```"]
        pub fn $builder(x: &Tensor) -> Result<Tensor> {
            unary_builder(x, $tf, $ty)
        }
    )*};
}

/// A float32 scalar constant in the gradient's graph.
fn c(gc: &GradContext<'_>, v: f32) -> Tensor {
    constant(gc.graph, v, "Const")
}

/// `log(1 + e^x)` as TensorFlow computes it: `x` above 2 - log(eps), `e^x` below its negative.
fn softplus_f32(x: f32) -> f32 {
    let threshold = f32::EPSILON.ln() + 2.0;
    if x > -threshold {
        x
    } else if x < threshold {
        x.exp()
    } else {
        x.exp().ln_1p()
    }
}

/// SELU's constants (Klambauer et al.), as TensorFlow's.
pub(crate) const SELU_ALPHA: f32 = 1.673_263_2;
pub(crate) const SELU_SCALE: f32 = 1.050_701;

unary_ops! {
    /// `-x`; `tf.negative`.
    Neg "Neg" neg(x) = -x;
    grad(gc, dy) = Some(neg(dy)?);

    /// The element-wise absolute value; `tf.abs`. The gradient is 0 at 0.
    Abs "Abs" abs(x) = x.abs();
    grad(gc, dy) = Some(unary_grad(G::Abs, gc.x(0), dy)?);

    /// The element-wise exponential e^x; `tf.exp`.
    Exp "Exp" exp(x) = x.exp();
    grad(gc, dy) = Some(mul(dy, gc.y(0))?);

    /// The natural logarithm (`-inf` at 0, NaN below); `tf.math.log`.
    Log "Log" log(x) = x.ln();
    grad(gc, dy) = Some(div(dy, gc.x(0))?);

    /// `log(1 + x)`, accurate for tiny `x`; `tf.math.log1p`.
    Log1p "Log1p" log1p(x) = x.ln_1p();
    grad(gc, dy) = Some(div(dy, &add(&c(gc, 1.0), gc.x(0))?)?);

    /// `e^x - 1`, accurate for tiny `x`; `tf.math.expm1`.
    Expm1 "Expm1" expm1(x) = x.exp_m1();
    grad(gc, dy) = Some(mul(dy, &exp(gc.x(0))?)?);

    /// `x * x`; `tf.square`.
    Square "Square" square(x) = x * x;
    grad(gc, dy) = Some(mul(dy, &mul(&c(gc, 2.0), gc.x(0))?)?);

    /// The square root (NaN below 0); `tf.sqrt`.
    Sqrt "Sqrt" sqrt(x) = x.sqrt();
    grad(gc, dy) = Some(unary_grad(G::Sqrt, gc.y(0), dy)?);

    /// `1 / sqrt(x)`; `tf.math.rsqrt`.
    Rsqrt "Rsqrt" rsqrt(x) = 1.0 / x.sqrt();
    grad(gc, dy) = Some(unary_grad(G::Rsqrt, gc.y(0), dy)?);

    /// `1 / x`; `tf.math.reciprocal`.
    Reciprocal "Reciprocal" reciprocal(x) = 1.0 / x;
    grad(gc, dy) = Some(unary_grad(G::Reciprocal, gc.y(0), dy)?);

    /// The logistic function 1 / (1 + e^-x); `tf.sigmoid`. Computed as TensorFlow's
    /// vectorized kernel does, within 2e-7 relative.
    Sigmoid "Sigmoid" sigmoid(x) = approx::sigmoid(x);
    grad(gc, dy) = Some(unary_grad(G::Sigmoid, gc.y(0), dy)?);

    /// The hyperbolic tangent; `tf.tanh`. Computed as TensorFlow's vectorized kernel (Eigen's
    /// rational approximation), within 4e-7 relative.
    Tanh "Tanh" tanh(x) = approx::tanh(x);
    grad(gc, dy) = Some(unary_grad(G::Tanh, gc.y(0), dy)?);

    /// `log(1 + e^x)`; `tf.math.softplus`. The gradient is `dy * sigmoid(x)`.
    Softplus "Softplus" softplus(x) = softplus_f32(x);
    grad(gc, dy) = Some(mul(dy, &sigmoid(gc.x(0))?)?);

    /// `x / (1 + |x|)`; `tf.math.softsign`. The gradient is `dy / (1 + |x|)²`.
    Softsign "Softsign" softsign(x) = x / (1.0 + x.abs());
    grad(gc, dy) = Some(div(dy, &square(&add(&c(gc, 1.0), &abs(gc.x(0))?)?)?)?);

    /// `x` above 0, `e^x - 1` below; `tf.nn.elu`.
    Elu "Elu" elu(x) = if x < 0.0 { x.exp_m1() } else { x };
    grad(gc, dy) = Some(unary_grad(G::Elu, gc.y(0), dy)?);

    /// The scaled ELU, `scale * x` above 0, `scale * alpha * (e^x - 1)` below; `tf.nn.selu`.
    Selu "Selu" selu(x) = if x < 0.0 { SELU_SCALE * SELU_ALPHA * x.exp_m1() } else { SELU_SCALE * x };
    grad(gc, dy) = Some(unary_grad(G::Selu, gc.y(0), dy)?);

    /// `min(max(x, 0), 6)`; `tf.nn.relu6`. The gradient passes only where `0 < x < 6`.
    Relu6 "Relu6" relu6(x) = x.clamp(0.0, 6.0);
    grad(gc, dy) = Some(unary_grad(G::Relu6, gc.x(0), dy)?);

    /// The sine; `tf.math.sin`.
    Sin "Sin" sin(x) = x.sin();
    grad(gc, dy) = Some(mul(dy, &cos(gc.x(0))?)?);

    /// The cosine; `tf.math.cos`.
    Cos "Cos" cos(x) = x.cos();
    grad(gc, dy) = Some(neg(&mul(dy, &sin(gc.x(0))?)?)?);

    /// The error function; `tf.math.erf`. The gradient is `dy * 2/sqrt(pi) * e^(-x²)`.
    Erf "Erf" erf(x) = libm::erff(x);
    grad(gc, dy) = Some(mul(
        dy,
        &mul(&c(gc, std::f32::consts::FRAC_2_SQRT_PI), &exp(&neg(&square(gc.x(0))?)?)?)?,
    )?);

    /// -1, 0 or 1 by the sign of `x` (`sign(0) = 0`, NaN stays NaN); `tf.math.sign`. Its
    /// gradient is zeros, as TensorFlow's.
    Sign "Sign" sign(x) = if x > 0.0 { 1.0 } else if x < 0.0 { -1.0 } else { x };
    grad(gc, dy) = Some(zeros_like(gc.x(0))?);

    /// Rounds down; `tf.math.floor`. No gradient (TensorFlow gives `None`).
    Floor "Floor" floor(x) = x.floor();
    grad(gc, dy) = None;

    /// Rounds up; `tf.math.ceil`. No gradient (TensorFlow gives `None`).
    Ceil "Ceil" ceil(x) = x.ceil();
    grad(gc, dy) = None;

    /// Rounds half to even (`2.5` gives 2, `-0.5` gives -0); `tf.math.round`. No gradient.
    Round "Round" round(x) = x.round_ties_even();
    grad(gc, dy) = None;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softplus_follows_tensorflow_thresholds() {
        assert_eq!(softplus_f32(30.0), 30.0);
        assert!((softplus_f32(0.0) - std::f32::consts::LN_2).abs() < 1e-7);
        assert_eq!(softplus_f32(-30.0), (-30f32).exp());
    }
}
