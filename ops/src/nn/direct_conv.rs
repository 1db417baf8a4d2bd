//! Convolutions computed by direct loops (`kernels/dilated.rs`): `Conv2D` with dilations and
//! `DepthwiseConv2dNative`, with their gradient ops, each of which has a gradient rule too.
//! The three passes are one op type here, as the three ops are one bilinear form.

use crate::kernels::dilated::{Geom, Kind};
use crate::nn::conv2d;
use crate::nn::conv2d::out_len;
use crate::nn::padding::{nhwc_dims, spatial_attr, Padding};
use crate::util::{add1, arg_error, expect_dtype, same_dtype, shape_error};
use rustflow_graph::{
    fmt_dims, DType, Error, GradContext, KernelContext, Op, Result, Shape, Tensor, TensorSpec,
    Value,
};

/// Which derivative of the bilinear form an op computes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pass {
    /// `y = conv(x, f)`; inputs (x, f).
    Forward,
    /// `dx`; inputs (x, read for its shape, f, dy).
    Input,
    /// `df`; inputs (x, f, read for its shape, dy).
    Filter,
}

/// A direct convolution op (see the module doc).
#[derive(Clone, Copy, Debug)]
pub struct DirectConv {
    kind: Kind,
    pass: Pass,
    strides: (usize, usize),
    dilations: (usize, usize),
    padding: Padding,
}

impl DirectConv {
    /// The run-time geometry for an input of shape `x` and a filter of shape `f`.
    fn geom(&self, x: &[usize], f: &[usize]) -> Result<Geom> {
        let err = |m: String| {
            Error::Kernel(format!(
                "{}: {m}: input {}, filter {}",
                self.op_type(),
                fmt_dims(x),
                fmt_dims(f)
            ))
        };
        let (&[n, h, w, c], &[kh, kw, fc, m]) = (x, f) else {
            return Err(err("input and filter must be 4-dimensional".into()));
        };
        if fc != c {
            return Err(err(format!(
                "input depth must equal the filter's in_channels, but are {c} and {fc}"
            )));
        }
        let (dh, dw) = self.dilations;
        let (sh, sw) = self.strides;
        let (oh, pad_top) = self
            .padding
            .output_size(h, span(kh, dh), sh)
            .map_err(|e| err(format!("rows: {e}")))?;
        let (ow, pad_left) = self
            .padding
            .output_size(w, span(kw, dw), sw)
            .map_err(|e| err(format!("cols: {e}")))?;
        Ok(Geom {
            n,
            h,
            w,
            c,
            kh,
            kw,
            m,
            strides: self.strides,
            dilations: self.dilations,
            oh,
            ow,
            pad_top,
            pad_left,
            kind: self.kind,
        })
    }

    fn with(&self, pass: Pass) -> DirectConv {
        DirectConv { pass, ..*self }
    }

    /// Adds this op's `pass` over `inputs` (as the pass takes them).
    fn build(&self, pass: Pass, inputs: &[&Tensor]) -> Result<Tensor> {
        let op = self.with(pass);
        let name = op.op_type();
        let (x, f) = (inputs[0], inputs[1]);
        let out = static_shape(name, self, x, f)?;
        let spec = match pass {
            Pass::Forward => TensorSpec::new(DType::F32, out),
            Pass::Input | Pass::Filter => {
                let dy = inputs[2];
                x.graph().check_owns(dy.graph(), &dy.to_string())?;
                same_dtype(x.graph(), name, name, inputs)?;
                if !out.is_compatible(&dy.shape()) {
                    let msg =
                        format!("out_backprop must have the convolution's output shape {out}");
                    return Err(shape_error(x.graph(), name, name, msg, inputs));
                }
                if pass == Pass::Input {
                    x.spec()
                } else {
                    f.spec()
                }
            }
        };
        add1(x.graph(), name, op, inputs, spec)
    }
}

/// The extent of `k` taps `d` apart (0 for no taps, which the padding rejects).
fn span(k: usize, d: usize) -> usize {
    if k == 0 {
        0
    } else {
        (k - 1) * d + 1
    }
}

