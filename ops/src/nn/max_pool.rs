//! `max_pool`: the maximum over sliding windows of an NHWC tensor.

use crate::nn::max_pool_grad::max_pool_grad_op;
use crate::nn::padding::Padding;
use crate::nn::pool::{add_pool, PoolAttrs, PoolKind, PoolSpec};
use rustflow_graph::{Capability, GradContext, KernelContext, Op, Result, Tensor, Value};

/// The `MaxPool` op.
#[derive(Debug)]
pub struct MaxPool {
    attrs: PoolAttrs,
}

impl Op for MaxPool {
    fn op_type(&self) -> &'static str {
        "MaxPool"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        self.attrs.pool(ctx, PoolKind::Max)
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let dy = gc.dy(0);
        Ok(vec![Some(max_pool_grad_op(gc.x(0), dy, self.attrs)?)])
    }
    fn attrs(&self) -> String {
        self.attrs.describe()
    }
    fn capability(&self) -> Capability {
        PoolSpec::capability(PoolKind::Max, self.attrs)
    }
}

/// Max pooling of `x` (`[batch, height, width, channels]`) over windows
/// `ksize = [1, k_h, k_w, 1]` moved by `strides = [1, s_h, s_w, 1]` (`tf.nn.max_pool`; node
/// name `MaxPool`). SAME padding acts as −inf, so it never wins.
///
/// The gradient sends each window's upstream value entirely to the window's first maximal
/// input in row-major order (TensorFlow's tie rule); overlapping windows add.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::nn::{max_pool, Padding};
/// use rustflow_ops::placeholder;
/// let g = Graph::new();
/// let h = placeholder(&g, DType::F32, shape![?, 28, 28, 32], "h");
/// let p = max_pool(&h, [1, 2, 2, 1], [1, 2, 2, 1], Padding::Same).unwrap();
/// assert_eq!(p.shape().to_string(), "[?,14,14,32]");
/// assert!(max_pool(&h, [1, 2, 2, 1], [1, 0, 2, 1], Padding::Same).is_err());
/// ```
pub fn max_pool(
    x: &Tensor,
    ksize: [usize; 4],
    strides: [usize; 4],
    padding: Padding,
) -> Result<Tensor> {
    add_pool("MaxPool", x, ksize, strides, padding, |attrs| MaxPool {
        attrs,
    })
}
