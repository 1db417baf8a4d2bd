//! `random_normal`: values from a normal distribution.

use crate::random::generator::{add_random, attrs, check_normal, sample};
use rand::Rng;
use rand_distr::StandardNormal;
use rustflow_graph::{
    not_differentiable, GradContext, Graph, KernelContext, Op, OpKind, Result, Tensor, Value,
};

/// The `RandomStandardNormal` op (with TensorFlow's scale and shift folded in).
#[derive(Debug)]
pub struct RandomNormal {
    shape: Vec<usize>,
    mean: f32,
    stddev: f32,
    seed: u64,
}

impl Op for RandomNormal {
    fn op_type(&self) -> &'static str {
        "RandomStandardNormal"
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        not_differentiable(gc)
    }
    fn kind(&self) -> OpKind {
        OpKind::Stateful
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        sample(ctx, &self.shape, self.seed, |rng| {
            self.mean + self.stddev * rng.sample::<f32, _>(StandardNormal)
        })
    }
    fn attrs(&self) -> String {
        attrs(&self.shape, [("mean", self.mean), ("stddev", self.stddev)])
    }
}

/// A float32 tensor of `shape` drawn from the normal distribution with `mean` and `stddev`
/// (`tf.random_normal`; node name `random_normal`). Seeds and sessions behave as for
/// [`crate::truncated_normal`]. `stddev` must be finite and non-negative.
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::random_normal;
/// let g = Graph::new();
/// let z = random_normal(&g, &[3, 4], 1.0, 2.0, Some(7)).unwrap();
/// assert_eq!(z.shape().to_string(), "[3,4]");
/// ```
pub fn random_normal(
    g: &Graph,
    shape: &[usize],
    mean: f32,
    stddev: f32,
    seed: Option<u64>,
) -> Result<Tensor> {
    let (name, op) = ("random_normal", "RandomStandardNormal");
    check_normal(g, name, op, mean, stddev)?;
    add_random(g, name, op, shape, seed, |seed| RandomNormal {
        shape: shape.to_vec(),
        mean,
        stddev,
        seed,
    })
}
