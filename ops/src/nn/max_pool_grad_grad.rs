//! `MaxPoolGradGrad`: the gradient of `MaxPoolGrad` with respect to its upstream gradient.

use crate::nn::conv2d::out_len;
use crate::nn::max_pool_grad::max_pool_grad_op;
use crate::nn::pool::{pool_static, PoolAttrs, PoolKind};
use crate::nn::Padding;
use crate::util::{add1, same_dtype, shape_error};
use crate::zeros_like;
use rustflow_graph::{
    fmt_dims, DType, Error, GradContext, KernelContext, Op, Result, Tensor, TensorSpec, Value,
};

const NAME: &str = "MaxPoolGradGrad";

/// The `MaxPoolGradGrad` op: inputs (the pooled input `x`, a gradient `g` shaped like `x`);
/// output shaped like the pooled output: each window's value of `g` at its first maximum of
/// `x`. (TensorFlow's op also takes the pooled output; the maxima are recomputed here.)
#[derive(Debug)]
pub struct MaxPoolGradGrad {
    attrs: PoolAttrs,
}

impl Op for MaxPoolGradGrad {
    fn op_type(&self) -> &'static str {
        "MaxPoolGradGrad"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let (x, g) = (ctx.input(0), ctx.input(1));
        if x.shape() != g.shape() {
            return Err(Error::Kernel(format!(
                "MaxPoolGradGrad: the gradient {} must have the input's shape {}",
                fmt_dims(g.shape()),
                fmt_dims(x.shape())
            )));
        }
        let p = self.attrs.problem(PoolKind::Max, x.shape())?;
        let shape = p.out_shape();
        let mut y = ctx.output_f32(out_len(&shape)?);
        p.grad_grad(x.as_slice()?, g.as_slice()?, &mut y);
        Ok(vec![Value::new(&shape, y)?])
    }
    /// Linear in `g`: `d(g) = max_pool_grad(x, upstream)`; `x` gets zeros (the maxima are
    /// piecewise constant), as TensorFlow's `_MaxPoolGradGradGrad`.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let x = gc.x(0);
        Ok(vec![
            Some(zeros_like(x)?),
            Some(max_pool_grad_op(x, gc.dy(0), self.attrs)?),
        ])
    }
    fn attrs(&self) -> String {
        self.attrs.describe()
    }
}

/// The gradient of [`crate::nn::max_pool_grad()`]`(x, dy, ...)` with respect to `dy`, for
/// the upstream `g` (shaped like `x`): each window's `g` at the window's first maximum of `x`
/// (`tf.raw_ops.MaxPoolGradGrad`, without the pooled output).
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::nn::{max_pool_grad_grad, Padding};
/// use rustflow_ops::placeholder;
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 5, 5, 2], "x");
/// let gx = placeholder(&g, DType::F32, shape![?, 5, 5, 2], "gx");
/// let y = max_pool_grad_grad(&x, &gx, [1, 3, 3, 1], [1, 2, 2, 1], Padding::Same).unwrap();
/// assert_eq!(y.shape().to_string(), "[?,3,3,2]");
/// ```
pub fn max_pool_grad_grad(
    x: &Tensor,
    g: &Tensor,
    ksize: [usize; 4],
    strides: [usize; 4],
    padding: Padding,
) -> Result<Tensor> {
    let graph = x.graph();
    graph.check_owns(g.graph(), &g.to_string())?;
    let (attrs, out) = pool_static(NAME, NAME, x, ksize, strides, padding)?;
    same_dtype(graph, NAME, NAME, &[x, g])?;
    if !x.shape().is_compatible(&g.shape()) {
        let msg = "the gradient must have the input's shape".to_string();
        return Err(shape_error(graph, NAME, NAME, msg, &[x, g]));
    }
    let spec = TensorSpec::new(DType::F32, out);
    add1(graph, NAME, MaxPoolGradGrad { attrs }, &[x, g], spec)
}

/// [`max_pool_grad_grad`] with checked attributes (the gradient rule of `MaxPoolGrad`).
pub(crate) fn max_pool_grad_grad_op(x: &Tensor, g: &Tensor, attrs: PoolAttrs) -> Result<Tensor> {
    let (ksize, strides) = attrs.as_arrays();
    max_pool_grad_grad(x, g, ksize, strides, attrs.padding)
}
