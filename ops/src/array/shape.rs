//! `shape`: a tensor's run-time shape as an int32 (or int64) vector.

use crate::util::add1;
use rustflow_graph::{
    not_differentiable, DType, Error, GradContext, KernelContext, Op, Result, Tensor, TensorSpec,
    Value,
};

/// The `Shape` op.
#[derive(Debug)]
pub struct ShapeOp {
    out_type: DType,
}

/// The dims of `dims` as a vector value of `dtype` (int32 or int64).
pub(crate) fn shape_value(dims: &[usize], dtype: DType) -> Result<Value> {
    match dtype {
        DType::I64 => Value::new(&[dims.len()], dims.iter().map(|&d| d as i64).collect()),
        _ => Value::new(
            &[dims.len()],
            dims.iter()
                .map(|&d| {
                    i32::try_from(d)
                        .map_err(|_| Error::Kernel(format!("dimension {d} does not fit in int32")))
                })
                .collect::<Result<Vec<_>>>()?,
        ),
    }
}

impl Op for ShapeOp {
    fn op_type(&self) -> &'static str {
        "Shape"
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        not_differentiable(gc)
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        Ok(vec![shape_value(ctx.input(0).shape(), self.out_type)?])
    }
    fn attrs(&self) -> String {
        format!("out_type={}", self.out_type)
    }
}

/// The shape of `x` at run time (`tf.shape(x, out_type)`; node `Shape`); `out_type` is
/// int32 or int64.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{placeholder, shape_of};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 784], "x");
/// assert_eq!(shape_of(&x, DType::I32).unwrap().shape().to_string(), "[2]");
/// ```
pub fn shape_of(x: &Tensor, out_type: DType) -> Result<Tensor> {
    let g = x.graph();
    if !matches!(out_type, DType::I32 | DType::I64) {
        return Err(crate::util::arg_error(
            g,
            "Shape",
            "Shape",
            format!("out_type must be int32 or int64, got {out_type}"),
        ));
    }
    let rank = x.shape().rank();
    let spec = TensorSpec::new(out_type, rustflow_graph::Shape::new(vec![rank]));
    add1(g, "Shape", ShapeOp { out_type }, &[x], spec)
}
