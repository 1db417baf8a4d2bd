//! `greater`, `greater_equal`, `less`, `less_equal`, `not_equal`: element-wise comparisons
//! with NumPy broadcasting, as bool tensors.

use crate::util::{broadcast_dims, broadcast_shapes, for_each_broadcast, same_dtype, shape_error};
use rustflow_graph::{
    not_differentiable, Buffer, DType, Error, GradContext, KernelContext, Op, Result, Tensor,
    TensorSpec, Value,
};

/// Which comparison a [`Compare`] op makes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    /// `a > b` (`Greater`).
    Greater,
    /// `a >= b` (`GreaterEqual`).
    GreaterEqual,
    /// `a < b` (`Less`).
    Less,
    /// `a <= b` (`LessEqual`).
    LessEqual,
    /// `a != b` (`NotEqual`).
    NotEqual,
}

/// The comparison ops (`Greater`, `GreaterEqual`, `Less`, `LessEqual`, `NotEqual`): bool
/// output, no gradient.
#[derive(Debug)]
pub struct Compare(pub Comparison);

impl Comparison {
    fn apply<T: PartialOrd>(self, a: T, b: T) -> bool {
        match self {
            Comparison::Greater => a > b,
            Comparison::GreaterEqual => a >= b,
            Comparison::Less => a < b,
            Comparison::LessEqual => a <= b,
            Comparison::NotEqual => a != b,
        }
    }
}

fn compare_slices<T: PartialOrd + Copy>(
    c: Comparison,
    out: &[usize],
    (a, sa): (&[T], &[usize]),
    (b, sb): (&[T], &[usize]),
) -> Vec<bool> {
    let mut r = vec![false; out.iter().product()];
    for_each_broadcast(out, &[sa, sb], |k, o| r[k] = c.apply(a[o[0]], b[o[1]]));
    r
}

impl Op for Compare {
    fn op_type(&self) -> &'static str {
        match self.0 {
            Comparison::Greater => "Greater",
            Comparison::GreaterEqual => "GreaterEqual",
            Comparison::Less => "Less",
            Comparison::LessEqual => "LessEqual",
            Comparison::NotEqual => "NotEqual",
        }
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        not_differentiable(gc)
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let (a, b) = (ctx.input(0), ctx.input(1));
        let out = broadcast_dims(a.shape(), b.shape())?;
        let (sa, sb) = (a.shape(), b.shape());
        let r = match (a.buffer(), b.buffer()) {
            (Buffer::F32(x), Buffer::F32(y)) => compare_slices(self.0, &out, (x, sa), (y, sb)),
            (Buffer::I32(x), Buffer::I32(y)) => compare_slices(self.0, &out, (x, sa), (y, sb)),
            (Buffer::I64(x), Buffer::I64(y)) => compare_slices(self.0, &out, (x, sa), (y, sb)),
            (Buffer::Bool(x), Buffer::Bool(y)) if self.0 == Comparison::NotEqual => {
                compare_slices(self.0, &out, (x, sa), (y, sb))
            }
            _ => {
                return Err(Error::Kernel(format!(
                    "{} is not defined for {} and {}",
                    self.op_type(),
                    a.dtype(),
                    b.dtype()
                )))
            }
        };
        Ok(vec![Value::new(&out, r)?])
    }
}

/// `a <op> b` element-wise as a bool tensor, broadcasting (`tf.greater`, `tf.greater_equal`,
/// `tf.less`, `tf.less_equal`, `tf.not_equal`). Both inputs must have the same dtype.
///
/// ```
/// use rustflow_graph::{DType, Graph};
/// use rustflow_ops::{compare, constant, Comparison};
/// let g = Graph::new();
/// let c = compare(&constant(&g, [1.0f32, 3.0], ""), &constant(&g, 2.0f32, ""), Comparison::GreaterEqual).unwrap();
/// assert_eq!(c.dtype(), DType::Bool);
/// assert_eq!(c.op().op_type(), "GreaterEqual");
/// ```
pub fn compare(a: &Tensor, b: &Tensor, c: Comparison) -> Result<Tensor> {
    let g = a.graph();
    g.check_owns(b.graph(), &b.to_string())?;
    let op = Compare(c);
    let name = op.op_type();
    let dtype = same_dtype(g, name, name, &[a, b])?;
    if dtype == DType::String {
        return Err(shape_error(
            g,
            name,
            name,
            "strings cannot be compared".into(),
            &[a, b],
        ));
    }
    let shape = broadcast_shapes(&a.shape(), &b.shape())
        .map_err(|msg| shape_error(g, name, name, msg, &[a, b]))?;
    crate::util::add1(g, name, op, &[a, b], TensorSpec::new(DType::Bool, shape))
}
