//! `BiasAddGrad`: the bias gradient of `bias_add`, a sum over every dimension but the last.

use crate::nn::bias_add;
use crate::util::{add1, expect_dtype, shape_error};
use crate::zeros_like;
use rustflow_graph::{
    fmt_dims, DType, Error, GradContext, KernelContext, Op, Result, Shape, Tensor, TensorSpec,
    Value,
};

/// The `BiasAddGrad` op.
#[derive(Debug)]
pub struct BiasAddGrad;

impl Op for BiasAddGrad {
    fn op_type(&self) -> &'static str {
        "BiasAddGrad"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let dy = ctx.input(0);
        let Some(&c) = dy.shape().last().filter(|_| dy.shape().len() >= 2) else {
            return Err(Error::Kernel(format!(
                "Input tensor must be at least 2D: {}",
                fmt_dims(dy.shape())
            )));
        };
        let mut sum = vec![0f32; c];
        if c > 0 {
            for row in dy.as_slice::<f32>()?.chunks_exact(c) {
                for (s, &v) in sum.iter_mut().zip(row) {
                    *s += v;
                }
            }
        }
        Ok(vec![Value::new(&[c], sum)?])
    }
    /// Linear: the upstream bias gradient broadcast over `dy`'s shape (TensorFlow's
    /// `_BiasAddGradGrad` tiles it).
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(bias_add(&zeros_like(gc.x(0))?, gc.dy(0))?)])
    }
}

/// The bias gradient of [`crate::nn::bias_add()`]: `dy` (rank at least 2) summed over every
/// dimension but the last (`tf.raw_ops.BiasAddGrad`, NHWC).
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::nn::bias_add_grad;
/// use rustflow_ops::placeholder;
/// let g = Graph::new();
/// let dy = placeholder(&g, DType::F32, shape![?, 7, 7, 64], "dy");
/// assert_eq!(bias_add_grad(&dy).unwrap().shape().to_string(), "[64]");
/// ```
pub fn bias_add_grad(dy: &Tensor) -> Result<Tensor> {
    let name = "BiasAddGrad";
    let g = dy.graph();
    expect_dtype(g, name, name, dy, &[DType::F32])?;
    let s = dy.shape();
    let out = match s.dims() {
        None => Shape::unknown_dims(1),
        Some(d) if d.len() < 2 => {
            return Err(shape_error(
                g,
                name,
                name,
                format!("Shape must be at least rank 2 but is rank {}", d.len()),
                &[dy],
            ))
        }
        Some(d) => Shape::new(vec![d[d.len() - 1]]),
    };
    add1(
        g,
        name,
        BiasAddGrad,
        &[dy],
        TensorSpec::new(DType::F32, out),
    )
}
