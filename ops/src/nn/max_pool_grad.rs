//! `MaxPoolGrad`: the gradient of `max_pool`, recomputing each window's first maximum.

use crate::nn::max_pool_grad_grad::max_pool_grad_grad_op;
use crate::nn::padding::Padding;
use crate::nn::pool::{pool_grad_static, PoolAttrs, PoolKind};
use crate::util::add1;
use crate::zeros_like;
use rustflow_graph::{GradContext, KernelContext, Op, Result, Tensor, Value};

/// The `MaxPoolGrad` op: inputs (the pooled input `x`, the upstream gradient `dy`); output
/// shaped like `x`.
#[derive(Debug)]
pub struct MaxPoolGrad {
    attrs: PoolAttrs,
}

impl Op for MaxPoolGrad {
    fn op_type(&self) -> &'static str {
        "MaxPoolGrad"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        self.attrs.backprop(ctx, PoolKind::Max)
    }
    /// Linear in `dy`: `d(dy) = max_pool_grad_grad(x, g)`; `x` gets zeros (the maxima are
    /// piecewise constant), as TensorFlow's `_MaxPoolGradGrad`.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let x = gc.x(0);
        Ok(vec![
            Some(zeros_like(x)?),
            Some(max_pool_grad_grad_op(x, gc.dy(0), self.attrs)?),
        ])
    }
    fn attrs(&self) -> String {
        self.attrs.describe()
    }
}

pub(crate) fn max_pool_grad_op(x: &Tensor, dy: &Tensor, attrs: PoolAttrs) -> Result<Tensor> {
    add1(
        x.graph(),
        "MaxPoolGrad",
        MaxPoolGrad { attrs },
        &[x, dy],
        x.spec(),
    )
}

/// The gradient of [`crate::nn::max_pool()`]`(x, ksize, strides, padding)` with respect to `x`,
/// given the upstream gradient `dy` of the pooled output: each window's `dy` goes entirely to
/// the window's first maximal element of `x` in row-major (h, then w) order; overlapping
/// windows add.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::nn::{max_pool_grad, Padding};
/// use rustflow_ops::placeholder;
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 5, 5, 2], "x");
/// let dy = placeholder(&g, DType::F32, shape![?, 3, 3, 2], "dy");
/// let dx = max_pool_grad(&x, &dy, [1, 2, 2, 1], [1, 2, 2, 1], Padding::Same).unwrap();
/// assert_eq!(dx.shape().to_string(), "[?,5,5,2]");
/// ```
pub fn max_pool_grad(
    x: &Tensor,
    dy: &Tensor,
    ksize: [usize; 4],
    strides: [usize; 4],
    padding: Padding,
) -> Result<Tensor> {
    let attrs = pool_grad_static("MaxPoolGrad", x, dy, ksize, strides, padding)?;
    max_pool_grad_op(x, dy, attrs)
}
