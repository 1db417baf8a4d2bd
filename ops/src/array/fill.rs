//! `fill_tensor`: a tensor of a given shape filled with a scalar tensor's value.

use crate::array::common::dispatch;
use crate::math::reduce_sum;
use crate::util::{add1, shape_error};
use rustflow_graph::{
    fmt_dims, Error, GradContext, KernelContext, Op, Result, Shape, Tensor, TensorSpec, Value,
};

/// The `Fill` op: input 0 the scalar value.
#[derive(Debug)]
pub struct Fill {
    dims: Vec<usize>,
}

impl Op for Fill {
    fn op_type(&self) -> &'static str {
        "Fill"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let v = ctx.input(0);
        if !v.shape().is_empty() {
            return Err(Error::Kernel(format!(
                "value must be a scalar, got shape {}",
                fmt_dims(v.shape())
            )));
        }
        ctx.check_output(v.dtype(), &self.dims)?;
        Ok(vec![dispatch!(v.dtype(), T => Value::filled(
            &self.dims,
            v.as_slice::<T>()?[0],
        )?)])
    }
    /// The sum of the upstream.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(reduce_sum(gc.dy(0), None, false)?)])
    }
    fn attrs(&self) -> String {
        format!("dims={:?}", self.dims)
    }
}

/// A tensor of shape `dims` whose every element is the scalar tensor `value`
/// (`tf.fill(dims, value)`; op `Fill`). Unlike [`crate::fill`], which stores a constant, the
/// value is computed at run time and gets a gradient (the sum of the upstream).
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{fill_tensor, placeholder};
/// let g = Graph::new();
/// let v = placeholder(&g, DType::F32, shape![], "v");
/// assert_eq!(fill_tensor(&[2, 3], &v).unwrap().shape().to_string(), "[2,3]");
/// let not_scalar = placeholder(&g, DType::F32, shape![2], "w");
/// assert!(fill_tensor(&[2, 3], &not_scalar).is_err());
/// ```
pub fn fill_tensor(dims: &[usize], value: &Tensor) -> Result<Tensor> {
    let g = value.graph();
    if value.shape().rank().is_some_and(|r| r != 0) {
        return Err(shape_error(
            g,
            "Fill",
            "Fill",
            "Shape must be rank 0".into(),
            &[value],
        ));
    }
    add1(
        g,
        "Fill",
        Fill {
            dims: dims.to_vec(),
        },
        &[value],
        TensorSpec::new(value.dtype(), Shape::known(dims)),
    )
}
