//! `FusedBatchNormGradV3`: the gradient of [`fused_batch_norm`](super::fused_batch_norm),
//! in one parallel pass for inference and two in training.

use crate::kernels::batch_norm::backward;
use crate::nn::fused_batch_norm::{channels, per_channel, Mode};
use crate::util::add;
use crate::{
    constant, gradients, mul, reciprocal, reduce_mean, reduce_sum, rsqrt, select_v2,
    squared_difference, stop_gradient, sub,
};
use rustflow_graph::{
    fmt_dims, DType, Error, GradContext, KernelContext, Op, Result, Shape, Tensor, TensorSpec,
    Value,
};

/// The `FusedBatchNormGradV3` op: inputs `(y_backprop, x, scale, reserve_space_1,
/// reserve_space_2, reserve_space_3)` (the reserve spaces of the forward node: the mean and
/// biased variance it normalized with) and, in [`Mode::Input`], `is_training`; outputs
/// `(x_backprop, scale_backprop, offset_backprop, reserve_space_4, reserve_space_5)`, the
/// last two empty as TensorFlow's CPU kernel leaves them.
#[derive(Debug)]
pub struct FusedBatchNormGradV3 {
    epsilon: f32,
    mode: Mode,
}

impl Op for FusedBatchNormGradV3 {
    fn op_type(&self) -> &'static str {
        "FusedBatchNormGradV3"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let op = "FusedBatchNormGradV3";
        let training = self.mode.read(ctx, 6, op)?;
        let (dy, x) = (ctx.input(0), ctx.input(1));
        let c = channels(op, x.shape())?;
        if dy.shape() != x.shape() {
            return Err(Error::Kernel(format!(
                "{op}: y_backprop {} and x {} must have the same shape",
                fmt_dims(dy.shape()),
                fmt_dims(x.shape())
            )));
        }
        let scale = per_channel(ctx, 2, c, op, "scale")?.to_vec();
        let mean = per_channel(ctx, 3, c, op, "reserve_space_1 (the mean)")?.to_vec();
        let var = per_channel(ctx, 4, c, op, "reserve_space_2 (the variance)")?.to_vec();
        // dx is computed in dy's buffer (a copy of it when something else holds it).
        let mut dx = ctx.take_input(0);
        let xs = ctx.input(1).as_slice::<f32>()?;
        let (dscale, doffset) = backward(
            dx.data_mut()?,
            xs,
            &scale,
            &mean,
            &var,
            self.epsilon,
            training,
        );
        let empty = || Value::new(&[0], Vec::<f32>::new());
        Ok(vec![
            dx,
            Value::new(&[c], dscale)?,
            Value::new(&[c], doffset)?,
            empty()?,
            empty()?,
        ])
    }
    /// TensorFlow's `_FusedBatchNormGradGrad`: the gradient of the composite form of this
    /// gradient (in training, the statistics recomputed from `x`) with respect to
    /// `y_backprop`, `x` and `scale`; none for the reserve spaces.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let (dy, x, scale) = (gc.x(0), gc.x(1), gc.x(2));
        let form = |training| composite(dy, x, scale, gc.x(3), gc.x(4), self.epsilon, training);
        let outs = match self.mode {
            Mode::Fixed(training) => form(training)?,
            Mode::Input => {
                let (t, i) = (form(true)?, form(false)?);
                let pick = |k: usize| select_v2(gc.x(6), &t[k], &i[k]);
                vec![pick(0)?, pick(1)?, pick(2)?]
            }
        };
        let ys: Vec<&Tensor> = outs.iter().collect();
        let dys: Vec<&Tensor> = gc.grads[..3].iter().collect();
        let mut d = gradients(&ys, &[dy, x, scale], Some(&dys))?;
        d.resize(gc.inputs.len(), None);
        Ok(d)
    }
    fn attrs(&self) -> String {
        self.mode.describe(self.epsilon)
    }
}

/// `(dx, dscale, doffset)` of batch normalization from plain ops, as TensorFlow's
/// `_BatchNormGrad` writes them: in training the mean and variance come from `x` again (the
/// variance's centre held constant), otherwise `mean` and `var` are the population's.
fn composite(
    dy: &Tensor,
    x: &Tensor,
    scale: &Tensor,
    mean: &Tensor,
    var: &Tensor,
    epsilon: f32,
    training: bool,
) -> Result<Vec<Tensor>> {
    let g = x.graph();
    let axes = [0i64, 1, 2];
    let eps = constant(g, epsilon, "epsilon");
    let doffset = reduce_sum(dy, axes, false)?;
    if !training {
        let r = rsqrt(&crate::add(var, &eps)?)?;
        let dscale = mul(&reduce_sum(&mul(dy, &sub(x, mean)?)?, axes, false)?, &r)?;
        let dx = mul(dy, &mul(scale, &r)?)?;
        return Ok(vec![dx, dscale, doffset]);
    }
    let mean_x = reduce_mean(x, axes, false)?;
    let var_x = reduce_mean(
        &squared_difference(x, &stop_gradient(&mean_x)?)?,
        axes,
        false,
    )?;
    let var_eps = crate::add(&var_x, &eps)?;
    let r = rsqrt(&var_eps)?;
    let x_offset = sub(x, &mean_x)?;
    let dy_offset = sub(dy, &reduce_mean(dy, axes, false)?)?;
    let m = reduce_mean(&mul(dy, &x_offset)?, axes, false)?;
    let inner = sub(
        &dy_offset,
        &mul(&mul(&reciprocal(&var_eps)?, &m)?, &x_offset)?,
    )?;
    let dx = mul(&mul(scale, &r)?, &inner)?;
    let dscale = mul(&r, &reduce_sum(&mul(dy, &x_offset)?, axes, false)?)?;
    Ok(vec![dx, dscale, doffset])
}

/// The `FusedBatchNormGradV3` node's first three outputs for `inputs` = `(dy, x, scale,
/// reserve_space_1, reserve_space_2, reserve_space_3[, is_training])` of a forward node
/// built by [`fused_batch_norm_v3`](super::fused_batch_norm::fused_batch_norm_v3).
pub(crate) fn fused_batch_norm_grad(
    inputs: &[&Tensor],
    epsilon: f32,
    mode: Mode,
) -> Result<Vec<Tensor>> {
    let (g, name) = (inputs[1].graph(), "FusedBatchNormGradV3");
    g.check_owns(inputs[0].graph(), &inputs[0].to_string())?;
    let x = inputs[1].spec();
    let c = x.shape.dim(3);
    let vector = TensorSpec::new(DType::F32, Shape::new(vec![c]));
    let empty = TensorSpec::new(DType::F32, Shape::known(&[0]));
    let outputs = vec![x, vector.clone(), vector, empty.clone(), empty];
    let op = FusedBatchNormGradV3 { epsilon, mode };
    Ok(add(g, name, op, inputs, outputs)?.outputs())
}
