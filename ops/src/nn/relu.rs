//! `relu`: the rectified linear unit.

use crate::math::kernels::unary_inplace;
use crate::math::unary::unary_builder;
use crate::nn::relu_grad::relu_grad;
use rustflow_graph::{
    Capability, Elementwise, GradContext, KernelContext, Op, Result, Tensor, Value,
};

/// `max(x, 0)` of one element; NaN stays NaN (a `max` would hide it from `check_numerics`).
pub(crate) fn rectify(x: f32) -> f32 {
    if x < 0.0 {
        0.0
    } else {
        x
    }
}

/// The `Relu` op.
#[derive(Debug)]
pub struct Relu;

impl Op for Relu {
    fn op_type(&self) -> &'static str {
        "Relu"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        Ok(vec![unary_inplace(ctx.take_input(0), rectify)?])
    }
    fn capability(&self) -> Capability {
        Capability::Elementwise(Elementwise {
            apply: |xs| xs.iter_mut().for_each(|x| *x = rectify(*x)),
            monotone: true,
        })
    }
    /// `ReluGrad(dy, y)`: the upstream passes only where the input was strictly positive.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let dy = gc.dy(0);
        Ok(vec![Some(relu_grad(dy, gc.y(0))?)])
    }
}

/// `max(x, 0)` element-wise (`tf.nn.relu`; node `Relu`). Float32 only. The gradient is 0
/// wherever `x <= 0`, so `relu'(0) = 0`, as TensorFlow.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{nn, placeholder};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 1024], "x");
/// let h = nn::relu(&x).unwrap();
/// assert_eq!(h.shape().to_string(), "[?,1024]");
/// assert_eq!(h.op().name(), "Relu");
/// ```
pub fn relu(x: &Tensor) -> Result<Tensor> {
    unary_builder(x, "Relu", Relu)
}
