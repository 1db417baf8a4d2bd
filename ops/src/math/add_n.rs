//! `add_n`: the sum of several tensors of one shape (how gradient paths are summed).

use crate::util::{add1, same_dtype, shape_error};
use rustflow_graph::{Error, GradContext, KernelContext, Op, Result, Tensor, Value};

/// The `AddN` op.
#[derive(Debug)]
pub struct AddN;

impl Op for AddN {
    fn op_type(&self) -> &'static str {
        "AddN"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let mut acc = ctx.take_input(0);
        let xs: Vec<&Value> = ctx.inputs[1..].iter().collect();
        if let Some(x) = xs.iter().find(|x| x.shape() != acc.shape()) {
            return Err(Error::Kernel(format!(
                "AddN inputs must have one shape: {:?} vs {:?}",
                acc.shape(),
                x.shape()
            )));
        }
        crate::math::kernels::accumulate_all(&mut acc, &xs, 1)?;
        Ok(vec![acc])
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(gc.dy(0).clone()); gc.inputs.len()])
    }
}

/// The element-wise sum of `xs`, which must share dtype and shape (`tf.add_n`).
pub fn add_n(xs: &[&Tensor]) -> Result<Tensor> {
    let Some(first) = xs.first() else {
        return Err(Error::Kernel("add_n needs at least one tensor".into()));
    };
    let g = first.graph();
    same_dtype(g, "AddN", "AddN", xs)?;
    let mut shape = first.shape();
    for x in &xs[1..] {
        shape = shape
            .merge(&x.shape())
            .ok_or_else(|| shape_error(g, "AddN", "AddN", "Shapes must be equal".into(), xs))?;
    }
    add1(
        g,
        "AddN",
        AddN,
        xs,
        rustflow_graph::TensorSpec::new(first.dtype(), shape),
    )
}
