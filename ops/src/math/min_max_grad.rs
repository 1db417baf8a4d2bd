//! `MaximumGrad` / `MinimumGrad`: routes the upstream gradient of `maximum(a, b)` or
//! `minimum(a, b)` to the argument that was selected, ties going to the first.

use crate::math::kernels::binary;
use crate::util::add;
use rustflow_graph::{
    fmt_dims, DType, Error, GradContext, KernelContext, Op, Result, Tensor, Value,
};

/// Inputs `(dy, a, b)`; outputs `(da, db)` in `dy`'s (the broadcast) shape: `dy` where the
/// argument was selected (`a >= b` for maximum, `a <= b` for minimum, else `b`), 0 elsewhere.
/// The caller sums each back to its argument's shape.
#[derive(Debug)]
pub struct MinMaxGrad {
    /// `true` for maximum, `false` for minimum.
    pub(crate) max: bool,
}

impl Op for MinMaxGrad {
    fn op_type(&self) -> &'static str {
        if self.max {
            "MaximumGrad"
        } else {
            "MinimumGrad"
        }
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let (dy, a, b) = (ctx.input(0), ctx.input(1), ctx.input(2));
        let mask = match (a.dtype(), self.max) {
            (DType::F32, true) => binary(a, b, |x: f32, y: f32| x >= y)?,
            (DType::F32, false) => binary(a, b, |x: f32, y: f32| x <= y)?,
            (d, _) => {
                return Err(Error::Kernel(format!(
                    "{} takes float32 inputs, got {d}",
                    self.op_type()
                )))
            }
        };
        if mask.shape() != dy.shape() {
            return Err(Error::Kernel(format!(
                "upstream gradient of shape {} does not match the broadcast shape {}",
                fmt_dims(dy.shape()),
                fmt_dims(mask.shape())
            )));
        }
        let (m, g) = (mask.as_slice::<bool>()?, dy.as_slice::<f32>()?);
        let da = m
            .iter()
            .zip(g)
            .map(|(&s, &v)| if s { v } else { 0.0 })
            .collect();
        let db = m
            .iter()
            .zip(g)
            .map(|(&s, &v)| if s { 0.0 } else { v })
            .collect();
        Ok(vec![
            Value::new(dy.shape(), da)?,
            Value::new(dy.shape(), db)?,
        ])
    }
    /// Linear in `dy`: each output's upstream where its argument was selected; the selection
    /// is not differentiable (`a` and `b` get none, as through TensorFlow's `Select`).
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let (a, b) = (gc.x(1), gc.x(2));
        let (from_a, _) = min_max_grad(gc.dy(0), a, b, self.max)?;
        let (_, from_b) = min_max_grad(gc.dy(1), a, b, self.max)?;
        Ok(vec![Some(crate::add(&from_a, &from_b)?), None, None])
    }
}

/// The upstream `dy` of `maximum(a, b)` (`max = true`) or `minimum(a, b)` split between the
/// arguments, in `dy`'s shape: returns `(da, db)` before the broadcast reduction.
pub(crate) fn min_max_grad(
    dy: &Tensor,
    a: &Tensor,
    b: &Tensor,
    max: bool,
) -> Result<(Tensor, Tensor)> {
    let name = if max { "MaximumGrad" } else { "MinimumGrad" };
    let op = add(
        dy.graph(),
        name,
        MinMaxGrad { max },
        &[dy, a, b],
        vec![dy.spec(), dy.spec()],
    )?;
    Ok((op.output(0)?, op.output(1)?))
}
