//! Variable initializers (`tf.glorot_uniform_initializer`, `tf.zeros_initializer`, ...).

use crate::{fill, random_normal, random_uniform, truncated_normal};
use rustflow_graph::{Graph, Result, Tensor};

/// Which fan `VarianceScaling` divides the scale by.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FanMode {
    /// The number of inputs of a unit.
    FanIn,
    /// The number of outputs.
    FanOut,
    /// Their average.
    FanAvg,
}

/// The distribution `VarianceScaling` draws from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Distribution {
    /// A normal truncated at two standard deviations, with its stddev corrected so that the
    /// variance is the scale (TensorFlow's `"truncated_normal"`).
    TruncatedNormal,
    /// An untruncated normal.
    UntruncatedNormal,
    /// A uniform distribution on `[-limit, limit]`, `limit = sqrt(3 * scale)`.
    Uniform,
}

/// How a variable created by [`crate::get_variable`] gets its initial value, as TensorFlow's
/// initializers. `seed` is the op seed of the random ones.
///
/// ```
/// use rustflow_ops::Initializer;
/// let he = Initializer::VarianceScaling {
///     scale: 2.0,
///     mode: rustflow_ops::FanMode::FanIn,
///     distribution: rustflow_ops::Distribution::TruncatedNormal,
///     seed: None,
/// };
/// assert_eq!(Initializer::default(), Initializer::GlorotUniform { seed: None });
/// # let _ = he;
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Initializer {
    /// `glorot_uniform_initializer`: uniform with limit `sqrt(6 / (fan_in + fan_out))`, the
    /// default of `get_variable` and of the layers' kernels.
    GlorotUniform {
        /// The op seed.
        seed: Option<u64>,
    },
    /// `glorot_normal_initializer`: truncated normal with variance `2 / (fan_in + fan_out)`.
    GlorotNormal {
        /// The op seed.
        seed: Option<u64>,
    },
    /// `zeros_initializer`.
    Zeros,
    /// `ones_initializer`.
    Ones,
    /// `constant_initializer(value)`.
    Constant(f32),
    /// `truncated_normal_initializer(mean, stddev)`.
    TruncatedNormal {
        /// The mean.
        mean: f32,
        /// The standard deviation before truncation.
        stddev: f32,
        /// The op seed.
        seed: Option<u64>,
    },
    /// `random_normal_initializer(mean, stddev)`.
    RandomNormal {
        /// The mean.
        mean: f32,
        /// The standard deviation.
        stddev: f32,
        /// The op seed.
        seed: Option<u64>,
    },
    /// `random_uniform_initializer(minval, maxval)`.
    RandomUniform {
        /// The lower bound.
        minval: f32,
        /// The upper bound.
        maxval: f32,
        /// The op seed.
        seed: Option<u64>,
    },
    /// `variance_scaling_initializer(scale, mode, distribution)`: variance `scale / fan`.
    VarianceScaling {
        /// The target variance times the fan.
        scale: f32,
        /// The fan to divide by.
        mode: FanMode,
        /// The distribution.
        distribution: Distribution,
        /// The op seed.
        seed: Option<u64>,
    },
}

impl Default for Initializer {
    fn default() -> Self {
        Initializer::GlorotUniform { seed: None }
    }
}

/// TensorFlow's fans of a weight shape: a matrix `[in, out]`; a convolution's kernel
/// `[..., in, out]` times its receptive field.
fn fans(shape: &[usize]) -> (f32, f32) {
    match shape {
        [] => (1.0, 1.0),
        [n] => (*n as f32, *n as f32),
        [rest @ .., fin, fout] => {
            let field: usize = rest.iter().product();
            ((fin * field) as f32, (fout * field) as f32)
        }
    }
}

impl Initializer {
    /// The initial value of a float32 variable of `shape`, built in `g` (in the current
    /// scope).
    pub fn build(&self, g: &Graph, shape: &[usize]) -> Result<Tensor> {
        let variance_scaling = |scale: f32, mode, distribution, seed| {
            let (fan_in, fan_out) = fans(shape);
            let fan = match mode {
                FanMode::FanIn => fan_in,
                FanMode::FanOut => fan_out,
                FanMode::FanAvg => (fan_in + fan_out) / 2.0,
            };
            let scale = scale / fan.max(1.0);
            match distribution {
                // The stddev of a unit normal truncated to [-2, 2].
                Distribution::TruncatedNormal => {
                    truncated_normal(g, shape, 0.0, scale.sqrt() / 0.879_625_7, seed)
                }
                Distribution::UntruncatedNormal => random_normal(g, shape, 0.0, scale.sqrt(), seed),
                Distribution::Uniform => {
                    let limit = (3.0 * scale).sqrt();
                    random_uniform(g, shape, -limit, limit, seed)
                }
            }
        };
        match *self {
            Initializer::GlorotUniform { seed } => {
                variance_scaling(1.0, FanMode::FanAvg, Distribution::Uniform, seed)
            }
            Initializer::GlorotNormal { seed } => {
                variance_scaling(1.0, FanMode::FanAvg, Distribution::TruncatedNormal, seed)
            }
            Initializer::Zeros => fill(g, shape, 0f32, "zeros"),
            Initializer::Ones => fill(g, shape, 1f32, "ones"),
            Initializer::Constant(v) => fill(g, shape, v, "Const"),
            Initializer::TruncatedNormal { mean, stddev, seed } => {
                truncated_normal(g, shape, mean, stddev, seed)
            }
            Initializer::RandomNormal { mean, stddev, seed } => {
                random_normal(g, shape, mean, stddev, seed)
            }
            Initializer::RandomUniform {
                minval,
                maxval,
                seed,
            } => random_uniform(g, shape, minval, maxval, seed),
            Initializer::VarianceScaling {
                scale,
                mode,
                distribution,
                seed,
            } => variance_scaling(scale, mode, distribution, seed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fans;

    #[test]
    fn fans_follow_tensorflow() {
        assert_eq!(fans(&[784, 128]), (784.0, 128.0));
        assert_eq!(fans(&[5, 5, 32, 64]), (800.0, 1600.0));
        assert_eq!(fans(&[10]), (10.0, 10.0));
        assert_eq!(fans(&[]), (1.0, 1.0));
    }
}
