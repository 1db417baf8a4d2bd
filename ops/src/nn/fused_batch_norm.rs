//! `fused_batch_norm` (`FusedBatchNormV3`): batch normalization of an NHWC tensor per
//! channel in one kernel, the batch's statistics in one parallel pass and the normalization
//! in a second.

use crate::constant;
use crate::kernels::batch_norm::{affine, coefficients, moments};
use crate::layers::Training;
use crate::nn::fused_batch_norm_grad::fused_batch_norm_grad;
use crate::nn::padding::nhwc_dims;
use crate::util::{add, expect_dtype, shape_error};
use rustflow_graph::{
    fmt_dims, DType, Dim, Error, GradContext, KernelContext, Op, Result, Shape, Tensor, TensorSpec,
    Value,
};

/// Whether a fused batch norm normalizes with the batch's own statistics: fixed when the
/// node is built (TensorFlow's `is_training` attribute), or read at every run from a bool
/// scalar input after the others (how `layers.batch_normalization` follows a `training`
/// tensor without running both modes; TensorFlow builds a `cond` of two nodes there).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Mode {
    Fixed(bool),
    Input,
}

impl Mode {
    /// Whether this run trains; `at` is the index of the mode's input.
    pub(crate) fn read(self, ctx: &KernelContext<'_>, at: usize, op: &str) -> Result<bool> {
        match self {
            Mode::Fixed(b) => Ok(b),
            Mode::Input => match ctx.input(at).as_slice::<bool>()? {
                [b] => Ok(*b),
                _ => Err(Error::Kernel(format!(
                    "{op}: is_training must be a bool scalar, got shape {}",
                    fmt_dims(ctx.input(at).shape())
                ))),
            },
        }
    }

    /// The attribute as printed in graph listings.
    pub(crate) fn describe(self, epsilon: f32) -> String {
        match self {
            Mode::Fixed(b) => format!("epsilon={epsilon}, is_training={b}"),
            Mode::Input => format!("epsilon={epsilon}, is_training=<input>"),
        }
    }
}

/// The channel count of a run-time 4-D input, or a kernel error naming the op and shape.
pub(crate) fn channels(op: &str, shape: &[usize]) -> Result<usize> {
    match shape {
        &[_, _, _, c] => Ok(c),
        _ => Err(Error::Kernel(format!(
            "{op}: x must be 4-dimensional (NHWC), got {}",
            fmt_dims(shape)
        ))),
    }
}

/// Input `i` as a per-channel vector of `c` values, or a kernel error naming it.
pub(crate) fn per_channel<'a>(
    ctx: &'a KernelContext<'_>,
    i: usize,
    c: usize,
    op: &str,
    what: &str,
) -> Result<&'a [f32]> {
    let v = ctx.input(i);
    if v.shape() != [c] {
        return Err(Error::Kernel(format!(
            "{op}: {what} must have shape [{c}] (the channels of x), got {}",
            fmt_dims(v.shape())
        )));
    }
    v.as_slice()
}

/// The `FusedBatchNormV3` op: inputs `(x, scale, offset, mean, variance)` and, in
/// [`Mode::Input`], `is_training`; outputs `(y, batch_mean, batch_variance, reserve_space_1,
/// reserve_space_2, reserve_space_3)` as TensorFlow's CPU kernel gives them: the reserve
/// spaces are the mean and the (biased) variance `y` was normalized with, and an empty third.
#[derive(Debug)]
pub struct FusedBatchNormV3 {
    epsilon: f32,
    mode: Mode,
}

impl Op for FusedBatchNormV3 {
    fn op_type(&self) -> &'static str {
        "FusedBatchNormV3"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let op = "FusedBatchNormV3";
        let training = self.mode.read(ctx, 5, op)?;
        let x = ctx.input(0);
        let c = channels(op, x.shape())?;
        let xs = x.as_slice::<f32>()?;
        let scale = per_channel(ctx, 1, c, op, "scale")?;
        let offset = per_channel(ctx, 2, c, op, "offset")?;
        let (mean, var) = if training {
            moments(xs, c)
        } else {
            let mean = per_channel(ctx, 3, c, op, "mean")?;
            (
                mean.to_vec(),
                per_channel(ctx, 4, c, op, "variance")?.to_vec(),
            )
        };
        let (a, b) = coefficients(scale, offset, &mean, &var, self.epsilon);
        let shape = x.shape().to_vec();
        let rows = xs.len() / c.max(1);
        let y = if x.is_unique() {
            // Nothing else reads x (evaluation): normalize it in place.
            let mut y = ctx.take_input(0);
            affine(None, &a, &b, y.data_mut()?);
            y
        } else {
            let mut y = ctx.output_f32(xs.len());
            affine(Some(xs), &a, &b, &mut y);
            Value::new(&shape, y)?
        };
        // The running estimate takes the unbiased variance, n / (n - 1) times the batch's.
        let bessel = rows as f32 / rows.saturating_sub(1).max(1) as f32;
        let batch_var: Vec<f32> = if training {
            var.iter().map(|v| v * bessel).collect()
        } else {
            var.clone()
        };
        Ok(vec![
            y,
            Value::new(&[c], mean.clone())?,
            Value::new(&[c], batch_var)?,
            Value::new(&[c], mean)?,
            Value::new(&[c], var)?,
            Value::new(&[0], Vec::<f32>::new())?,
        ])
    }
    /// `FusedBatchNormGradV3` of `y`'s upstream gradient, with the reserve spaces (as
    /// TensorFlow's rule, the batch statistics' outputs send no gradient back): gradients for
    /// `x`, `scale` and `offset`; none for the fed mean and variance.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let mut inputs = vec![gc.dy(0), gc.x(0), gc.x(1), gc.y(3), gc.y(4), gc.y(5)];
        if self.mode == Mode::Input {
            inputs.push(gc.x(5));
        }
        let d = fused_batch_norm_grad(&inputs, self.epsilon, self.mode)?;
        let mut out: Vec<Option<Tensor>> = d.into_iter().take(3).map(Some).collect();
        out.resize(gc.inputs.len(), None);
        Ok(out)
    }
    fn attrs(&self) -> String {
        self.mode.describe(self.epsilon)
    }
}

