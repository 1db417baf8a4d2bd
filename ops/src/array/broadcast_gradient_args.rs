//! `broadcast_gradient_args`: the axes along which each of two broadcast operands' gradients
//! must be summed (TensorFlow's gradient graphs compute them at run time).

use crate::array::common::index_values;
use crate::util::{add, expect_dtype};
use rustflow_graph::{
    not_differentiable, DType, Error, GradContext, KernelContext, Op, Result, Shape, Tensor,
    TensorSpec, Value,
};

/// The `BroadcastGradientArgs` op: inputs the shapes `s0`, `s1`; outputs the reduction
/// indices `r0`, `r1` (same integer type, no gradient).
#[derive(Debug)]
pub struct BroadcastGradientArgs;

/// `(r0, r1)` for shapes `s0` and `s1`, or TensorFlow's message when they do not broadcast.
fn reduction_indices(s0: &[i64], s1: &[i64]) -> Result<(Vec<i64>, Vec<i64>)> {
    if s0 == s1 {
        return Ok((vec![], vec![]));
    }
    let n = s0.len().max(s1.len());
    let dim = |s: &[i64], j: usize| {
        if j + s.len() < n {
            1
        } else {
            s[j + s.len() - n]
        }
    };
    let (mut r0, mut r1) = (vec![], vec![]);
    for j in 0..n {
        let (a, b) = (dim(s0, j), dim(s1, j));
        let j = j as i64;
        match (a, b) {
            (1, 1) => {
                r0.push(j);
                r1.push(j);
            }
            _ if a == b => {}
            (1, _) => r0.push(j),
            (_, 1) => r1.push(j),
            _ => {
                return Err(Error::Kernel(format!(
                    "Incompatible shapes: {s0:?} vs. {s1:?}"
                )))
            }
        }
    }
    Ok((r0, r1))
}

impl Op for BroadcastGradientArgs {
    fn op_type(&self) -> &'static str {
        "BroadcastGradientArgs"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let dtype = ctx.input(0).dtype();
        let (r0, r1) =
            reduction_indices(&index_values(ctx.input(0))?, &index_values(ctx.input(1))?)?;
        let out = |r: Vec<i64>| match dtype {
            DType::I64 => Value::new(&[r.len()], r),
            _ => Value::new(&[r.len()], r.iter().map(|&d| d as i32).collect()),
        };
        Ok(vec![out(r0)?, out(r1)?])
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        not_differentiable(gc)
    }
}

/// The axes to sum the gradient of a broadcast binary op over, for each operand, given the
/// operands' shapes `s0` and `s1` (int32 or int64 vectors): the axes of the broadcast shape
/// where an operand has size 1 or no dimension (`tf.raw_ops.BroadcastGradientArgs`).
///
/// ```
/// use rustflow_graph::{DType, Graph, Value};
/// use rustflow_ops::{broadcast_gradient_args, constant};
/// let g = Graph::new();
/// let s0 = constant(&g, Value::new(&[2], vec![50i32, 1024]).unwrap(), "s0");
/// let s1 = constant(&g, Value::new(&[1], vec![1024i32]).unwrap(), "s1");
/// let (r0, r1) = broadcast_gradient_args(&s0, &s1).unwrap();
/// assert_eq!((r0.dtype(), r1.shape().to_string()), (DType::I32, "[?]".to_string()));
/// ```
pub fn broadcast_gradient_args(s0: &Tensor, s1: &Tensor) -> Result<(Tensor, Tensor)> {
    let g = s0.graph();
    let name = "BroadcastGradientArgs";
    let dtype = expect_dtype(g, name, name, s0, &[DType::I32, DType::I64])?;
    expect_dtype(g, name, name, s1, &[dtype])?;
    let spec = || TensorSpec::new(dtype, Shape::new(vec![None]));
    let op = add(
        g,
        name,
        BroadcastGradientArgs,
        &[s0, s1],
        vec![spec(), spec()],
    )?;
    Ok((op.output(0)?, op.output(1)?))
}

#[cfg(test)]
mod tests {
    use super::reduction_indices;

    /// TensorFlow 2.21's answers (`tf.raw_ops.BroadcastGradientArgs`).
    /// Shapes `s0`, `s1` and the expected `r0`, `r1`.
    type Case<'a> = (&'a [i64], &'a [i64], &'a [i64], &'a [i64]);

    #[test]
    fn tensorflows_reduction_indices() {
        let cases: &[Case] = &[
            (&[1, 2], &[1, 2], &[], &[]),
            (&[2, 3], &[3], &[], &[0]),
            (&[1, 1], &[1], &[0, 1], &[0, 1]),
            (&[], &[2, 1], &[0, 1], &[1]),
            (&[5, 1, 3], &[4, 1], &[1], &[0, 2]),
        ];
        for &(a, b, r0, r1) in cases {
            assert_eq!(reduction_indices(a, b).unwrap(), (r0.to_vec(), r1.to_vec()));
        }
        let e = reduction_indices(&[2], &[3]).unwrap_err().to_string();
        assert!(e.contains("Incompatible shapes: [2] vs. [3]"), "{e}");
    }
}
