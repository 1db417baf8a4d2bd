//! `random_normal`: values from a normal distribution.

use crate::random::generator::{check_finite, checked_count, with_rng};
use crate::util::{add1, arg_error};
use rand::Rng;
use rand_distr::StandardNormal;
use rustflow_graph::{DType, Graph, KernelContext, Op, OpKind, Result, Tensor, TensorSpec, Value};

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
    fn kind(&self) -> OpKind {
        OpKind::Stateful
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let n: usize = self.shape.iter().product();
        let data = with_rng(ctx, self.seed, |rng| {
            (0..n)
                .map(|_| self.mean + self.stddev * rng.sample::<f32, _>(StandardNormal))
                .collect()
        })?;
        Ok(vec![Value::new(&self.shape, data)?])
    }
    fn attrs(&self) -> String {
        format!(
            "shape={:?}, mean={}, stddev={}",
            self.shape, self.mean, self.stddev
        )
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
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
    check_finite(g, name, op, &[("mean", mean), ("stddev", stddev)])?;
    if stddev < 0.0 {
        return Err(arg_error(
            g,
            name,
            op,
            format!("stddev must be non-negative, got {stddev}"),
        ));
    }
    checked_count(g, name, op, shape)?;
    let seed = g.random_op_seed(seed);
    let spec = TensorSpec::new(DType::F32, shape.to_vec());
    add1(
        g,
        name,
        RandomNormal {
            shape: shape.to_vec(),
            mean,
            stddev,
            seed,
        },
        &[],
        spec,
    )
}
