//! What the pooling ops (`max_pool`, `avg_pool` and their gradients) share: attribute and
//! shape checks at build time, and the window geometry at run time.

use crate::nn::padding::{nhwc_dims, spatial_attr, Padding, Window};
use crate::util::{arg_error, expect_dtype, shape_error};
use rustflow_graph::{fmt_dims, DType, Error, Result, Shape, Tensor};

/// The window and strides of a pooling op, checked: `ksize` and `strides` are `[1, a, b, 1]`
/// with positive `a, b`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PoolAttrs {
    pub ksize: (usize, usize),
    pub strides: (usize, usize),
    pub padding: Padding,
}

impl PoolAttrs {
    /// The run-time geometry over an input of shape `x`, or a kernel error naming it.
    pub fn window(&self, x: &[usize]) -> Result<Window> {
        Window::new(x, self.ksize, self.strides, self.padding).map_err(|m| {
            Error::Kernel(format!(
                "{m}: input {}, ksize [1,{},{},1], strides [1,{},{},1], padding {}",
                fmt_dims(x),
                self.ksize.0,
                self.ksize.1,
                self.strides.0,
                self.strides.1,
                self.padding
            ))
        })
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

/// Checks that an upstream gradient has the pooled shape.
pub(crate) fn check_pooled(dy: &[usize], win: &Window) -> Result<()> {
    let want = [win.n, win.oh, win.ow, win.c];
    if dy == want {
        Ok(())
    } else {
        Err(Error::Kernel(format!(
            "the upstream gradient has shape {} but the pooled output has shape {}",
            fmt_dims(dy),
            fmt_dims(&want)
        )))
    }
}
