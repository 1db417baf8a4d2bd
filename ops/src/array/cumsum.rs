//! `cumsum`: running sums along an axis.

use crate::array::common::{build_axis, outer_inner, run_axis};
use crate::util::{add1, expect_dtype};
use rustflow_graph::{DType, Element, GradContext, KernelContext, Op, Result, Tensor, Value};
use std::ops::Add;

/// The `Cumsum` op.
#[derive(Debug)]
pub struct Cumsum {
    axis: i64,
    exclusive: bool,
    reverse: bool,
}

impl Cumsum {
    fn run<T: Element + Add<Output = T>>(&self, x: &Value, axis: usize) -> Result<Value> {
        let src = x.as_slice::<T>()?;
        let n = x.shape()[axis];
        let (outer, inner) = outer_inner(x.shape(), axis);
        let mut out = vec![T::default(); src.len()];
        for o in 0..outer {
            for i in 0..inner {
                let at = |k: usize| (o * n + k) * inner + i;
                let mut acc = T::default();
                for step in 0..n {
                    let k = if self.reverse { n - 1 - step } else { step };
                    if self.exclusive {
                        out[at(k)] = acc;
                        acc = acc + src[at(k)];
                    } else {
                        acc = acc + src[at(k)];
                        out[at(k)] = acc;
                    }
                }
            }
        }
        Value::new(x.shape(), out)
    }
}

impl Op for Cumsum {
    fn op_type(&self) -> &'static str {
        "Cumsum"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let x = ctx.input(0);
        let axis = run_axis(self.axis, x.shape())?;
        Ok(vec![match x.dtype() {
            DType::I32 => self.run::<i32>(x, axis)?,
            DType::I64 => self.run::<i64>(x, axis)?,
            _ => self.run::<f32>(x, axis)?,
        }])
    }
    /// The running sum of the upstream in the other direction.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(cumsum(
            gc.dy(0),
            self.axis,
            self.exclusive,
            !self.reverse,
        )?)])
    }
    fn attrs(&self) -> String {
        format!(
            "axis={} exclusive={} reverse={}",
            self.axis, self.exclusive, self.reverse
        )
    }
}

/// The running sums of `x` along `axis` (`tf.cumsum(x, axis, exclusive, reverse)`; op
/// `Cumsum`): `exclusive` leaves each element out of its own sum (the first is 0), `reverse`
/// sums from the end.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{cumsum, placeholder};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 4], "x");
/// assert_eq!(cumsum(&x, 1, true, true).unwrap().shape().to_string(), "[?,4]");
/// assert!(cumsum(&x, 2, false, false).is_err());
/// ```
pub fn cumsum(x: &Tensor, axis: i64, exclusive: bool, reverse: bool) -> Result<Tensor> {
    let g = x.graph();
    expect_dtype(
        g,
        "Cumsum",
        "Cumsum",
        x,
        &[DType::F32, DType::I32, DType::I64],
    )?;
    build_axis(g, "Cumsum", "Cumsum", axis, x.shape().rank(), &[x])?;
    let op = Cumsum {
        axis,
        exclusive,
        reverse,
    };
    add1(g, "Cumsum", op, &[x], x.spec())
}
