//! `DropoutMask`: the random keep/drop decisions of `dropout`, drawn once per run.

use crate::random::generator::with_rng;
use rand::RngCore;
use rustflow_graph::{
    fmt_dims, not_differentiable, Error, GradContext, KernelContext, Op, OpKind, Result, Tensor,
    Value,
};

/// The `DropoutMask` op: inputs (keep_prob, and the tensor to drop from when no noise shape
/// is fixed); output `floor(keep_prob + u)` with `u ~ U[0, 1)` (1 = keep, 0 = drop), of the
/// noise shape or the input's run-time shape. Stateful: a fresh mask every run, and one mask
/// per run, which the forward value and the gradient of `dropout` share.
#[derive(Debug)]
pub struct DropoutMask {
    pub(crate) noise_shape: Option<Vec<usize>>,
    pub(crate) seed: u64,
}

/// `keep_prob` as a number in (0, 1], or a kernel error.
pub(crate) fn keep_prob_value(v: &Value) -> Result<f32> {
    let kp = v.scalar_value::<f32>().map_err(|_| {
        Error::Kernel(format!(
            "keep_prob must be a float32 scalar, got {} {}",
            v.dtype(),
            fmt_dims(v.shape())
        ))
    })?;
    if kp > 0.0 && kp <= 1.0 {
        Ok(kp)
    } else {
        Err(Error::Kernel(format!(
            "keep_prob must be in the range (0, 1], got {kp}"
        )))
    }
}

impl Op for DropoutMask {
    fn op_type(&self) -> &'static str {
        "DropoutMask"
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        not_differentiable(gc)
    }
    fn kind(&self) -> OpKind {
        OpKind::Stateful
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let kp = keep_prob_value(ctx.input(0))?;
        let shape = match &self.noise_shape {
            Some(s) => s.clone(),
            None => ctx
                .inputs
                .get(1)
                .map(|x| x.shape().to_vec())
                .ok_or_else(|| {
                    Error::Kernel("internal error: dropout mask without a shape".into())
                })?,
        };
        let n: usize = shape.iter().product();
        let mask = with_rng(ctx, self.seed, |rng| {
            if kp == 1.0 {
                // Every element is kept: skip the draws, but move the generator past them
                // (one word each), so that later runs draw what they would have.
                rng.set_word_pos(rng.get_word_pos() + n as u128);
                return vec![1.0; n];
            }
            (0..n)
                .map(|_| {
                    // u in [0, 1) with 23 random bits (as TensorFlow draws floats), so that
                    // keep_prob + u < 2 and the floor is 0 or 1.
                    let u = (rng.next_u32() >> 9) as f32 * (1.0 / (1u32 << 23) as f32);
                    (kp + u).floor().min(1.0)
                })
                .collect()
        })?;
        Ok(vec![Value::new(&shape, mask)?])
    }
    fn attrs(&self) -> String {
        match &self.noise_shape {
            Some(s) => format!("noise_shape={}", fmt_dims(s)),
            None => String::new(),
        }
    }
}
