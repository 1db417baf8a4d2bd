//! `layers.batch_normalization`, with moving averages updated through `UPDATE_OPS`.

use super::{Scope, Training};
use crate::{
    add, constant, div, fill, get_variable_with, mul, neg, ones_like, reduce_sum, reshape,
    select_v2, sqrt, sub, Axes, Initializer, Variable, VariableOptions,
};
use rustflow_graph::{Error, Graph, GraphKeys, Result, Tensor};

/// Batch normalization (`tf.compat.v1.layers.batch_normalization`) over the last axis (or
/// `axis`). Variables: `<name>/gamma` (ones), `<name>/beta` (zeros), and the non-trainable
/// `<name>/moving_mean` (zeros), `<name>/moving_variance` (ones).
///
/// While training, the output uses the batch's mean and (population) variance, and two
/// assignments added to the `UPDATE_OPS` collection move the moving statistics:
/// `moving -= (moving - batch_stat) * (1 - momentum)`. Run them with each step (make the
/// train op depend on them). Otherwise the output uses the moving statistics. On a rank-4
/// input the moving variance takes the batch variance with Bessel's correction, as
/// TensorFlow's fused kernel gives it; over the last axis of a rank-4 input the layer is that
/// kernel, one `FusedBatchNormV3` node (as TensorFlow's default `fused=True`). `training` may be a bool tensor: then both paths are
/// built and the tensor picks one at every run (and the updates leave the statistics alone
/// when it is false).
///
/// ```
/// use rustflow_graph::{shape, DType, Graph, GraphKeys};
/// use rustflow_ops::{layers::BatchNormalization, placeholder};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 5], "x");
/// let training = placeholder(&g, DType::Bool, shape![], "training");
/// let y = BatchNormalization::new().apply(&x, &training).unwrap();
/// assert_eq!(y.shape().to_string(), "[?,5]");
/// assert!(g.tensor_by_name("batch_normalization/moving_variance:0").is_ok());
/// assert_eq!(g.get_collection(GraphKeys::UPDATE_OPS).len(), 2);
/// ```
#[derive(Clone, Debug)]
pub struct BatchNormalization {
    axis: i64,
    momentum: f32,
    epsilon: f32,
    center: bool,
    scale: bool,
    scope: Scope,
}

impl Default for BatchNormalization {
    fn default() -> Self {
        Self::new()
    }
}

impl BatchNormalization {
    /// TensorFlow's defaults: last axis, momentum 0.99, epsilon 1e-3, with beta and gamma.
    pub fn new() -> Self {
        BatchNormalization {
            axis: -1,
            momentum: 0.99,
            epsilon: 1e-3,
            center: true,
            scale: true,
            scope: Scope::default(),
        }
    }

    /// The axis of the features (default -1, the last).
    pub fn axis(mut self, axis: i64) -> Self {
        self.axis = axis;
        self
    }

    /// The momentum of the moving averages (default 0.99).
    pub fn momentum(mut self, momentum: f32) -> Self {
        self.momentum = momentum;
        self
    }

    /// Added to the variance (default 1e-3).
    pub fn epsilon(mut self, epsilon: f32) -> Self {
        self.epsilon = epsilon;
        self
    }

    /// Whether to add the offset `beta` (default true).
    pub fn center(mut self, center: bool) -> Self {
        self.center = center;
        self
    }

    /// Whether to multiply by `gamma` (default true).
    pub fn scale(mut self, scale: bool) -> Self {
        self.scale = scale;
        self
    }

    scope_setters!("batch_normalization");