/// Checks the input and filter at build time; returns the static output shape.
fn static_shape(name: &str, op: &DirectConv, x: &Tensor, f: &Tensor) -> Result<Shape> {
    let g = x.graph();
    g.check_owns(f.graph(), &f.to_string())?;
    expect_dtype(g, name, name, x, &[DType::F32])?;
    same_dtype(g, name, name, &[x, f])?;
    let err = |msg: String| shape_error(g, name, name, msg, &[x, f]);
    let [n, h, w, c] = nhwc_dims(&x.shape(), "the input").map_err(err)?;
    let [kh, kw, fc, m] = nhwc_dims(&f.shape(), "the filter").map_err(err)?;
    if let (Some(c), Some(fc)) = (c, fc) {
        if c != fc {
            return Err(err(format!(
                "input depth must equal the filter's in_channels, but are {c} and {fc}"
            )));
        }
    }
    let size = |d, k: Option<usize>, s, dil: usize| match k {
        Some(k) => op.padding.static_size(d, span(k, dil), s),
        None => Ok(None),
    };
    let oh = size(h, kh, op.strides.0, op.dilations.0).map_err(|m| err(format!("rows: {m}")))?;
    let ow = size(w, kw, op.strides.1, op.dilations.1).map_err(|m| err(format!("cols: {m}")))?;
    let co = match op.kind {
        Kind::Full => m,
        Kind::Depthwise => c.or(fc).zip(m).map(|(c, m)| c * m),
    };
    Ok(Shape::new(vec![n, oh, ow, co]))
}

impl Op for DirectConv {
    fn op_type(&self) -> &'static str {
        match (self.kind, self.pass) {
            (Kind::Full, Pass::Forward) => "Conv2D",
            (Kind::Full, Pass::Input) => "Conv2DBackpropInput",
            (Kind::Full, Pass::Filter) => "Conv2DBackpropFilter",
            (Kind::Depthwise, Pass::Forward) => "DepthwiseConv2dNative",
            (Kind::Depthwise, Pass::Input) => "DepthwiseConv2dNativeBackpropInput",
            (Kind::Depthwise, Pass::Filter) => "DepthwiseConv2dNativeBackpropFilter",
        }
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let (x, f) = (ctx.input(0), ctx.input(1));
        let geom = self.geom(x.shape(), f.shape())?;
        let y_shape = [geom.n, geom.oh, geom.ow, geom.out_c()];
        if self.pass == Pass::Forward {
            let mut y = ctx.output_f32(out_len(&y_shape)?);
            geom.forward(x.as_slice()?, f.as_slice()?, &mut y);
            return Ok(vec![Value::new(&y_shape, y)?]);
        }
        let dy = ctx.input(2);
        if dy.shape() != y_shape {
            return Err(Error::Kernel(format!(
                "{}: out_backprop has shape {} but the convolution's output has shape {}",
                self.op_type(),
                fmt_dims(dy.shape()),
                fmt_dims(&y_shape)
            )));
        }
        if self.pass == Pass::Input {
            let mut dx = ctx.output_f32(x.len());
            geom.backprop_input(dy.as_slice()?, f.as_slice()?, &mut dx);
            Ok(vec![Value::new(x.shape(), dx)?])
        } else {
            let mut df = ctx.output_f32(f.len());
            geom.backprop_filter(x.as_slice()?, dy.as_slice()?, &mut df);
            Ok(vec![Value::new(f.shape(), df)?])
        }
    }
    /// The form is bilinear in (x, f) with `y`, so each pass's gradient is another pass:
    /// forward: `(input(x, f, g), filter(x, f, g))`; input pass: `(none, filter(g, f, dy),
    /// forward(g, f))`; filter pass: `(input(x, g, dy), none, forward(x, g))`. The operand
    /// read for its shape gets none.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let (x, f, g) = (gc.x(0), gc.x(1), gc.dy(0));
        Ok(match self.pass {
            Pass::Forward => vec![
                Some(self.build(Pass::Input, &[x, f, g])?),
                Some(self.build(Pass::Filter, &[x, f, g])?),
            ],
            Pass::Input => vec![
                None,
                Some(self.build(Pass::Filter, &[g, f, gc.x(2)])?),
                Some(self.build(Pass::Forward, &[g, f])?),
            ],
            Pass::Filter => vec![
                Some(self.build(Pass::Input, &[x, g, gc.x(2)])?),
                None,
                Some(self.build(Pass::Forward, &[x, g])?),
            ],
        })
    }
    fn attrs(&self) -> String {
        format!(
            "strides=[1,{},{},1], dilations=[1,{},{},1], padding={}",
            self.strides.0, self.strides.1, self.dilations.0, self.dilations.1, self.padding
        )
    }
}

