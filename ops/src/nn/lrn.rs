//! `local_response_normalization` (`LRN`): normalization across nearby channels.

use crate::kernels::lrn::Lrn;
use crate::nn::lrn_grad::lrn_grad;
use crate::nn::padding::nhwc_dims;
use crate::util::{add1, expect_dtype, shape_error};
use rustflow_graph::{
    fmt_dims, DType, Error, GradContext, KernelContext, Op, Result, Tensor, Value,
};

/// The `LRN` op.
#[derive(Debug)]
pub struct LocalResponseNorm {
    pub(crate) params: Lrn,
}

/// The channel count of a run-time 4-D input, or a kernel error naming the op and shape.
pub(crate) fn lrn_channels(op: &str, shape: &[usize]) -> Result<usize> {
    match shape {
        &[_, _, _, c] => Ok(c),
        _ => Err(Error::Kernel(format!(
            "{op}: input must be 4-dimensional, got {}",
            fmt_dims(shape)
        ))),
    }
}

/// The attributes as printed in graph listings.
pub(crate) fn describe(p: &Lrn) -> String {
    format!(
        "depth_radius={}, bias={}, alpha={}, beta={}",
        p.radius, p.bias, p.alpha, p.beta
    )
}

impl Op for LocalResponseNorm {
    fn op_type(&self) -> &'static str {
        "LRN"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let x = ctx.input(0);
        let c = lrn_channels("LRN", x.shape())?;
        let mut y = ctx.output_f32(x.len());
        self.params.forward(x.as_slice()?, c, &mut y);
        Ok(vec![Value::new(x.shape(), y)?])
    }
    /// `LRNGrad(dy, x)`.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(lrn_grad(gc.dy(0), gc.x(0), self.params)?)])
    }
    fn attrs(&self) -> String {
        describe(&self.params)
    }
}

/// Checks a 4-D float32 input of an LRN op at build time.
pub(crate) fn check_input(name: &str, x: &Tensor) -> Result<()> {
    let g = x.graph();
    expect_dtype(g, name, name, x, &[DType::F32])?;
    nhwc_dims(&x.shape(), "the input").map_err(|m| shape_error(g, name, name, m, &[x]))?;
    Ok(())
}

/// Local response normalization of a 4-D `input` across its last axis
/// (`tf.nn.local_response_normalization`; node `LRN`):
/// `y = x / (bias + alpha · Σ_{c' = c - r}^{c + r} x_{c'}²)^beta`, the window cut at the
/// first and last channel (`alpha` is not divided by the window's size).
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{nn, placeholder};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 6, 6, 64], "x");
/// let y = nn::local_response_normalization(&x, 4, 1.0, 0.001 / 9.0, 0.75).unwrap();
/// assert_eq!(y.shape().to_string(), "[?,6,6,64]");
/// ```
pub fn local_response_normalization(
    input: &Tensor,
    depth_radius: usize,
    bias: f32,
    alpha: f32,
    beta: f32,
) -> Result<Tensor> {
    check_input("LRN", input)?;
    let params = Lrn {
        radius: depth_radius,
        bias,
        alpha,
        beta,
    };
    add1(
        input.graph(),
        "LRN",
        LocalResponseNorm { params },
        &[input],
        input.spec(),
    )
}