    /// Builds the layer on `inputs`.
    pub fn apply(&self, inputs: &Tensor, training: impl Into<Training>) -> Result<Tensor> {
        let training = training.into();
        let g = inputs.graph();
        let dims = inputs.shape().dims().map(<[_]>::to_vec).unwrap_or_default();
        let rank = dims.len() as i64;
        let axis = if self.axis < 0 {
            self.axis + rank
        } else {
            self.axis
        };
        let channels = (0..rank)
            .contains(&axis)
            .then(|| dims[axis as usize])
            .flatten();
        let Some(channels) = channels else {
            return Err(Error::Shape {
                node: g.peek_unique_name("batch_normalization"),
                op: "BatchNormalization".into(),
                msg: format!("axis {} of the input must be known", self.axis),
                inputs: vec![inputs.shape()],
            });
        };
        let reduce: Vec<i64> = (0..rank).filter(|&d| d != axis).collect();
        // Parameters of shape [C] broadcast against the input along `axis`.
        let broadcast = |t: &Tensor| -> Result<Tensor> {
            if axis == rank - 1 {
                return Ok(t.clone());
            }
            let shape: Vec<i64> = (0..rank)
                .map(|d| if d == axis { channels as i64 } else { 1 })
                .collect();
            reshape(t, &shape)
        };
        self.scope.enter(g, "batch_normalization", |g| {
            let var = |name: &str, initializer, trainable| {
                let opts = VariableOptions {
                    initializer,
                    trainable,
                    collections: vec![],
                };
                get_variable_with(g, name, &[channels], &opts)
            };
            let gamma = self
                .scale
                .then(|| var("gamma", Initializer::Ones, self.scope.trainable))
                .transpose()?;
            let beta = self
                .center
                .then(|| var("beta", Initializer::Zeros, self.scope.trainable))
                .transpose()?;
            let moving_mean = var("moving_mean", Initializer::Zeros, false)?;
            let moving_var = var("moving_variance", Initializer::Ones, false)?;
            if rank == 4 && axis == 3 {
                return self.fused(
                    g,
                    inputs,
                    channels,
                    gamma,
                    beta,
                    &moving_mean,
                    &moving_var,
                    &training,
                );
            }
            let (mean, variance) = match training {
                Training::Fixed(false) => ((*moving_mean).clone(), (*moving_var).clone()),
                _ => {
                    let (mean, variance) = g.name_scope("moments", |_| {
                        crate::nn::moments(inputs, Axes::List(reduce.clone()), false)
                    })?;
                    let unbiased = if reduce.len() == 3 {
                        // n / (n - 1), n the number of values per feature.
                        let n = reduce_sum(&ones_like(inputs)?, Axes::List(reduce.clone()), false)?;
                        mul(&variance, &div(&n, &sub(&n, &constant(g, 1f32, ""))?)?)?
                    } else {
                        variance.clone()
                    };
                    self.update_moving(g, &training, &moving_mean, &mean, &moving_var, &unbiased)?;
                    match &training {
                        Training::Tensor(_) => {
                            let on = training.as_bool(g)?;
                            (
                                select_v2(&on, &mean, &moving_mean)?,
                                select_v2(&on, &variance, &moving_var)?,
                            )
                        }
                        Training::Fixed(_) => (mean, variance),
                    }
                }
            };
            g.name_scope("batchnorm", |g| {
                let eps = constant(g, self.epsilon, "epsilon");
                let mut inv = div(&constant(g, 1f32, ""), &sqrt(&add(&variance, &eps)?)?)?;
                if let Some(gamma) = &gamma {
                    inv = mul(&inv, gamma)?;
                }
                let mean_inv = mul(&mean, &inv)?;
                let shift = match &beta {
                    Some(beta) => sub(beta, &mean_inv)?,
                    None => neg(&mean_inv)?,
                };
                add(&mul(inputs, &broadcast(&inv)?)?, &broadcast(&shift)?)
            })
        })
    }

    /// The layer on an NHWC input as TensorFlow builds it by default: one `FusedBatchNormV3`
    /// node (`fused=True`), which reads a `training` tensor at every run, so evaluation does
    /// not compute the batch's statistics; the moving variance takes the node's
    /// Bessel-corrected `batch_variance`.
    #[allow(clippy::too_many_arguments)]
    fn fused(
        &self,
        g: &Graph,
        inputs: &Tensor,
        c: usize,
        gamma: Option<Variable>,
        beta: Option<Variable>,
        moving_mean: &Variable,
        moving_var: &Variable,
        training: &Training,
    ) -> Result<Tensor> {
        let gamma = match gamma {
            Some(v) => (*v).clone(),
            None => fill(g, &[c], 1f32, "ones")?,
        };
        let beta = match beta {
            Some(v) => (*v).clone(),
            None => fill(g, &[c], 0f32, "zeros")?,
        };
        let out = crate::nn::fused_batch_norm::fused_batch_norm_v3(
            inputs,
            &gamma,
            &beta,
            moving_mean,
            moving_var,
            self.epsilon,
            training,
        )?;
        if !matches!(training, Training::Fixed(false)) {
            self.update_moving(g, training, moving_mean, &out[1], moving_var, &out[2])?;
        }
        Ok(out[0].clone())
    }

    /// Adds the assignments of the moving statistics to `UPDATE_OPS`.
    fn update_moving(
        &self,
        g: &Graph,
        training: &Training,
        moving_mean: &Variable,
        mean: &Tensor,
        moving_var: &Variable,
        variance: &Tensor,
    ) -> Result<()> {
        let mut decay = constant(g, 1.0 - self.momentum, "decay");
        if let Training::Tensor(_) = training {
            decay = mul(&decay, &training.as_float(g)?)?;
        }
        for (moving, stat) in [(moving_mean, mean), (moving_var, variance)] {
            let update = g.name_scope("AssignMovingAvg", |_| {
                moving.assign_sub(&mul(&sub(moving, stat)?, &decay)?)
            })?;
            g.add_to_collection(GraphKeys::UPDATE_OPS, update);
        }
        Ok(())
    }
}

/// `tf.compat.v1.layers.batch_normalization(inputs, training=training)` with the default
/// options.
pub fn batch_normalization(inputs: &Tensor, training: impl Into<Training>) -> Result<Tensor> {
    BatchNormalization::new().apply(inputs, training)
}