/// Checks the attributes and makes the op.
fn make(
    kind: Kind,
    x: &Tensor,
    strides: [usize; 4],
    dilations: [usize; 4],
    padding: Padding,
    name: &str,
) -> Result<DirectConv> {
    let g = x.graph();
    let strides = spatial_attr("strides", strides).map_err(|m| arg_error(g, name, name, m))?;
    let dilations =
        spatial_attr("dilations", dilations).map_err(|m| arg_error(g, name, name, m))?;
    Ok(DirectConv {
        kind,
        pass: Pass::Forward,
        strides,
        dilations,
        padding,
    })
}

/// [`conv2d`] with the filter's taps spread `dilations = [1, d_h, d_w, 1]` apart
/// (`tf.nn.conv2d(..., dilations=...)`, `tf.nn.atrous_conv2d`; op `Conv2D`): an effective
/// window of `(k - 1)·d + 1`, whose size also sets SAME's padding. Dilations of 1 are
/// [`conv2d`] itself. Both gradients, and their gradients, are defined.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::nn::{conv2d_dilated, Padding};
/// use rustflow_ops::placeholder;
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 8, 8, 2], "x");
/// let w = placeholder(&g, DType::F32, shape![3, 3, 2, 4], "w");
/// let y = conv2d_dilated(&x, &w, [1, 1, 1, 1], Padding::Valid, [1, 2, 2, 1]).unwrap();
/// assert_eq!(y.shape().to_string(), "[?,4,4,4]");
/// ```
pub fn conv2d_dilated(
    input: &Tensor,
    filter: &Tensor,
    strides: [usize; 4],
    padding: Padding,
    dilations: [usize; 4],
) -> Result<Tensor> {
    let op = make(Kind::Full, input, strides, dilations, padding, "Conv2D")?;
    if op.dilations == (1, 1) {
        return conv2d(input, filter, strides, padding);
    }
    op.build(Pass::Forward, &[input, filter])
}

/// Depthwise convolution (`tf.nn.depthwise_conv2d`; op `DepthwiseConv2dNative`): `input`
/// `[batch, height, width, c]`, `filter` `[kh, kw, c, m]`; output channel `c·m + j` is input
/// channel `c` convolved with `filter[:, :, c, j]`, so the output has `c·m` channels. Any
/// strides, dilations (`[1, d_h, d_w, 1]`) and padding. Both gradients
/// (`DepthwiseConv2dNativeBackpropInput`/`Filter`), and theirs, are defined.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::nn::{depthwise_conv2d, Padding};
/// use rustflow_ops::placeholder;
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 5, 5, 3], "x");
/// let w = placeholder(&g, DType::F32, shape![3, 3, 3, 2], "w");
/// let y = depthwise_conv2d(&x, &w, [1, 2, 2, 1], Padding::Same, [1, 1, 1, 1]).unwrap();
/// assert_eq!(y.shape().to_string(), "[?,3,3,6]");
/// ```
pub fn depthwise_conv2d(
    input: &Tensor,
    filter: &Tensor,
    strides: [usize; 4],
    padding: Padding,
    dilations: [usize; 4],
) -> Result<Tensor> {
    let name = "DepthwiseConv2dNative";
    let op = make(Kind::Depthwise, input, strides, dilations, padding, name)?;
    op.build(Pass::Forward, &[input, filter])
}
