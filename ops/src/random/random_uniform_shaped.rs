//! `random_uniform_shaped`: TensorFlow's `RandomUniform` node as graphs hold it, whose shape
//! is an input tensor computed at run time (`tf.random.uniform(tf.shape(x))` in dropout).

use crate::random::generator::sample;
use crate::util::{add1, expect_dtype};
use rand::Rng;
use rustflow_graph::{
    not_differentiable, DType, Dim, Error, GradContext, KernelContext, Op, OpKind, Result, Shape,
    Tensor, TensorSpec, Value,
};

/// The `RandomUniform` op with its shape as input 0: float32 values in `[0, 1)`.
#[derive(Debug)]
pub struct RandomUniformShaped {
    seed: u64,
}

impl Op for RandomUniformShaped {
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
        let shape = shape_input(ctx.input(0))?;
        sample(ctx, &shape, self.seed, |rng| rng.gen::<f32>())
    }
}

/// The dims held by a shape tensor (an int32 or int64 vector), or a kernel error.
pub(crate) fn shape_input(v: &Value) -> Result<Vec<usize>> {
    let dims: Vec<i64> = match v.dtype() {
        DType::I32 => v.as_slice::<i32>()?.iter().map(|&d| i64::from(d)).collect(),
        _ => v.as_slice::<i64>()?.to_vec(),
    };
    if v.shape().len() != 1 {
        return Err(Error::Kernel(format!(
            "shape must be a vector, got rank {}",
            v.shape().len()
        )));
    }
    dims.iter()
        .map(|&d| usize::try_from(d).map_err(|_| Error::Kernel(format!("negative dimension {d}"))))
        .collect()
}

/// Float32 values uniform in `[0, 1)` of the run-time shape `shape` (an int32 or int64
/// vector), seeded as [`crate::random_uniform`] with the op seed `seed`.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{placeholder, random_uniform_shaped, shape};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 3], "x");
/// let u = random_uniform_shaped(&shape(&x, DType::I32).unwrap(), None).unwrap();
/// assert_eq!(u.shape().to_string(), "[?,?]");
/// ```
pub fn random_uniform_shaped(shape: &Tensor, seed: Option<u64>) -> Result<Tensor> {
    let g = shape.graph();
    let name = "random_uniform/RandomUniform";
    expect_dtype(g, name, "RandomUniform", shape, &[DType::I32, DType::I64])?;
    let out = match shape.shape().dims() {
        Some([Some(n)]) => Shape::new(vec![None as Dim; *n]),
        _ => Shape::unknown(),
    };
    let seed = g.random_op_seed(seed);
    add1(
        g,
        name,
        RandomUniformShaped { seed },
        &[shape],
        TensorSpec::new(DType::F32, out),
    )
}
