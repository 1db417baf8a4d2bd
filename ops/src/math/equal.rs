//! `equal`: element-wise comparison with NumPy broadcasting.

use crate::math::binary::{binary_builder, binary_kernel, BinaryKind};
use rustflow_graph::{not_differentiable, GradContext, KernelContext, Op, Result, Tensor, Value};

/// The `Equal` op (bool output, no gradient).
#[derive(Debug)]
pub struct Equal;

impl Op for Equal {
    fn op_type(&self) -> &'static str {
        "Equal"
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        not_differentiable(gc)
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        binary_kernel(ctx, BinaryKind::Equal)
    }
}

/// `a == b` element-wise as a bool tensor, broadcasting (`tf.equal`; node `Equal`). Both
/// inputs must have the same dtype. No gradient flows through it.
///
/// ```
/// use rustflow_graph::{DType, Graph};
/// use rustflow_ops::{constant, equal};
/// let g = Graph::new();
/// let e = equal(&constant(&g, [1i64, 2], ""), &constant(&g, [1i64, 3], "")).unwrap();
/// assert_eq!(e.dtype(), DType::Bool);
/// ```
pub fn equal(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    binary_builder(a, b, "Equal", Equal)
}
