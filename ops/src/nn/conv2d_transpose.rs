//! `conv2d_transpose`: the transposed convolution, `Conv2DBackpropInput` with a given output
//! shape.

use crate::constant;
use crate::nn::conv2d_backprop_input::Conv2DBackpropInput;
use crate::nn::padding::{nhwc_dims, spatial_attr, Padding};
use crate::util::{add1, arg_error, expect_dtype, same_dtype, shape_error};
use rustflow_graph::{DType, Result, Shape, Tensor, TensorSpec, Value};

/// The transposed convolution of `value` (`[batch, height, width, in_channels]`) with
/// `filter` (`[filter_height, filter_width, out_channels, in_channels]`): the gradient of
/// `conv2d(y, filter, strides, padding)` with respect to a `y` of shape `output_shape`
/// (`tf.nn.conv2d_transpose`; op `Conv2DBackpropInput`). `output_shape` picks among the
/// sizes whose convolution has `value`'s size (stride 2 SAME maps both 5 and 6 to 3).
///
/// Its gradients are those of `Conv2DBackpropInput`: `conv2d(dy, filter)` for `value`,
/// `conv2d_backprop_filter(dy, filter, value)` for `filter`.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::nn::{conv2d_transpose, Padding};
/// use rustflow_ops::placeholder;
/// let g = Graph::new();
/// let v = placeholder(&g, DType::F32, shape![1, 3, 3, 4], "v");
/// let f = placeholder(&g, DType::F32, shape![3, 3, 2, 4], "f");
/// let y = conv2d_transpose(&v, &f, [1, 6, 6, 2], [1, 2, 2, 1], Padding::Same).unwrap();
/// assert_eq!(y.shape().to_string(), "[1,6,6,2]");
/// assert!(conv2d_transpose(&v, &f, [1, 8, 8, 2], [1, 2, 2, 1], Padding::Same).is_err());
/// ```
pub fn conv2d_transpose(
    value: &Tensor,
    filter: &Tensor,
    output_shape: [usize; 4],
    strides: [usize; 4],
    padding: Padding,
) -> Result<Tensor> {
    let (name, op) = ("conv2d_transpose", "Conv2DBackpropInput");
    let g = value.graph();
    g.check_owns(filter.graph(), &filter.to_string())?;
    expect_dtype(g, name, op, value, &[DType::F32])?;
    same_dtype(g, name, op, &[value, filter])?;
    let s = spatial_attr("strides", strides).map_err(|m| arg_error(g, name, op, m))?;
    let err = |msg: String| {
        let msg = format!("{msg} (output_shape {output_shape:?})");
        shape_error(g, name, op, msg, &[value, filter])
    };
    let [_, vh, vw, vc] = nhwc_dims(&value.shape(), "the value").map_err(err)?;
    let [kh, kw, fo, fi] = nhwc_dims(&filter.shape(), "the filter").map_err(err)?;
    if fo.is_some_and(|c| c != output_shape[3]) || fi.zip(vc).is_some_and(|(a, b)| a != b) {
        return Err(err(
            "the filter must be [height, width, output channels, value channels]".into(),
        ));
    }
    for (d, (k, v)) in [(kh, vh), (kw, vw)].into_iter().enumerate() {
        let (out, stride) = (output_shape[d + 1], [s.0, s.1][d]);
        if let Some(k) = k {
            let (conv, _) = padding.output_size(out, k, stride).map_err(err)?;
            if v.is_some_and(|v| v != conv) {
                return Err(err(format!(
                    "a convolution of output size {out} has size {conv}, not the value's"
                )));
            }
        }
    }
    let sizes: Vec<i32> = output_shape.iter().map(|&d| d as i32).collect();
    let sizes = constant(g, Value::new(&[4], sizes)?, "output_shape");
    add1(
        g,
        name,
        Conv2DBackpropInput {
            strides: s,
            padding,
        },
        &[&sizes, filter, value],
        TensorSpec::new(DType::F32, Shape::new(output_shape.map(Some).to_vec())),
    )
}
