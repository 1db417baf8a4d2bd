//! What a fused kernel applies to its product before storing it: a bias per channel, then
//! an element-wise activation, exactly as the separate `Add`/`BiasAdd` and activation ops.

use rustflow_graph::{fmt_dims, Elementwise, Error, Result, Value};

/// A bias add and an activation, each optional.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Epilogue {
    /// Whether a bias input (the fused op's last) is added along the last dimension.
    pub bias: bool,
    /// The element-wise function applied after the bias.
    pub activation: Option<Elementwise>,
}

impl Epilogue {
    /// The bias values for `channels` channels from the fused op's last input, checked as
    /// `BiasAdd` checks them; empty without a bias.
    pub fn bias_of<'a>(&self, inputs: &'a [Value], channels: usize) -> Result<&'a [f32]> {
        if !self.bias {
            return Ok(&[]);
        }
        let b = &inputs[inputs.len() - 1];
        if b.shape() != [channels] {
            return Err(Error::Kernel(format!(
                "Must provide as many biases as the last dimension of the input tensor: \
                 channels {channels}, bias {}",
                fmt_dims(b.shape())
            )));
        }
        b.as_slice::<f32>()
    }

    /// Applies the epilogue in place to `out`, rows of `bias.len()` channels (any length
    /// without a bias).
    pub fn apply(&self, bias: &[f32], out: &mut [f32]) {
        if !bias.is_empty() {
            for row in out.chunks_exact_mut(bias.len()) {
                for (v, &b) in row.iter_mut().zip(bias) {
                    *v += b;
                }
            }
        }
        if let Some(f) = self.activation {
            (f.apply)(out);
        }
    }
}
