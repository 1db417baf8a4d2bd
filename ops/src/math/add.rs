//! `add` (`+`) with NumPy broadcasting.

use crate::broadcast_grad;
use crate::math::binary::{binary_builder, binary_capability, binary_kernel, BinaryKind};
use rustflow_graph::{Capability, GradContext, KernelContext, Op, Result, Tensor, Value};

/// The `Add` op.
#[derive(Debug)]
pub struct Add;

impl Op for Add {
    fn op_type(&self) -> &'static str {
        "Add"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        binary_kernel(ctx, BinaryKind::Add)
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let dy = gc.dy(0);
        Ok(vec![
            Some(broadcast_grad(dy, gc.x(0), gc.x(1))?),
            Some(broadcast_grad(dy, gc.x(1), gc.x(0))?),
        ])
    }
    fn capability(&self) -> Capability {
        binary_capability(BinaryKind::Add)
    }
}

/// `a + b`, broadcasting as NumPy does (`tf.add`; node name `add`).
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{add, constant};
/// let g = Graph::new();
/// let y = add(&constant(&g, [[1.0f32, 2.0]], ""), &constant(&g, 1.0f32, "")).unwrap();
/// assert_eq!(y.shape().to_string(), "[1,2]");
/// ```
pub fn add(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary_builder(a, b, "add", Add, BinaryKind::Add)
}
