//! `XentGrad`: the logits gradient of the cross-entropy ops, `dy[..., None] * backprop`.

use crate::nn::{softmax, softmax_grad};
use crate::util::add1;
use crate::{add, mul, reduce_sum};
use rustflow_graph::{fmt_dims, Error, GradContext, KernelContext, Op, Result, Tensor, Value};

/// The `XentGrad` op: inputs (the loss's upstream gradient `dy`, shape `S`, and the
/// cross-entropy's saved `backprop = softmax(logits) - labels`, shape `S + [C]`); output
/// `dy[..., None] * backprop`. It reuses the backprop buffer when nothing else holds it.
#[derive(Debug)]
pub struct XentGrad;

impl Op for XentGrad {
    fn op_type(&self) -> &'static str {
        "XentGrad"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let (dy, bp) = (ctx.input(0), ctx.input(1));
        let fits = bp
            .shape()
            .split_last()
            .is_some_and(|(_, lead)| lead == dy.shape());
        if !fits {
            return Err(Error::Kernel(format!(
                "the loss gradient {} does not fit the backprop {}",
                fmt_dims(dy.shape()),
                fmt_dims(bp.shape())
            )));
        }
        let c = bp.shape().last().copied().unwrap_or(0);
        let d = ctx.input(0).as_slice::<f32>()?.to_vec();
        let mut out = ctx.take_input(1);
        if c > 0 {
            for (row, &g) in out.data_mut::<f32>()?.chunks_exact_mut(c).zip(&d) {
                row.iter_mut().for_each(|x| *x *= g);
            }
        }
        Ok(vec![out])
    }
    /// Bilinear: `d(dy) = Σ_last g·backprop`, `d(backprop) = dy[..., None] * g`.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let (dy, bp, g) = (gc.x(0), gc.x(1), gc.dy(0));
        Ok(vec![
            Some(reduce_sum(&mul(g, bp)?, -1, false)?),
            Some(xent_grad(dy, g)?),
        ])
    }
}

/// `dy[..., None] * backprop`, shaped like `backprop` (the cross-entropies' logits gradient).
pub(crate) fn xent_grad(dy: &Tensor, backprop: &Tensor) -> Result<Tensor> {
    add1(
        dy.graph(),
        "XentGrad",
        XentGrad,
        &[dy, backprop],
        backprop.spec(),
    )
}

/// The logits gradient of a cross-entropy op (its rule's shared part), from the upstream
/// gradients of its outputs (loss, backprop): `dy_loss[..., None] * backprop`, plus, when the
/// backprop output itself has an upstream gradient `gg` (a gradient of a gradient), its
/// derivative through `softmax(logits)`: `softmax_grad(gg, softmax(logits))`, as TensorFlow's
/// `_SoftmaxCrossEntropyWithLogitsGrad`.
pub(crate) fn logits_grad(
    dy_loss: &Tensor,
    backprop: &Tensor,
    dy_backprop: &Tensor,
    logits: &Tensor,
) -> Result<Tensor> {
    let first = xent_grad(dy_loss, backprop)?;
    if dy_backprop.op().op_type() == "ZerosLike" {
        return Ok(first);
    }
    add(&first, &softmax_grad(dy_backprop, &softmax(logits)?)?)
}
