//! `ReluGrad`: the gradient of `relu`, from its output.

use crate::math::kernels::PAR_CHUNK;
use crate::util::{add1, same_dtype, shape_error};
use crate::zeros_like;
use rayon::prelude::*;
use rustflow_graph::{fmt_dims, Error, GradContext, KernelContext, Op, Result, Tensor, Value};

/// Inputs `(dy, y)` with `y = relu(x)`; output `dy` where `y > 0` (equivalently `x > 0`)
/// and 0 elsewhere, so `relu'(0) = 0`. Computed in `dy`'s buffer when nothing else holds it.
#[derive(Debug)]
pub struct ReluGrad;

impl Op for ReluGrad {
    fn op_type(&self) -> &'static str {
        "ReluGrad"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let mut dy = ctx.take_input(0);
        let y = ctx.input(1);
        if y.shape() != dy.shape() {
            return Err(Error::Kernel(format!(
                "ReluGrad: gradients of shape {} and features of shape {} differ",
                fmt_dims(dy.shape()),
                fmt_dims(y.shape())
            )));
        }
        let ys = y.as_slice::<f32>()?;
        dy.data_mut::<f32>()?
            .par_chunks_mut(PAR_CHUNK)
            .zip(ys.par_chunks(PAR_CHUNK))
            .for_each(|(g, ys)| {
                for (g, &v) in g.iter_mut().zip(ys) {
                    if v <= 0.0 || v.is_nan() {
                        *g = 0.0;
                    }
                }
            });
        Ok(vec![dy])
    }
    /// Linear in `dy`: `d(dy) = relu_grad(ddx, y)`; `y` gets zeros (the mask is piecewise
    /// constant), as TensorFlow's `_ReluGradGrad`.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let ddx = gc.dy(0);
        Ok(vec![
            Some(relu_grad(ddx, gc.x(1))?),
            Some(zeros_like(gc.x(1))?),
        ])
    }
}

/// The gradient of `y = relu(x)` for the upstream `dy`: `dy` where `y > 0`, else 0.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{nn, placeholder};
/// let g = Graph::new();
/// let dy = placeholder(&g, DType::F32, shape![?, 3], "dy");
/// let y = placeholder(&g, DType::F32, shape![?, 3], "y");
/// assert_eq!(nn::relu_grad(&dy, &y).unwrap().op().op_type(), "ReluGrad");
/// ```
pub fn relu_grad(dy: &Tensor, y: &Tensor) -> Result<Tensor> {
    let g = dy.graph();
    g.check_owns(y.graph(), &y.to_string())?;
    same_dtype(g, "ReluGrad", "ReluGrad", &[dy, y])?;
    let shape = dy.shape().merge(&y.shape()).ok_or_else(|| {
        let msg = "Gradients and features must have the same shape".to_string();
        shape_error(g, "ReluGrad", "ReluGrad", msg, &[dy, y])
    })?;
    add1(
        g,
        "ReluGrad",
        ReluGrad,
        &[dy, y],
        rustflow_graph::TensorSpec::new(dy.dtype(), shape),
    )
}
