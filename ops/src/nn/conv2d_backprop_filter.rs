//! `Conv2DBackpropFilter`: the gradient of `conv2d` with respect to its filter.

use crate::kernels::conv::conv2d_backprop_filter as kernel;
use crate::kernels::conv::ConvProblem;
use crate::nn::conv2d::{backprop_static, conv_attrs};
use crate::nn::padding::Padding;
use crate::nn::{conv2d, conv2d_backprop_input};
use crate::util::add1;
use rustflow_graph::{GradContext, KernelContext, Op, Result, Tensor, Value};

/// The `Conv2DBackpropFilter` op: inputs (input, filter, out_backprop); the filter is read
/// only for its run-time shape (TensorFlow passes `filter_sizes`).
#[derive(Debug)]
pub struct Conv2DBackpropFilter {
    strides: (usize, usize),
    padding: Padding,
}

impl Op for Conv2DBackpropFilter {
    fn op_type(&self) -> &'static str {
        "Conv2DBackpropFilter"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let (x, f, dy) = (ctx.input(0), ctx.input(1), ctx.input(2));
        let p = ConvProblem::new(
            x.shape(),
            f.shape(),
            self.strides,
            self.padding,
            ctx.options(),
        )?;
        p.check_out_backprop(dy.shape())?;
        let mut df = ctx.output_f32(f.len());
        kernel(&p, x.as_slice()?, dy.as_slice()?, &mut df);
        Ok(vec![Value::new(f.shape(), df)?])
    }
    /// Bilinear in (input, out_backprop): with `g` the upstream filter gradient,
    /// `d(input) = conv2d_backprop_input(input, g, out_backprop)` and
    /// `d(out_backprop) = conv2d(input, g)`; the filter, read for its shape only, gets none.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let (x, dy, g) = (gc.x(0), gc.x(2), gc.dy(0));
        let strides = [1, self.strides.0, self.strides.1, 1];
        Ok(vec![
            Some(conv2d_backprop_input(x, g, dy, strides, self.padding)?),
            None,
            Some(conv2d(x, g, strides, self.padding)?),
        ])
    }
    fn attrs(&self) -> String {
        conv_attrs(self.strides, self.padding)
    }
}

/// The gradient of [`crate::nn::conv2d()`]`(input, filter, strides, padding)` with respect to
/// `filter`, given the gradient `out_backprop` of its output (`tf.nn.conv2d_backprop_filter`,
/// with `filter` standing for `filter_sizes`: only its shape is used). The result has
/// `filter`'s shape: `im2col(input)ᵀ · out_backprop`.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::nn::{conv2d_backprop_filter, Padding};
/// use rustflow_ops::placeholder;
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 28, 28, 1], "x");
/// let w = placeholder(&g, DType::F32, shape![5, 5, 1, 32], "w");
/// let dy = placeholder(&g, DType::F32, shape![?, 28, 28, 32], "dy");
/// let dw = conv2d_backprop_filter(&x, &w, &dy, [1, 1, 1, 1], Padding::Same).unwrap();
/// assert_eq!(dw.shape().to_string(), "[5,5,1,32]");
/// ```
pub fn conv2d_backprop_filter(
    input: &Tensor,
    filter: &Tensor,
    out_backprop: &Tensor,
    strides: [usize; 4],
    padding: Padding,
) -> Result<Tensor> {
    let name = "Conv2DBackpropFilter";
    let s = backprop_static(name, input, filter, out_backprop, strides, padding)?;
    add1(
        input.graph(),
        name,
        Conv2DBackpropFilter {
            strides: s,
            padding,
        },
        &[input, filter, out_backprop],
        filter.spec(),
    )
}
