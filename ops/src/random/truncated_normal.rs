//! `truncated_normal`: normal values, re-drawn when more than two standard deviations out.

use crate::random::generator::{add_random, attrs, check_normal, sample};
use rand::Rng;
use rand_distr::StandardNormal;
use rustflow_graph::{
    not_differentiable, GradContext, Graph, KernelContext, Op, OpKind, Result, Tensor, Value,
};

/// The `TruncatedNormal` op (with TensorFlow's scale and shift folded in).
#[derive(Debug)]
pub struct TruncatedNormal {
    shape: Vec<usize>,
    mean: f32,
    stddev: f32,
    seed: u64,
}

impl Op for TruncatedNormal {
    fn op_type(&self) -> &'static str {
        "TruncatedNormal"
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        not_differentiable(gc)
    }
    fn kind(&self) -> OpKind {
        OpKind::Stateful
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        sample(ctx, &self.shape, self.seed, |rng| loop {
            let z: f32 = rng.sample(StandardNormal);
            if z.abs() <= 2.0 {
                break self.mean + self.stddev * z;
            }
        })
    }
    fn attrs(&self) -> String {
        attrs(&self.shape, [("mean", self.mean), ("stddev", self.stddev)])
    }
}

/// A float32 tensor of `shape` drawn from the normal distribution with `mean` and `stddev`,
/// where values more than two standard deviations from the mean are re-drawn
/// (`tf.truncated_normal`; node name `truncated_normal`). Its standard deviation is about
/// `0.88 * stddev`.
///
/// Each run draws new values; the sequence belongs to the session, so a new session starts
/// it again. `seed` is the op seed: with it (or a graph seed, [`Graph::set_random_seed`]) the
/// values are reproducible; with neither, each op gets a fresh random stream. `stddev` must
/// be finite and non-negative.
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::truncated_normal;
/// let g = Graph::new();
/// let w = truncated_normal(&g, &[5, 5, 1, 32], 0.0, 0.1, None).unwrap();
/// assert_eq!(w.shape().to_string(), "[5,5,1,32]");
/// assert_eq!(w.op().name(), "truncated_normal");
/// assert!(truncated_normal(&g, &[2], 0.0, -1.0, None).is_err());
/// ```
pub fn truncated_normal(
    g: &Graph,
    shape: &[usize],
    mean: f32,
    stddev: f32,
    seed: Option<u64>,
) -> Result<Tensor> {
    let (name, op) = ("truncated_normal", "TruncatedNormal");
    check_normal(g, name, op, mean, stddev)?;
    add_random(g, name, op, shape, seed, |seed| TruncatedNormal {
        shape: shape.to_vec(),
        mean,
        stddev,
        seed,
    })
}
