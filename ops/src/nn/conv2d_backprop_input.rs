//! `Conv2DBackpropInput`: the gradient of `conv2d` with respect to its input.

use crate::kernels::conv::conv2d_backprop_input as kernel;
use crate::nn::conv2d::{conv_static, conv_window};
use crate::nn::padding::Padding;
use crate::util::{add1, shape_error};
use rustflow_graph::{fmt_dims, Error, KernelContext, Op, Result, Tensor, Value};

/// The `Conv2DBackpropInput` op: inputs (input, filter, out_backprop); the input is read only
/// for its run-time shape (TensorFlow passes `input_sizes`).
#[derive(Debug)]
pub struct Conv2DBackpropInput {
    strides: (usize, usize),
    padding: Padding,
}

/// Checks that `dy` has the shape the convolution's output would have.
pub(crate) fn check_out_backprop(dy: &[usize], want: [usize; 4]) -> Result<()> {
    if dy == want {
        Ok(())
    } else {
        Err(Error::Kernel(format!(
            "out_backprop has shape {} but the convolution's output has shape {}",
            fmt_dims(dy),
            fmt_dims(&want)
        )))
    }
}

impl Op for Conv2DBackpropInput {
    fn op_type(&self) -> &'static str {
        "Conv2DBackpropInput"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let (x, f, dy) = (ctx.input(0), ctx.input(1), ctx.input(2));
        let (win, co) = conv_window(x.shape(), f.shape(), self.strides, self.padding)?;
        check_out_backprop(dy.shape(), [win.n, win.oh, win.ow, co])?;
        let mut dx = vec![0f32; x.len()];
        kernel(dy.as_slice()?, f.as_slice()?, &win, co, &mut dx);
        Ok(vec![Value::new(x.shape(), dx)?])
    }
    fn attrs(&self) -> String {
        format!(
            "strides=[1,{},{},1], padding={}",
            self.strides.0, self.strides.1, self.padding
        )
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

/// The gradient of [`crate::nn::conv2d`]`(input, filter, strides, padding)` with respect to
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
    let g = input.graph();
    g.check_owns(out_backprop.graph(), &out_backprop.to_string())?;
    let (s, out) = conv_static(name, name, input, filter, strides, padding)?;
    crate::util::same_dtype(g, name, name, &[input, filter, out_backprop])?;
    if !out.is_compatible(&out_backprop.shape()) {
        return Err(shape_error(
            g,
            name,
            name,
            format!("out_backprop must have the convolution's output shape {out}"),
            &[input, filter, out_backprop],
        ));
    }
    add1(
        g,
        name,
        Conv2DBackpropInput {
            strides: s,
            padding,
        },
        &[input, filter, out_backprop],
        input.spec(),
    )
}
