//! `conv2d`: 2-D convolution of an NHWC input with an HWIO filter.

use crate::fusion::ConvAttrs;
use crate::kernels::conv::{conv2d_forward, ConvProblem};
use crate::nn::padding::{nhwc_dims, spatial_attr, Padding};
use crate::nn::{conv2d_backprop_filter, conv2d_backprop_input};
use crate::util::{add1, arg_error, expect_dtype, same_dtype, shape_error};
use rustflow_graph::{
    fmt_dims, Capability, DType, Error, GradContext, KernelContext, Op, Result, Shape, Tensor,
    TensorSpec, Value,
};

/// The `Conv2D` op.
#[derive(Debug)]
pub struct Conv2D {
    strides: (usize, usize),
    padding: Padding,
}

/// The number of elements of `[n, oh, ow, co]`, or a kernel error if it overflows.
pub(crate) fn out_len(dims: &[usize]) -> Result<usize> {
    dims.iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| Error::Kernel(format!("output shape {} is too large", fmt_dims(dims))))
}

/// The attributes of a convolution op as printed in graph listings.
pub(crate) fn conv_attrs(strides: (usize, usize), padding: Padding) -> String {
    format!(
        "strides=[1,{},{},1], padding={}",
        strides.0, strides.1, padding
    )
}

impl Op for Conv2D {
    fn op_type(&self) -> &'static str {
        "Conv2D"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let (x, f) = (ctx.input(0), ctx.input(1));
        let p = ConvProblem::new(
            x.shape(),
            f.shape(),
            self.strides,
            self.padding,
            ctx.options(),
        )?;
        let shape = p.out_shape();
        let mut y = ctx.output_f32(out_len(&shape)?);
        conv2d_forward(&p, x.as_slice()?, f.as_slice()?, &mut y, |_| {});
        Ok(vec![Value::new(&shape, y)?])
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let dy = gc.dy(0);
        let (x, f) = (gc.x(0), gc.x(1));
        let strides = [1, self.strides.0, self.strides.1, 1];
        Ok(vec![
            Some(conv2d_backprop_input(x, f, dy, strides, self.padding)?),
            Some(conv2d_backprop_filter(x, f, dy, strides, self.padding)?),
        ])
    }
    fn attrs(&self) -> String {
        conv_attrs(self.strides, self.padding)
    }
    fn capability(&self) -> Capability {
        Capability::Producer(Box::new(ConvAttrs {
            strides: self.strides,
            padding: self.padding,
        }))
    }
}

/// Checks what a convolution-shaped op needs at build time: float32 `x` and `f` of rank 4,
/// strides `[1, s, s, 1]`, and the input depth equal to the filter's `in_channels`.
/// Returns the strides and the static output shape `[n, oh, ow, co]`.
pub(crate) fn conv_static(
    name: &str,
    op: &str,
    x: &Tensor,
    f: &Tensor,
    strides: [usize; 4],
    padding: Padding,
) -> Result<((usize, usize), Shape)> {
    let g = x.graph();
    g.check_owns(f.graph(), &f.to_string())?;
    expect_dtype(g, name, op, x, &[DType::F32])?;
    same_dtype(g, name, op, &[x, f])?;
    let s = spatial_attr("strides", strides).map_err(|m| arg_error(g, name, op, m))?;
    let shape_err = |msg: String| shape_error(g, name, op, msg, &[x, f]);
    let [n, h, w, c] = nhwc_dims(&x.shape(), "the input").map_err(shape_err)?;
    let [kh, kw, ci, co] = nhwc_dims(&f.shape(), "the filter").map_err(shape_err)?;
    if let (Some(c), Some(ci)) = (c, ci) {
        if c != ci {
            return Err(shape_err(format!(
                "input depth must equal the filter's in_channels, but are {c} and {ci}"
            )));
        }
    }
    let size = |d, k: Option<usize>, s| match k {
        Some(k) => padding.static_size(d, k, s),
        None => Ok(None),
    };
    let oh = size(h, kh, s.0).map_err(|m| shape_err(format!("rows: {m}")))?;
    let ow = size(w, kw, s.1).map_err(|m| shape_err(format!("cols: {m}")))?;
    Ok((s, Shape::new(vec![n, oh, ow, co])))
}

/// Checks a gradient op of a convolution (`Conv2DBackpropInput`, `Conv2DBackpropFilter`;
/// inputs `input`, `filter`, `out_backprop`) at build time: the checks of [`conv_static`],
/// one graph and one dtype for all three, and `out_backprop` compatible with the
/// convolution's output shape. Returns the strides.
pub(crate) fn backprop_static(
    name: &str,
    input: &Tensor,
    filter: &Tensor,
    out_backprop: &Tensor,
    strides: [usize; 4],
    padding: Padding,
) -> Result<(usize, usize)> {
    let g = input.graph();
    g.check_owns(out_backprop.graph(), &out_backprop.to_string())?;
    let (s, out) = conv_static(name, name, input, filter, strides, padding)?;
    same_dtype(g, name, name, &[input, filter, out_backprop])?;
    if !out.is_compatible(&out_backprop.shape()) {
        return Err(shape_error(
            g,
            name,
            name,
            format!("out_backprop must have the convolution's output shape {out}"),
            &[input, filter, out_backprop],
        ));
    }
    Ok(s)
}

/// The 2-D convolution of `input` (`[batch, height, width, in_channels]`, NHWC) with `filter`
/// (`[filter_height, filter_width, in_channels, out_channels]`), moving by
/// `strides = [1, s_h, s_w, 1]` (`tf.nn.conv2d`; node name `Conv2D`).
///
/// The output is `[batch, out_height, out_width, out_channels]`, with the spatial sizes of
/// [`Padding::output_size`]. Wrong ranks, a stride of 0, strides along batch or depth, an
/// input depth other than the filter's `in_channels`, and a VALID window larger than a known
/// input are build-time errors.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::nn::{conv2d, Padding};
/// use rustflow_ops::placeholder;
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 28, 28, 1], "x");
/// let w = placeholder(&g, DType::F32, shape![5, 5, 1, 32], "w");
/// let y = conv2d(&x, &w, [1, 1, 1, 1], Padding::Same).unwrap();
/// assert_eq!(y.shape().to_string(), "[?,28,28,32]");
/// let y = conv2d(&x, &w, [1, 2, 2, 1], Padding::Valid).unwrap();
/// assert_eq!(y.shape().to_string(), "[?,12,12,32]");
/// let w3 = placeholder(&g, DType::F32, shape![5, 5, 3, 32], "w3");
/// assert!(conv2d(&x, &w3, [1, 1, 1, 1], Padding::Same).is_err());
/// ```
pub fn conv2d(
    input: &Tensor,
    filter: &Tensor,
    strides: [usize; 4],
    padding: Padding,
) -> Result<Tensor> {
    let name = "Conv2D";
    let (s, shape) = conv_static(name, name, input, filter, strides, padding)?;
    add1(
        input.graph(),
        name,
        Conv2D {
            strides: s,
            padding,
        },
        &[input, filter],
        TensorSpec::new(DType::F32, shape),
    )
}