/// Merges the channel dimension of `t` (a vector) into `c`, or says what `t` is.
pub(crate) fn merge_channels(c: Dim, t: &Tensor, what: &str) -> std::result::Result<Dim, String> {
    let s = t.shape();
    let v = match s.dims() {
        None => None,
        Some([v]) => *v,
        Some(_) => return Err(format!("{what} must be a vector, got shape {s}")),
    };
    match (c, v) {
        (Some(a), Some(b)) if a != b => {
            Err(format!("{what} has {b} elements but x has {a} channels"))
        }
        _ => Ok(c.or(v)),
    }
}

/// The node of a fused batch norm (all six outputs) of a 4-D float32 `x`, normalizing with
/// the batch's statistics or with `mean` and `variance` as `is_training` says.
pub(crate) fn fused_batch_norm_v3(
    x: &Tensor,
    scale: &Tensor,
    offset: &Tensor,
    mean: &Tensor,
    variance: &Tensor,
    epsilon: f32,
    is_training: &Training,
) -> Result<Vec<Tensor>> {
    let (g, name) = (x.graph(), "FusedBatchNormV3");
    for t in [x, scale, offset, mean, variance] {
        g.check_owns(t.graph(), &t.to_string())?;
        expect_dtype(g, name, name, t, &[DType::F32])?;
    }
    let err = |m: String| shape_error(g, name, name, m, &[x, scale, offset, mean, variance]);
    let [n, h, w, c] = nhwc_dims(&x.shape(), "x").map_err(err)?;
    let mut c = merge_channels(c, scale, "scale").map_err(err)?;
    c = merge_channels(c, offset, "offset").map_err(err)?;
    if !matches!(is_training, Training::Fixed(true)) {
        c = merge_channels(c, mean, "mean").map_err(err)?;
        c = merge_channels(c, variance, "variance").map_err(err)?;
    }
    let mut inputs = vec![x, scale, offset, mean, variance];
    let flag;
    let mode = match is_training {
        Training::Fixed(b) => Mode::Fixed(*b),
        Training::Tensor(_) => {
            flag = is_training.as_bool(g)?;
            inputs.push(&flag);
            Mode::Input
        }
    };
    let vector = TensorSpec::new(DType::F32, Shape::new(vec![c]));
    let mut outputs = vec![TensorSpec::new(DType::F32, Shape::new(vec![n, h, w, c]))];
    outputs.extend(std::iter::repeat_n(vector, 4));
    outputs.push(TensorSpec::new(DType::F32, Shape::known(&[0])));
    let op = FusedBatchNormV3 { epsilon, mode };
    Ok(add(g, name, op, &inputs, outputs)?.outputs())
}

/// Batch normalization of `x` (`[batch, height, width, channels]`) with per-channel `scale`
/// and `offset` (`tf.compat.v1.nn.fused_batch_norm`, NHWC; node `FusedBatchNormV3`). Returns
/// `(y, batch_mean, batch_variance)`.
///
/// With `is_training`, `y` uses the batch's mean and population variance (over `n = N·H·W`),
/// `batch_mean` is that mean and `batch_variance` the Bessel-corrected variance (over
/// `n - 1`, at least 1), the value for a running estimate; `mean` and `variance` are unused.
/// Otherwise `y` uses `mean` and `variance` (both required), which the other two outputs
/// echo. As TensorFlow's `FusedBatchNormGradV3`, only `y`'s upstream gradient flows back
/// (to `x`, `scale` and `offset`, and in training through the batch statistics): the second
/// and third outputs, and the fed statistics of inference, get no gradient.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{nn, placeholder};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 4, 4, 3], "x");
/// let s = placeholder(&g, DType::F32, shape![3], "s");
/// let o = placeholder(&g, DType::F32, shape![3], "o");
/// let (y, m, v) = nn::fused_batch_norm(&x, &s, &o, None, None, 1e-3, true).unwrap();
/// assert_eq!((y.shape().to_string(), m.shape().to_string()), ("[?,4,4,3]".into(), "[3]".into()));
/// assert_eq!(y.op().op_type(), "FusedBatchNormV3");
/// assert!(nn::fused_batch_norm(&x, &s, &o, None, None, 1e-3, false).is_err());
/// ```
pub fn fused_batch_norm(
    x: &Tensor,
    scale: &Tensor,
    offset: &Tensor,
    mean: Option<&Tensor>,
    variance: Option<&Tensor>,
    epsilon: f32,
    is_training: bool,
) -> Result<(Tensor, Tensor, Tensor)> {
    let (g, name) = (x.graph(), "FusedBatchNormV3");
    let empty = || {
        constant(
            g,
            Value::new(&[0], Vec::<f32>::new()).expect("empty"),
            "Const",
        )
    };
    let (mean, variance) = match (mean, variance, is_training) {
        (Some(m), Some(v), _) => (m.clone(), v.clone()),
        (_, _, true) => (empty(), empty()),
        _ => {
            let msg = "inference (is_training false) needs mean and variance".to_string();
            return Err(shape_error(g, name, name, msg, &[x]));
        }
    };
    let t = Training::Fixed(is_training);
    let out = fused_batch_norm_v3(x, scale, offset, &mean, &variance, epsilon, &t)?;
    Ok((out[0].clone(), out[1].clone(), out[2].clone()))
}
