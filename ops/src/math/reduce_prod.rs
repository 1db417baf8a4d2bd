//! `reduce_prod`, and `ProdGrad`, its gradient.

use crate::kernels::strided::for_each_offset;
use crate::math::reduce::{
    final_shape, kept_strides, reduce_builder, reduce_kernel, resolve_run, Axes,
};
use crate::util::add1;
use rustflow_graph::{
    fmt_dims, DType, Error, GradContext, KernelContext, Op, Result, Tensor, Value,
};

/// The `Prod` op.
#[derive(Debug)]
pub struct Prod {
    axes: Axes,
    keep_dims: bool,
}

impl Op for Prod {
    fn op_type(&self) -> &'static str {
        "Prod"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let x = ctx.input(0);
        let axes = resolve_run(&self.axes, x)?;
        let shape = |kept: &[usize]| final_shape(kept, &axes, self.keep_dims);
        let v = match x.dtype() {
            DType::F32 => {
                let (kept, d) = reduce_kernel(x, &axes, 1f32, |a, b| a * b)?;
                Value::new(&shape(&kept), d)?
            }
            DType::I32 => {
                let (kept, d) = reduce_kernel(x, &axes, 1i32, i32::wrapping_mul)?;
                Value::new(&shape(&kept), d)?
            }
            DType::I64 => {
                let (kept, d) = reduce_kernel(x, &axes, 1i64, i64::wrapping_mul)?;
                Value::new(&shape(&kept), d)?
            }
            d => return Err(Error::Kernel(format!("reduce_prod is not defined for {d}"))),
        };
        Ok(vec![v])
    }
    /// Each element gets the upstream times the product of the other elements of its slice
    /// (computed without dividing, so a zero element gets the product of the rest).
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let x = gc.x(0);
        let op = ProdGrad {
            axes: self.axes.clone(),
        };
        Ok(vec![Some(add1(
            gc.graph,
            "ProdGrad",
            op,
            &[gc.dy(0), x],
            x.spec(),
        )?)])
    }
    fn attrs(&self) -> String {
        format!("axis={:?}, keep_dims={}", self.axes, self.keep_dims)
    }
}

/// Inputs `(dy, x)`: `dx[i] = dy[slice of i] * product of the other elements of that slice`
/// (TensorFlow's exclusive cumulative products from both sides).
#[derive(Debug)]
pub struct ProdGrad {
    axes: Axes,
}

impl Op for ProdGrad {
    fn op_type(&self) -> &'static str {
        "ProdGrad"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let (dy, x) = (ctx.input(0), ctx.input(1));
        let axes = resolve_run(&self.axes, x)?;
        let shape = x.shape();
        let (strides, s) = kept_strides(shape, &axes);
        let (g, xs) = (dy.as_slice::<f32>()?, x.as_slice::<f32>()?);
        if g.len() != s {
            return Err(Error::Kernel(format!(
                "reduce_prod gradient: upstream {} does not fit input shape {}",
                fmt_dims(dy.shape()),
                fmt_dims(shape)
            )));
        }
        let mut slices = vec![vec![]; s];
        for_each_offset(shape, &strides, |i, o| slices[o].push(i));
        let mut dx = vec![0f32; xs.len()];
        for (o, idx) in slices.iter().enumerate() {
            // Products of the elements before (`left`) and after each one.
            let mut left = 1f32;
            for &i in idx {
                dx[i] = left;
                left *= xs[i];
            }
            let mut right = 1f32;
            for &i in idx.iter().rev() {
                dx[i] *= right * g[o];
                right *= xs[i];
            }
        }
        Ok(vec![Value::new(shape, dx)?])
    }
    fn attrs(&self) -> String {
        format!("axis={:?}", self.axes)
    }
}

/// The product over `axis` (`tf.reduce_prod(x, axis, keepdims)`; node `Prod`); `None`
/// multiplies everything.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{placeholder, reduce_prod};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 10], "x");
/// assert_eq!(reduce_prod(&x, 1, false).unwrap().shape().to_string(), "[?]");
/// ```
pub fn reduce_prod(x: &Tensor, axis: impl Into<Axes>, keep_dims: bool) -> Result<Tensor> {
    let axes = axis.into();
    let op = Prod {
        axes: axes.clone(),
        keep_dims,
    };
    reduce_builder(x, &axes, keep_dims, "Prod", op)
}
