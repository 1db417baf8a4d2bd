//! What the pooling ops (`max_pool`, `avg_pool` and their gradients) share: attribute and
//! shape checks at build time, and the pooling problem at run time.

pub(crate) use crate::kernels::pool::PoolKind;
use crate::kernels::pool::PoolProblem;
use crate::nn::conv2d::out_len;
use crate::nn::padding::{nhwc_dims, spatial_attr, Padding};
use crate::util::{add1, arg_error, expect_dtype, same_dtype, shape_error};
use rustflow_graph::{
    Capability, DType, KernelContext, Op, Result, Shape, Tensor, TensorSpec, Value,
};

/// The window and strides of a pooling op, checked: `ksize` and `strides` are `[1, a, b, 1]`
/// with positive `a, b`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PoolAttrs {
    pub ksize: (usize, usize),
    pub strides: (usize, usize),
    pub padding: Padding,
}

/// A pooling op as it declares itself to fusion: which pool, over which windows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PoolSpec {
    pub kind: PoolKind,
    pub attrs: PoolAttrs,
}

impl PoolSpec {
    /// The capability of a pooling op.
    pub fn capability(kind: PoolKind, attrs: PoolAttrs) -> Capability {
        Capability::Pool(Box::new(PoolSpec { kind, attrs }))
    }
}

impl PoolAttrs {
    /// The `kind` pool of these windows over a run-time input of shape `x`, or a kernel
    /// error naming the shape and attributes.
    pub fn problem(&self, kind: PoolKind, x: &[usize]) -> Result<PoolProblem> {
        PoolProblem::new(kind, x, self.ksize, self.strides, self.padding)
    }

    /// A pooling op's output: the `kind` pool of the op's run-time input.
    pub fn pool(&self, ctx: &KernelContext<'_>, kind: PoolKind) -> Result<Vec<Value>> {
        let x = ctx.input(0);
        let p = self.problem(kind, x.shape())?;
        let shape = p.out_shape();
        let mut y = ctx.output_f32(out_len(&shape)?);
        p.forward(x.as_slice()?, &mut y);
        Ok(vec![Value::new(&shape, y)?])
    }

    /// A pooling gradient op's output: the gradient of the `kind` pool of its input `x` for
    /// the upstream gradient `dy` (its inputs 0 and 1), once `dy` is checked to have the
    /// pooled shape.
    pub fn backprop(&self, ctx: &KernelContext<'_>, kind: PoolKind) -> Result<Vec<Value>> {
        let (x, dy) = (ctx.input(0), ctx.input(1));
        let p = self.problem(kind, x.shape())?;
        p.check_out_backprop(dy.shape())?;
        let mut dx = ctx.output_f32(x.len());
        p.backprop(x.as_slice()?, dy.as_slice()?, &mut dx);
        Ok(vec![Value::new(x.shape(), dx)?])
    }

    /// `ksize` and `strides` as TensorFlow spells them, `[1, a, b, 1]`.
    pub fn as_arrays(&self) -> ([usize; 4], [usize; 4]) {
        let (k, s) = (self.ksize, self.strides);
        ([1, k.0, k.1, 1], [1, s.0, s.1, 1])
    }

    /// The attributes as printed in graph listings.
    pub fn describe(&self) -> String {
        format!(
            "ksize=[1,{},{},1], strides=[1,{},{},1], padding={}",
            self.ksize.0, self.ksize.1, self.strides.0, self.strides.1, self.padding
        )
    }
}

/// Checks a pooling op at build time: float32 `x` of rank 4, valid `ksize`/`strides`, and a
/// window that fits under VALID padding. Returns the attributes and the static output shape.
pub(crate) fn pool_static(
    name: &str,
    op: &str,
    x: &Tensor,
    ksize: [usize; 4],
    strides: [usize; 4],
    padding: Padding,
) -> Result<(PoolAttrs, Shape)> {
    let g = x.graph();
    expect_dtype(g, name, op, x, &[DType::F32])?;
    let k = spatial_attr("ksize", ksize).map_err(|m| arg_error(g, name, op, m))?;
    let s = spatial_attr("strides", strides).map_err(|m| arg_error(g, name, op, m))?;
    let shape_err = |msg: String| shape_error(g, name, op, msg, &[x]);
    let [n, h, w, c] = nhwc_dims(&x.shape(), "the input").map_err(shape_err)?;
    let oh = padding
        .static_size(h, k.0, s.0)
        .map_err(|m| shape_err(format!("rows: {m}")))?;
    let ow = padding
        .static_size(w, k.1, s.1)
        .map_err(|m| shape_err(format!("cols: {m}")))?;
    Ok((
        PoolAttrs {
            ksize: k,
            strides: s,
            padding,
        },
        Shape::new(vec![n, oh, ow, c]),
    ))
}

/// Adds a pooling op named `name` over `x`, built by `make` from the attributes that
/// [`pool_static`] checks.
pub(crate) fn add_pool<O: Op>(
    name: &str,
    x: &Tensor,
    ksize: [usize; 4],
    strides: [usize; 4],
    padding: Padding,
    make: impl FnOnce(PoolAttrs) -> O,
) -> Result<Tensor> {
    let (attrs, shape) = pool_static(name, name, x, ksize, strides, padding)?;
    add1(
        x.graph(),
        name,
        make(attrs),
        &[x],
        TensorSpec::new(DType::F32, shape),
    )
}

/// Checks a pooling gradient op (inputs `x` and the upstream gradient `dy`) at build time:
/// the checks of [`pool_static`], one graph and one dtype for both, and `dy` compatible with
/// the pooled shape. Returns the attributes.
pub(crate) fn pool_grad_static(
    name: &str,
    x: &Tensor,
    dy: &Tensor,
    ksize: [usize; 4],
    strides: [usize; 4],
    padding: Padding,
) -> Result<PoolAttrs> {
    let g = x.graph();
    g.check_owns(dy.graph(), &dy.to_string())?;
    let (attrs, out) = pool_static(name, name, x, ksize, strides, padding)?;
    same_dtype(g, name, name, &[x, dy])?;
    if !out.is_compatible(&dy.shape()) {
        return Err(shape_error(
            g,
            name,
            name,
            format!("dy must have the pooled shape {out}"),
            &[x, dy],
        ));
    }
    Ok(attrs)
}
