//! `ReduceMaxGrad`: the gradient of `reduce_max`, split equally among tied maxima.

use crate::kernels::strided::for_each_offset;
use crate::math::reduce::{kept_strides, resolve_run, Axes};
use crate::util::add1;
use rustflow_graph::{fmt_dims, Error, GradContext, KernelContext, Op, Result, Tensor, Value};

/// Inputs `(dy, x, y)` where `y = reduce_max(x, axes)` (with or without kept dims) and `dy`
/// its upstream gradient; output `dx` in `x`'s shape: `dy / n` at each of the `n` elements
/// equal to their slice's maximum, 0 elsewhere (TensorFlow's
/// `indicators / num_selected * dy`).
#[derive(Debug)]
pub struct ReduceMaxGrad {
    pub(crate) axes: Axes,
}

impl Op for ReduceMaxGrad {
    fn op_type(&self) -> &'static str {
        "ReduceMaxGrad"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let (dy, x, y) = (ctx.input(0), ctx.input(1), ctx.input(2));
        let axes = resolve_run(&self.axes, x)?;
        let shape = x.shape();
        let (strides, s) = kept_strides(shape, &axes);
        let (g, xs, ys) = (
            dy.as_slice::<f32>()?,
            x.as_slice::<f32>()?,
            y.as_slice::<f32>()?,
        );
        if g.len() != s || ys.len() != s {
            return Err(Error::Kernel(format!(
                "reduce_max gradient: upstream {} and maximum {} do not fit input shape {}",
                fmt_dims(dy.shape()),
                fmt_dims(y.shape()),
                fmt_dims(shape)
            )));
        }
        let mut count = vec![0u32; s];
        for_each_offset(shape, &strides, |i, o| count[o] += (xs[i] == ys[o]) as u32);
        let mut dx = vec![0f32; xs.len()];
        for_each_offset(shape, &strides, |i, o| {
            if xs[i] == ys[o] {
                dx[i] = (1.0 / count[o] as f32) * g[o];
            }
        });
        Ok(vec![Value::new(shape, dx)?])
    }
    /// Linear in `dy`: `ddy = sum over the axes of (upstream * indicator / count)`, in
    /// `dy`'s shape; the indicator is not differentiable (`x` and `y` get none, as in
    /// TensorFlow, where it is `Equal` then `Cast`).
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let (dy, x, y) = (gc.x(0), gc.x(1), gc.x(2));
        let share = reduce_max_grad(&crate::ones_like(dy)?, x, y, &self.axes)?;
        let picked = crate::reduce_sum(&crate::mul(gc.dy(0), &share)?, self.axes.clone(), false)?;
        Ok(vec![Some(crate::reshape_like(&picked, dy)?), None, None])
    }
    fn attrs(&self) -> String {
        format!("axis={:?}", self.axes)
    }
}

/// The gradient of `y = reduce_max(x, axes)` given its upstream `dy`.
pub(crate) fn reduce_max_grad(dy: &Tensor, x: &Tensor, y: &Tensor, axes: &Axes) -> Result<Tensor> {
    add1(
        dy.graph(),
        "ReduceMaxGrad",
        ReduceMaxGrad { axes: axes.clone() },
        &[dy, x, y],
        x.spec(),
    )
}
