//! `SumToShape`: the reduction every broadcasting op's gradient ends with.

use crate::math::kernels::sum_to_shape as kernel;
use crate::util::add1;
use rustflow_graph::{KernelContext, Op, Result, Tensor, Value};

/// Sums input 0 over the dimensions along which input 1's shape was broadcast to it, and
/// reshapes the result to input 1's run-time shape (TensorFlow's `BroadcastGradientArgs` +
/// `Sum` + `Reshape`, in one op). Input 1 is read only for its shape.
#[derive(Debug)]
pub struct SumToShape;

impl Op for SumToShape {
    fn op_type(&self) -> &'static str {
        "SumToShape"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let (grad, like) = (ctx.input(0), ctx.input(1));
        Ok(vec![kernel(grad, like.shape())?])
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// `grad` summed down to the shape of `like` (an input that was broadcast), or `grad` itself
/// when the static shapes show no broadcast happened.
pub fn sum_to_shape_of(grad: &Tensor, like: &Tensor) -> Result<Tensor> {
    let (gs, ls) = (grad.shape(), like.shape());
    if gs.to_known().is_some() && gs == ls {
        return Ok(grad.clone());
    }
    add1(grad.graph(), "Sum", SumToShape, &[grad, like], like.spec())
}
