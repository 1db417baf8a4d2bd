//! `AvgPoolGrad`: the gradient of `avg_pool`.

use crate::kernels::pool::avg_pool_grad as kernel;
use crate::nn::padding::Padding;
use crate::nn::pool::{check_pooled, pool_static, PoolAttrs};
use crate::util::{add1, shape_error};
use rustflow_graph::{KernelContext, Op, Result, Tensor, Value};

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
        let (x, dy) = (ctx.input(0), ctx.input(1));
        let win = self.attrs.window(x.shape())?;
        check_pooled(dy.shape(), &win)?;
        let mut dx = vec![0f32; x.len()];
        kernel(dy.as_slice()?, &win, &mut dx);
        Ok(vec![Value::new(x.shape(), dx)?])
    }
    fn attrs(&self) -> String {
        self.attrs.describe()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
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

/// The gradient of [`crate::nn::avg_pool`]`(x, ksize, strides, padding)` with respect to `x`
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
    let name = "AvgPoolGrad";
    let g = x.graph();
    g.check_owns(dy.graph(), &dy.to_string())?;
    let (attrs, out) = pool_static(name, name, x, ksize, strides, padding)?;
    crate::util::same_dtype(g, name, name, &[x, dy])?;
    if !out.is_compatible(&dy.shape()) {
        return Err(shape_error(
            g,
            name,
            name,
            format!("dy must have the pooled shape {out}"),
            &[x, dy],
        ));
    }
    avg_pool_grad_op(x, dy, attrs)
}
