//! `FusedConv2D`: a convolution with its epilogue (bias, activation) and a pool, applied
//! group by group of images while their convolution is in cache, so the full-size
//! activation is never stored. Plans run it in place of the chain; it is never a graph node.

use super::{Chain, Epilogue};
use crate::kernels::conv::{conv2d_forward, conv2d_forward_then, ConvProblem};
use crate::nn::conv2d::{conv_attrs, out_len};
use crate::nn::padding::Padding;
use crate::nn::pool::PoolSpec;
use rustflow_graph::{KernelContext, Op, Result, Value};
use std::any::Any;
use std::sync::Arc;

/// What a `Conv2D` declares as a producer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConvAttrs {
    pub strides: (usize, usize),
    pub padding: Padding,
}

/// The fused op: inputs `x`, `filter`, then the epilogue's operands (a bias, ...); output
/// the chain's last op's.
///
/// Results are the separate ops' bit for bit: the epilogue computes each element as they do.
/// A max pool after non-decreasing steps (or none) pools first and applies the epilogue to
/// the pooled values only, which picks the same element of each window.
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
/// assert_eq!(ops, ["FusedConv2D"]);
/// ```
#[derive(Debug)]
pub(crate) struct FusedConv2D {
    conv: ConvAttrs,
    epilogue: Epilogue,
    pool: Option<PoolSpec>,
    ops: Vec<&'static str>,
}

/// The row's fused op for a `Conv2D` producer.
pub(super) fn build(producer: &(dyn Any + Send + Sync), chain: Chain) -> Option<Arc<dyn Op>> {
    let conv = *producer.downcast_ref::<ConvAttrs>()?;
    let pool = match chain.pool {
        Some(p) => Some(*p.downcast_ref::<PoolSpec>()?),
        None => None,
    };
    Some(Arc::new(FusedConv2D {
        conv,
        epilogue: chain.epilogue,
        pool,
        ops: chain.ops,
    }))
}

/// Where an output buffer starts, to find a chunk's element offset in it (the convolution
/// kernels hand the epilogue chunks of the output, not their positions).
#[derive(Clone, Copy)]
struct Base(usize);

impl Base {
    fn of(y: &[f32]) -> Base {
        Base(y.as_ptr() as usize)
    }

    /// The element offset of `chunk`, a part of the buffer.
    fn offset(self, chunk: &[f32]) -> usize {
        (chunk.as_ptr() as usize - self.0) / std::mem::size_of::<f32>()
    }
}

impl Op for FusedConv2D {
    fn op_type(&self) -> &'static str {
        "FusedConv2D"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let (x, f) = (ctx.input(0), ctx.input(1));
        let (strides, padding) = (self.conv.strides, self.conv.padding);
        let p = ConvProblem::new(x.shape(), f.shape(), strides, padding, ctx.options())?;
        let conv_shape = p.out_shape();
        let operands = self.epilogue.operands(&ctx.inputs, &conv_shape)?;
        let epilogue = &self.epilogue;
        let (x, f) = (x.as_slice()?, f.as_slice()?);
        let Some(pool) = self.pool else {
            let mut y = ctx.output_f32(out_len(&conv_shape)?);
            let base = Base::of(&y);
            conv2d_forward(&p, x, f, &mut y, |out| {
                epilogue.apply(&operands, out, base.offset(out))
            });
            return Ok(vec![Value::new(&conv_shape, y)?]);
        };
        let pool = pool.attrs.problem(pool.kind, &conv_shape)?;
        let shape = pool.out_shape();
        let mut y = ctx.output_f32(out_len(&shape)?);
        let pool_first = pool.pools_first(epilogue.monotone(&operands));
        let (per_image, conv_image) = (out_len(&shape[1..])?, out_len(&conv_shape[1..])?);
        let base = Base::of(&y);
        conv2d_forward_then(&p, x, f, &mut y, per_image, |conv, out| {
            if pool_first {
                pool.forward_images(conv, out);
                epilogue.apply(&operands, out, 0);
            } else {
                let images = base.offset(out) / per_image.max(1);
                epilogue.apply(&operands, conv, images * conv_image);
                pool.forward_images(conv, out);
            }
        });
        Ok(vec![Value::new(&shape, y)?])
    }
    fn attrs(&self) -> String {
        let mut s = format!(
            "{}; fused_ops=[{}]",
            conv_attrs(self.conv.strides, self.conv.padding),
            self.ops.join(", ")
        );
        if let Some(p) = &self.pool {
            s += &format!("; {}", p.attrs.describe());
        }
        s
    }
}
