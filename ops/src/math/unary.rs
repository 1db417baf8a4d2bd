//! What the float element-wise ops (`neg`, `exp`, `log`, ...) share: the builder.

use crate::util::{add1, expect_dtype};
use rustflow_graph::{DType, Op, Result, Tensor};

/// Adds a float32 element-wise op named `name` on `x`; the output has `x`'s spec.
pub(crate) fn unary_builder(x: &Tensor, name: &str, op: impl Op) -> Result<Tensor> {
    expect_dtype(x.graph(), name, op.op_type(), x, &[DType::F32])?;
    add1(x.graph(), name, op, &[x], x.spec())
}
