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
        let a = ctx.input(0);
        let nhwc = a.dtype() == DType::F32 && a.shape().len() == 4;
        let channels = if nhwc { a.shape()[3] } else { 0 };
        let Some(bias) = per_channel_bias(channels, ctx.input(1))? else {
            let activation = AddRelu.compute(ctx)?.remove(0);
            ctx.inputs[0] = activation;
            return self.attrs.pool(ctx, max_pool);
        };
        let mut out = self.attrs.pool(ctx, max_pool)?;
        add_rectify(out[0].data_mut::<f32>()?, &bias);
        Ok(out)
    }
    fn attrs(&self) -> String {
        self.attrs.describe()
    }
}

/// The float bias `b` as one value per channel of `channels` (`b` of shape `[channels]`, or
/// a scalar repeated), or `None` if it is not one.
pub(crate) fn per_channel_bias(channels: usize, b: &Value) -> Result<Option<Vec<f32>>> {
    let per_channel = b.shape() == [channels] || b.shape().is_empty();
    if b.dtype() != DType::F32 || channels == 0 || !per_channel {
        return Ok(None);
    }
    let b = b.as_slice::<f32>()?;
    Ok(Some((0..channels).map(|k| b[k % b.len()]).collect()))
}

/// `v ↦ relu(v + bias[channel])` over the pixels of `pooled`.
pub(crate) fn add_rectify(pooled: &mut [f32], bias: &[f32]) {
    for pixel in pooled.chunks_exact_mut(bias.len()) {
        for (v, &b) in pixel.iter_mut().zip(bias) {
            *v = rectify(*v + b);
        }
    }
}
