//! `SumToShape`: the reduction every broadcasting op's gradient ends with.

use crate::math::kernels::sum_to_shape as kernel;
use crate::util::add1;
use rustflow_graph::{GradContext, KernelContext, Op, Result, Tensor, Value};

/// Sums input 0 over the dimensions along which an operand was broadcast to it, and reshapes
/// the result to the operand's shape (TensorFlow's `BroadcastGradientArgs` + `Sum` +
/// `Reshape`, in one op). The operand's shape is an attribute when it is known at build
/// time, else input 1 (read only for its run-time shape).
#[derive(Debug)]
pub struct SumToShape {
    target: Option<Vec<usize>>,
}

impl Op for SumToShape {
    fn op_type(&self) -> &'static str {
        "SumToShape"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let grad = ctx.input(0);
        let target = match &self.target {
            Some(t) => t.as_slice(),
            None => ctx.input(1).shape(),
        };
        Ok(vec![kernel(grad, target)?])
    }
    /// The upstream broadcast back to the summed gradient's shape (`zeros_like(grad) + dy`);
    /// the shape-only input gets none.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let back = crate::add(&crate::zeros_like(gc.x(0))?, gc.dy(0))?;
        let mut grads = vec![Some(back)];
        grads.resize(gc.inputs.len(), None);
        Ok(grads)
    }
    fn attrs(&self) -> String {
        self.target
            .as_ref()
            .map(|t| format!("shape={t:?}"))
            .unwrap_or_default()
    }
}

/// `grad` summed down to the shape of `like` (an input that may have been broadcast).
pub fn sum_to_shape_of(grad: &Tensor, like: &Tensor) -> Result<Tensor> {
    let (gs, spec) = (grad.shape(), like.spec());
    match spec.shape.to_known() {
        Some(t) if gs.to_known().as_ref() == Some(&t) => Ok(grad.clone()),
        Some(t) => add1(
            grad.graph(),
            "Sum",
            SumToShape { target: Some(t) },
            &[grad],
            spec,
        ),
        None => add1(
            grad.graph(),
            "Sum",
            SumToShape { target: None },
            &[grad, like],
            spec,
        ),
    }
}

/// The gradient of operand `x` of a broadcasting binary op whose other operand is `other`:
/// `grad` itself when the static shapes show `x` cannot have been broadcast (so the op's
/// output has `x`'s shape), else `grad` summed down to `x`'s shape.
pub fn broadcast_grad(grad: &Tensor, x: &Tensor, other: &Tensor) -> Result<Tensor> {
    let (xs, os) = (x.shape(), other.shape());
    if let (Some(xd), Some(od)) = (xs.dims(), os.dims()) {
        // Aligned from the right, each dim of x must be the output's: either known and not 1,
        // or the other operand has no dim there or a known 1.
        let kept = xd.len() >= od.len()
            && xd.iter().rev().enumerate().all(|(i, &d)| {
                let o = od.len().checked_sub(i + 1).map(|j| od[j]);
                matches!(d, Some(d) if d != 1) || matches!(o, None | Some(Some(1)))
            });
        if kept {
            return Ok(grad.clone());
        }
    }
    sum_to_shape_of(grad, x)
}
