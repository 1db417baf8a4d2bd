//! `avg_pool`: the mean over sliding windows of an NHWC tensor.

use crate::nn::avg_pool_grad::avg_pool_grad_op;
use crate::nn::padding::Padding;
use crate::nn::pool::{add_pool, PoolAttrs, PoolKind, PoolSpec};
use rustflow_graph::{Capability, GradContext, KernelContext, Op, Result, Tensor, Value};

/// The `AvgPool` op.
#[derive(Debug)]
pub struct AvgPool {
    attrs: PoolAttrs,
}

impl Op for AvgPool {
    fn op_type(&self) -> &'static str {
        "AvgPool"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        self.attrs.pool(ctx, PoolKind::Avg)
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let dy = gc.dy(0);
        Ok(vec![Some(avg_pool_grad_op(gc.x(0), dy, self.attrs)?)])
    }
    fn attrs(&self) -> String {
        self.attrs.describe()
    }
    fn capability(&self) -> Capability {
        PoolSpec::capability(PoolKind::Avg, self.attrs)
    }
}

/// Average pooling of `x` (`[batch, height, width, channels]`) over windows
/// `ksize = [1, k_h, k_w, 1]` moved by `strides = [1, s_h, s_w, 1]` (`tf.nn.avg_pool`; node
/// name `AvgPool`). Under SAME padding each window divides by its number of in-bounds
/// elements, not by `k_h * k_w`.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::nn::{avg_pool, Padding};
/// use rustflow_ops::placeholder;
/// let g = Graph::new();
/// let h = placeholder(&g, DType::F32, shape![?, 7, 7, 2], "h");
/// let p = avg_pool(&h, [1, 3, 3, 1], [1, 2, 2, 1], Padding::Same).unwrap();
/// assert_eq!(p.shape().to_string(), "[?,4,4,2]");
/// assert!(avg_pool(&h, [1, 8, 8, 1], [1, 1, 1, 1], Padding::Valid).is_err());
/// ```
pub fn avg_pool(
    x: &Tensor,
    ksize: [usize; 4],
    strides: [usize; 4],
    padding: Padding,
) -> Result<Tensor> {
    add_pool("AvgPool", x, ksize, strides, padding, |attrs| AvgPool {
        attrs,
    })
}

/// [`avg_pool`] with checked attributes (the gradient rule of `AvgPoolGrad`).
pub(crate) fn avg_pool_op(x: &Tensor, attrs: PoolAttrs) -> Result<Tensor> {
    let (ksize, strides) = attrs.as_arrays();
    avg_pool(x, ksize, strides, attrs.padding)
}
