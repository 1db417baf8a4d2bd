//! `random_uniform`: values uniform in `[minval, maxval)`.

use crate::random::generator::{check_finite, checked_count, with_rng};
use crate::util::{add1, arg_error};
use rand::Rng;
use rustflow_graph::{DType, Graph, KernelContext, Op, OpKind, Result, Tensor, TensorSpec, Value};

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
    fn kind(&self) -> OpKind {
        OpKind::Stateful
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let n: usize = self.shape.iter().product();
        let range = self.maxval - self.minval;
        let data = with_rng(ctx, self.seed, |rng| {
            (0..n)
                .map(|_| self.minval + range * rng.gen::<f32>())
                .collect()
        })?;
        Ok(vec![Value::new(&self.shape, data)?])
    }
    fn attrs(&self) -> String {
        format!(
            "shape={:?}, minval={}, maxval={}",
            self.shape, self.minval, self.maxval
        )
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
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
    checked_count(g, name, op, shape)?;
    let seed = g.random_op_seed(seed);
    let spec = TensorSpec::new(DType::F32, shape.to_vec());
    add1(
        g,
        name,
        RandomUniform {
            shape: shape.to_vec(),
            minval,
            maxval,
            seed,
        },
        &[],
        spec,
    )
}
