//! `random_uniform`: values uniform in `[minval, maxval)`.

use crate::random::generator::{add_random, attrs, check_finite, sample};
use crate::util::arg_error;
use rand::Rng;
use rustflow_graph::{
    not_differentiable, GradContext, Graph, KernelContext, Op, OpKind, Result, Tensor, Value,
};

/// The `RandomUniform` op (with TensorFlow's scale and shift folded in).
#[derive(Debug)]
pub struct RandomUniform {
    shape: Vec<usize>,
    minval: f32,
    maxval: f32,
    seed: u64,
}

impl Op for RandomUniform {
    fn op_type(&self) -> &'static str {
        "RandomUniform"
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        not_differentiable(gc)
    }
    fn kind(&self) -> OpKind {
        OpKind::Stateful
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let range = self.maxval - self.minval;
        sample(ctx, &self.shape, self.seed, |rng| {
            self.minval + range * rng.gen::<f32>()
        })
    }
    fn attrs(&self) -> String {
        attrs(
            &self.shape,
            [("minval", self.minval), ("maxval", self.maxval)],
        )
    }
}

/// A float32 tensor of `shape` drawn uniformly from `[minval, maxval)`
/// (`tf.random_uniform`; node name `random_uniform`). Seeds and sessions behave as for
/// [`crate::truncated_normal`]. The bounds must be finite with `minval <= maxval`.
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::random_uniform;
/// let g = Graph::new();
/// let u = random_uniform(&g, &[10], -1.0, 1.0, None).unwrap();
/// assert_eq!(u.shape().to_string(), "[10]");
/// assert!(random_uniform(&g, &[10], 1.0, -1.0, None).is_err());
/// ```
pub fn random_uniform(
    g: &Graph,
    shape: &[usize],
    minval: f32,
    maxval: f32,
    seed: Option<u64>,
) -> Result<Tensor> {
    let (name, op) = ("random_uniform", "RandomUniform");
    check_finite(g, name, op, &[("minval", minval), ("maxval", maxval)])?;
    if minval > maxval {
        return Err(arg_error(
            g,
            name,
            op,
            format!("Need minval <= maxval, got {minval} > {maxval}"),
        ));
    }
    add_random(g, name, op, shape, seed, |seed| RandomUniform {
        shape: shape.to_vec(),
        minval,
        maxval,
        seed,
    })
}
