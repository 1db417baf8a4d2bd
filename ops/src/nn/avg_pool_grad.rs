//! `AvgPoolGrad`: the gradient of `avg_pool`.

use crate::nn::avg_pool::avg_pool_op;
use crate::nn::padding::Padding;
use crate::nn::pool::{pool_grad_static, PoolAttrs, PoolKind};
use crate::util::add1;
use rustflow_graph::{GradContext, KernelContext, Op, Result, Tensor, Value};

/// The `AvgPoolGrad` op: inputs (the pooled input `x`, read only for its shape, and the
/// upstream gradient `dy`); output shaped like `x`.
#[derive(Debug)]
pub struct AvgPoolGrad {
    attrs: PoolAttrs,
}

impl Op for AvgPoolGrad {
    fn op_type(&self) -> &'static str {
        "AvgPoolGrad"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        self.attrs.backprop(ctx, PoolKind::Avg)
    }
    /// Linear in `dy`: `d(dy) = avg_pool(g)`; `x`, read for its shape only, gets none.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![None, Some(avg_pool_op(gc.dy(0), self.attrs)?)])
    }
    fn attrs(&self) -> String {
        self.attrs.describe()
    }
}

pub(crate) fn avg_pool_grad_op(x: &Tensor, dy: &Tensor, attrs: PoolAttrs) -> Result<Tensor> {
    add1(
        x.graph(),
        "AvgPoolGrad",
        AvgPoolGrad { attrs },
        &[x, dy],
        x.spec(),
    )
}

/// The gradient of [`crate::nn::avg_pool()`]`(x, ksize, strides, padding)` with respect to `x`
/// (only `x`'s shape is used), given the upstream gradient `dy` of the pooled output: each
/// window's `dy`, divided by its in-bounds count, is added to each of its inputs.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::nn::{avg_pool_grad, Padding};
/// use rustflow_ops::placeholder;
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 5, 5, 2], "x");
/// let dy = placeholder(&g, DType::F32, shape![?, 3, 3, 2], "dy");
/// let dx = avg_pool_grad(&x, &dy, [1, 2, 2, 1], [1, 2, 2, 1], Padding::Same).unwrap();
/// assert_eq!(dx.shape().to_string(), "[?,5,5,2]");
/// ```
pub fn avg_pool_grad(
    x: &Tensor,
    dy: &Tensor,
    ksize: [usize; 4],
    strides: [usize; 4],
    padding: Padding,
) -> Result<Tensor> {
    let attrs = pool_grad_static("AvgPoolGrad", x, dy, ksize, strides, padding)?;
    avg_pool_grad_op(x, dy, attrs)
}
