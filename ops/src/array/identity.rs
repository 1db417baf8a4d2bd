//! `identity` and `stop_gradient`.

use crate::util::add1;
use rustflow_graph::{GradContext, KernelContext, Op, Result, Tensor, Value};

/// `Identity` (gradient passes through) and `StopGradient` (no gradient).
#[derive(Debug)]
pub struct Identity {
    stop: bool,
}

impl Op for Identity {
    fn op_type(&self) -> &'static str {
        if self.stop {
            "StopGradient"
        } else {
            "Identity"
        }
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        Ok(vec![ctx.take_input(0)])
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![if self.stop {
            None
        } else {
            Some(gc.dy(0).clone())
        }])
    }
}

/// The same value under a new node (`tf.identity`).
pub fn identity(x: &Tensor) -> Result<Tensor> {
    add1(
        x.graph(),
        "Identity",
        Identity { stop: false },
        &[x],
        x.spec(),
    )
}

/// The same value, through which no gradient flows (`tf.stop_gradient`).
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{constant, gradients, mul, stop_gradient};
/// let g = Graph::new();
/// let a = constant(&g, 2.0f32, "a");
/// let y = mul(&stop_gradient(&a).unwrap(), &a).unwrap();
/// assert!(gradients(&[&y], &[&a], None).unwrap()[0].is_some()); // through the second factor
/// ```
pub fn stop_gradient(x: &Tensor) -> Result<Tensor> {
    add1(
        x.graph(),
        "StopGradient",
        Identity { stop: true },
        &[x],
        x.spec(),
    )
}
