//! `Conv2DBackpropInput`: the gradient of `conv2d` with respect to its input.

use crate::kernels::conv::conv2d_backprop_input as kernel;
use crate::kernels::conv::ConvProblem;
use crate::nn::conv2d::{backprop_static, conv_attrs, out_len};
use crate::nn::padding::Padding;
use crate::nn::{conv2d, conv2d_backprop_filter};
use crate::util::add1;
use rustflow_graph::{DType, Error, GradContext, KernelContext, Op, Result, Tensor, Value};

/// The `Conv2DBackpropInput` op: inputs (input, filter, out_backprop); the input is read only
/// for its run-time shape, or is the int32 shape itself (TensorFlow's `input_sizes`, as
/// `conv2d_transpose` passes it).
#[derive(Debug)]
pub struct Conv2DBackpropInput {
    pub(crate) strides: (usize, usize),
    pub(crate) padding: Padding,
}

/// The input shape a `Conv2DBackpropInput` computes: the value of an int32 `input_sizes`
/// vector, or the shape of a float input.
fn input_sizes(x: &Value) -> Result<Vec<usize>> {
    if x.dtype() != DType::I32 {
        return Ok(x.shape().to_vec());
    }
    let v = x.as_slice::<i32>()?;
    v.iter()
        .map(|&d| usize::try_from(d))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|_| Error::Kernel(format!("input_sizes must not be negative, got {v:?}")))
}

impl Op for Conv2DBackpropInput {
    fn op_type(&self) -> &'static str {
        "Conv2DBackpropInput"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let (x, f, dy) = (ctx.input(0), ctx.input(1), ctx.input(2));
        let sizes = input_sizes(x)?;
        ctx.check_output(DType::F32, &sizes)?;
        let p = ConvProblem::new(&sizes, f.shape(), self.strides, self.padding, ctx.options())?;
        p.check_out_backprop(dy.shape())?;
        let mut dx = ctx.output_f32(out_len(&sizes)?);
        kernel(&p, dy.as_slice()?, f.as_slice()?, &mut dx);
        Ok(vec![Value::new(&sizes, dx)?])
    }
    /// Bilinear in (filter, out_backprop): with `g` the upstream input gradient,
    /// `d(filter) = conv2d_backprop_filter(g, filter, out_backprop)` and
    /// `d(out_backprop) = conv2d(g, filter)`; the input, read for its shape only, gets none.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let (f, dy, g) = (gc.x(1), gc.x(2), gc.dy(0));
        let strides = [1, self.strides.0, self.strides.1, 1];
        Ok(vec![
            None,
            Some(conv2d_backprop_filter(g, f, dy, strides, self.padding)?),
            Some(conv2d(g, f, strides, self.padding)?),
        ])
    }
    fn attrs(&self) -> String {
        conv_attrs(self.strides, self.padding)
    }
}

/// The gradient of [`crate::nn::conv2d()`]`(input, filter, strides, padding)` with respect to
/// `input`, given the gradient `out_backprop` of its output (`tf.nn.conv2d_backprop_input`,
/// with `input` standing for `input_sizes`: only its shape is used). The result has `input`'s
/// shape: `col2im(out_backprop · filterᵀ)`.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::nn::{conv2d_backprop_input, Padding};
/// use rustflow_ops::placeholder;
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 14, 14, 32], "x");
/// let w = placeholder(&g, DType::F32, shape![5, 5, 32, 64], "w");
/// let dy = placeholder(&g, DType::F32, shape![?, 14, 14, 64], "dy");
/// let dx = conv2d_backprop_input(&x, &w, &dy, [1, 1, 1, 1], Padding::Same).unwrap();
/// assert_eq!(dx.shape().to_string(), "[?,14,14,32]");
/// ```
pub fn conv2d_backprop_input(
    input: &Tensor,
    filter: &Tensor,
    out_backprop: &Tensor,
    strides: [usize; 4],
    padding: Padding,
) -> Result<Tensor> {
    let name = "Conv2DBackpropInput";
    let s = backprop_static(name, input, filter, out_backprop, strides, padding)?;
    add1(
        input.graph(),
        name,
        Conv2DBackpropInput {
            strides: s,
            padding,
        },
        &[input, filter, out_backprop],
        input.spec(),
    )
}
