//! `AddReluMaxPool`: `max_pool(relu(a + b))`, which plans run in place of an `Add`, `Relu`
//! and `MaxPool` when only the pool reads the activation (evaluation, not training, whose
//! gradients read it too). It is never a graph node.

use crate::kernels::pool::max_pool;
use crate::nn::add_relu::AddRelu;
use crate::nn::pool::PoolAttrs;
use crate::nn::relu::rectify;
use rustflow_graph::{DType, KernelContext, Op, Result, Value};

/// The fused op: inputs (a, b) of the `Add`; output the `MaxPool`'s.
///
/// When `b` is one value per channel (`[channels]` or a scalar), it pools `a` first and adds
/// `b` and applies the relu to the pooled values only: `x ↦ relu(x + b)` never decreases, so
/// each window's maximum is the same element either way, and the result is exactly
/// TensorFlow's, on a quarter of the elements for a 2x2 pool. Any other `b` takes the long way.
#[derive(Debug)]
pub struct AddReluMaxPool {
    pub(crate) attrs: PoolAttrs,
}

impl Op for AddReluMaxPool {
    fn op_type(&self) -> &'static str {
        "AddReluMaxPool"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let (a, b) = (ctx.input(0), ctx.input(1));
        let channels = a.shape().last().copied().unwrap_or(0);
        let per_channel = a.dtype() == DType::F32
            && b.dtype() == DType::F32
            && a.shape().len() == 4
            && channels > 0
            && (b.shape() == [channels] || b.shape().is_empty());
        if !per_channel {
            let activation = AddRelu.compute(ctx)?.remove(0);
            ctx.inputs[0] = activation;
            return self.attrs.pool(ctx, max_pool);
        }
        // One bias per channel (a scalar repeated).
        let b = b.as_slice::<f32>()?;
        let bias: Vec<f32> = (0..channels).map(|k| b[k % b.len()]).collect();
        let mut out = self.attrs.pool(ctx, max_pool)?;
        for pixel in out[0].data_mut::<f32>()?.chunks_exact_mut(channels) {
            for (v, &b) in pixel.iter_mut().zip(&bias) {
                *v = rectify(*v + b);
            }
        }
        Ok(out)
    }
    fn attrs(&self) -> String {
        self.attrs.describe()
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}
