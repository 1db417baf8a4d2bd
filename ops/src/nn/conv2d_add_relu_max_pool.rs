//! `Conv2DAddReluMaxPool`: `max_pool(relu(conv2d(x, f) + b))`, a whole convolutional layer,
//! which plans run in place of a `Conv2D` whose only reader is an [`AddReluMaxPool`]
//! (evaluation). It is never a graph node.

use crate::kernels::conv::{conv2d_forward, conv2d_forward_then};
use crate::kernels::pool::max_pool_images;
use crate::nn::add_relu_max_pool::{add_rectify, per_channel_bias, AddReluMaxPool};
use crate::nn::conv2d::{conv_attrs, conv_window, out_len};
use crate::nn::padding::Padding;
use crate::nn::pool::PoolAttrs;
use rustflow_graph::{KernelContext, Op, Result, Value};

/// The fused op: inputs (x, filter) of the `Conv2D`, then the bias `b` of the `Add`; output
/// the `MaxPool`'s.
///
/// With one bias per channel it convolves a few images at a time and pools, adds the bias and
/// applies the relu while their convolution is still in cache, so the full-size activation
/// is never stored: the result is [`AddReluMaxPool`]'s, bit for bit. Any other bias takes the
/// long way (the convolution, then [`AddReluMaxPool`]).
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{add, nn, placeholder};
/// use rustflow_runtime::{feed, fetches, RunOptions, Session};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 4, 4, 1], "x");
/// let f = placeholder(&g, DType::F32, shape![1, 1, 1, 2], "f");
/// let b = placeholder(&g, DType::F32, shape![2], "b");
/// let conv = nn::conv2d(&x, &f, [1; 4], nn::Padding::Same).unwrap();
/// let h = nn::relu(&add(&conv, &b).unwrap()).unwrap();
/// let pooled = nn::max_pool(&h, [1, 2, 2, 1], [1, 2, 2, 1], nn::Padding::Valid).unwrap();
/// let sess = Session::new(&g);
/// let opts = RunOptions { trace: true, ..RunOptions::default() };
/// let xs = ndarray::Array::from_shape_vec((1, 4, 4, 1), (0..16).map(|v| v as f32).collect()).unwrap();
/// let feeds = feed! { &x => xs, &f => ndarray::array![[[[1.0f32, -1.0]]]], &b => ndarray::array![0.5f32, 20.0] };
/// let (out, meta) = sess.run_with(&fetches![&pooled], &feeds, &opts).unwrap();
/// // Each 2x2 window's maximum: 5, 7, 13, 15 (+0.5); the second channel: -0, -2, -8, -10 (+20).
/// assert_eq!(
///     out.value(0).unwrap().as_slice::<f32>().unwrap(),
///     &[5.5, 20.0, 7.5, 18.0, 13.5, 12.0, 15.5, 10.0]
/// );
/// let ops: Vec<_> = meta.by_op_type().into_iter().map(|(op, _, _)| op).collect();
/// assert_eq!(ops, ["Conv2DAddReluMaxPool"]);
/// ```
#[derive(Debug)]
pub struct Conv2DAddReluMaxPool {
    pub(crate) strides: (usize, usize),
    pub(crate) padding: Padding,
    pub(crate) pool: PoolAttrs,
}

impl Op for Conv2DAddReluMaxPool {
    fn op_type(&self) -> &'static str {
        "Conv2DAddReluMaxPool"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let (x, f, b) = (ctx.input(0), ctx.input(1), ctx.input(2));
        let (win, co) = conv_window(x.shape(), f.shape(), self.strides, self.padding)?;
        let conv_shape = [win.n, win.oh, win.ow, co];
        let winograd = ctx.options().winograd;
        let conv_len = out_len(&conv_shape)?;
        let pool_win = self.pool.window(&conv_shape)?;
        let Some(bias) = per_channel_bias(co, b)? else {
            let mut conv = ctx.output_f32(conv_len);
            conv2d_forward(x.as_slice()?, f.as_slice()?, &win, co, &mut conv, winograd);
            ctx.inputs = vec![Value::new(&conv_shape, conv)?, ctx.take_input(2)];
            return AddReluMaxPool { attrs: self.pool }.compute(ctx);
        };
        let shape = [win.n, pool_win.oh, pool_win.ow, co];
        let per_image = pool_win.oh * pool_win.ow * co;
        let mut y = ctx.output_f32(out_len(&shape)?);
        conv2d_forward_then(
            x.as_slice()?,
            f.as_slice()?,
            &win,
            co,
            winograd,
            &mut y,
            per_image,
            |conv, out| {
                max_pool_images(conv, &pool_win, out);
                add_rectify(out, &bias);
            },
        );
        Ok(vec![Value::new(&shape, y)?])
    }
    fn attrs(&self) -> String {
        format!(
            "{}; {}",
            conv_attrs(self.strides, self.padding),
            self.pool.describe()
        )
    }
}
