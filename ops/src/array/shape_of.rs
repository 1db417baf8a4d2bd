//! `shape`, `size` and `rank`: a tensor's run-time shape, element count and rank.

use crate::util::{add1, arg_error};
use rustflow_graph::{
    not_differentiable, DType, GradContext, KernelContext, Op, Result, Shape, Tensor, TensorSpec,
    Value,
};

/// What [`ShapeOf`] reports.
#[derive(Clone, Copy, Debug)]
enum Of {
    Shape,
    Size,
    Rank,
}

/// The `Shape`, `Size` and `Rank` ops (int32 or int64 output; no gradient).
#[derive(Debug)]
pub struct ShapeOf {
    of: Of,
    dtype: DType,
}

impl Op for ShapeOf {
    fn op_type(&self) -> &'static str {
        match self.of {
            Of::Shape => "Shape",
            Of::Size => "Size",
            Of::Rank => "Rank",
        }
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let s = ctx.input(0).shape();
        let (shape, data): (Vec<usize>, Vec<i64>) = match self.of {
            Of::Shape => (vec![s.len()], s.iter().map(|&d| d as i64).collect()),
            Of::Size => (vec![], vec![s.iter().product::<usize>() as i64]),
            Of::Rank => (vec![], vec![s.len() as i64]),
        };
        Ok(vec![match self.dtype {
            DType::I32 => Value::new(&shape, data.iter().map(|&d| d as i32).collect())?,
            _ => Value::new(&shape, data)?,
        }])
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        not_differentiable(gc)
    }
}

fn build(x: &Tensor, of: Of, dtype: DType) -> Result<Tensor> {
    let g = x.graph();
    let op = ShapeOf { of, dtype };
    let name = op.op_type();
    if !matches!(dtype, DType::I32 | DType::I64) {
        return Err(arg_error(
            g,
            name,
            name,
            format!("out_type must be int32 or int64, not {dtype}"),
        ));
    }
    let shape = match of {
        Of::Shape => Shape::new(vec![x.shape().rank()]),
        _ => Shape::scalar(),
    };
    add1(g, name, op, &[x], TensorSpec::new(dtype, shape))
}

/// `x`'s run-time shape as a vector of `out_type` (int32 or int64) (`tf.shape(x)`; op
/// `Shape`).
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{placeholder, rank, shape, size};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 3], "x");
/// assert_eq!(shape(&x, DType::I32).unwrap().shape().to_string(), "[2]");
/// assert_eq!(size(&x, DType::I64).unwrap().shape().to_string(), "[]");
/// assert_eq!(rank(&x).unwrap().dtype(), DType::I32);
/// assert!(shape(&x, DType::F32).is_err());
/// ```
pub fn shape(x: &Tensor, out_type: DType) -> Result<Tensor> {
    build(x, Of::Shape, out_type)
}

/// `x`'s run-time element count as a scalar of `out_type` (`tf.size(x)`; op `Size`).
pub fn size(x: &Tensor, out_type: DType) -> Result<Tensor> {
    build(x, Of::Size, out_type)
}

/// `x`'s rank as an int32 scalar (`tf.rank(x)`; op `Rank`).
pub fn rank(x: &Tensor) -> Result<Tensor> {
    build(x, Of::Rank, DType::I32)
}
