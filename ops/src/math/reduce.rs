//! What the reductions (`reduce_sum`, `reduce_mean`, `reduce_max`) share: axis handling,
//! static shapes, the kernel loop, and the gradient's broadcast back.

use crate::kernels::strided::for_each_offset;
use crate::util::{add1, expect_dtype, norm_axis, shape_error};
use rayon::prelude::*;
use rustflow_graph::{
    fmt_dims, DType, Element, Error, GradContext, KernelContext, Op, Result, Shape, Tensor,
    TensorSpec, Value,
};

/// Which axes a reduction (or `argmax`, `softmax`) works on: all, or a list (negative axes
/// count from the end).
///
/// ```
/// use rustflow_ops::Axes;
/// assert_eq!(Axes::from(None), Axes::All);
/// assert_eq!(Axes::from(1), Axes::List(vec![1]));
/// assert_eq!(Axes::from([0, -1]), Axes::List(vec![0, -1]));
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Axes {
    /// Every axis.
    All,
    /// These axes.
    List(Vec<i64>),
}

impl From<Option<i64>> for Axes {
    fn from(a: Option<i64>) -> Self {
        a.map_or(Axes::All, |a| Axes::List(vec![a]))
    }
}
impl From<i64> for Axes {
    fn from(a: i64) -> Self {
        Axes::List(vec![a])
    }
}
impl From<i32> for Axes {
    fn from(a: i32) -> Self {
        Axes::List(vec![a as i64])
    }
}
impl From<Vec<i64>> for Axes {
    fn from(a: Vec<i64>) -> Self {
        Axes::List(a)
    }
}
impl From<&[i64]> for Axes {
    fn from(a: &[i64]) -> Self {
        Axes::List(a.to_vec())
    }
}
impl<const N: usize> From<[i64; N]> for Axes {
    fn from(a: [i64; N]) -> Self {
        Axes::List(a.to_vec())
    }
}

impl Axes {
    /// The sorted, distinct axes for a tensor of rank `rank`, or the first invalid axis.
    pub fn resolve(&self, rank: usize) -> std::result::Result<Vec<usize>, i64> {
        let mut v = match self {
            Axes::All => (0..rank).collect(),
            Axes::List(l) => l
                .iter()
                .map(|&a| norm_axis(a, rank).ok_or(a))
                .collect::<std::result::Result<Vec<_>, _>>()?,
        };
        v.sort_unstable();
        v.dedup();
        Ok(v)
    }
}

/// The static output shape of a reduction, or a build-time error for a bad axis.
pub(crate) fn reduce_builder(
    x: &Tensor,
    axes: &Axes,
    keep_dims: bool,
    name: &str,
    op: impl Op,
) -> Result<Tensor> {
    // TensorFlow rejects bool at build time (a TypeError), as argmax does here.
    reduce_builder_of(
        x,
        axes,
        keep_dims,
        name,
        op,
        &[DType::F32, DType::I32, DType::I64],
    )
}

/// [`reduce_builder`] for an op taking the `dtypes`.
pub(crate) fn reduce_builder_of(
    x: &Tensor,
    axes: &Axes,
    keep_dims: bool,
    name: &str,
    op: impl Op,
    dtypes: &[DType],
) -> Result<Tensor> {
    let g = x.graph();
    expect_dtype(g, name, op.op_type(), x, dtypes)?;
    let s = x.shape();
    let shape = match s.dims() {
        None => match (axes, keep_dims) {
            (Axes::All, false) => Shape::scalar(),
            _ => Shape::unknown(),
        },
        Some(dims) => {
            let ax = axes.resolve(dims.len()).map_err(|a| {
                shape_error(
                    g,
                    name,
                    op.op_type(),
                    format!(
                        "Invalid reduction dimension {a} for input with {} dimensions",
                        dims.len()
                    ),
                    &[x],
                )
            })?;
            Shape::new(
                dims.iter()
                    .enumerate()
                    .filter_map(|(i, &d)| match (ax.contains(&i), keep_dims) {
                        (false, _) => Some(d),
                        (true, true) => Some(Some(1)),
                        (true, false) => None,
                    })
                    .collect(),
            )
        }
    };
    add1(g, name, op, &[x], TensorSpec::new(x.dtype(), shape))
}

/// Reduces `x` over `axes` with `fold` starting from `init`; returns the kept-dims shape and
/// the data. The axes must already be resolved against `x`'s rank.
///
/// Neighbouring axes that are both reduced (or both kept) are one axis to the loop, so a
/// reduction is a pass per run of reduced axes (`[N, H, W, C]` over `[0, 1, 2]` is one
/// pass over `[N·H·W, C]`), each parallel over [`Reduce`]'s tasks.
pub(crate) fn reduce_kernel<T: Element>(
    x: &Value,
    axes: &[usize],
    init: T,
    fold: impl Fn(T, T) -> T + Sync,
) -> Result<(Vec<usize>, Vec<T>)> {
    let shape = x.shape();
    let kept = (0..shape.len())
        .map(|i| if axes.contains(&i) { 1 } else { shape[i] })
        .collect();
    let mut runs = runs(shape, axes);
    let mut data = None;
    while let Some(at) = runs.iter().rposition(|r| r.1) {
        let size = |runs: &[(usize, bool)]| runs.iter().map(|r| r.0).product::<usize>();
        let pass = Reduce {
            outer: size(&runs[..at]),
            n: runs[at].0,
            inner: size(&runs[at + 1..]),
        };
        let src = data.as_deref().unwrap_or(x.as_slice::<T>()?);
        data = Some(pass.run(src, init, &fold));
        runs.remove(at);
    }
    let data = match data {
        Some(d) => d,
        None => x.as_slice::<T>()?.to_vec(),
    };
    Ok((kept, data))
}

/// The runs of neighbouring axes of `shape` that are all reduced or all kept, as (size,
/// reduced), size-1 axes left out.
fn runs(shape: &[usize], axes: &[usize]) -> Vec<(usize, bool)> {
    let mut runs: Vec<(usize, bool)> = vec![];
    for (i, &d) in shape.iter().enumerate().filter(|(_, &d)| d != 1) {
        let reduced = axes.contains(&i);
        match runs.last_mut() {
            Some((size, r)) if *r == reduced => *size *= d,
            _ => runs.push((d, reduced)),
        }
    }
    runs
}

/// Elements per task of a reduction pass.
const REDUCE_BLOCK: usize = 1 << 15;

/// One pass of a reduction: `[outer, n, inner]` to `[outer, inner]`.
///
/// Its tasks are (row of `outer`, block of `n`); a block is as long as fits
/// [`REDUCE_BLOCK`] elements, so the order of the sums depends on the shape alone, never on
/// the threads: each block folds its rows in order into a partial, and each output row folds
/// its blocks' partials in order.
struct Reduce {
    outer: usize,
    n: usize,
    inner: usize,
}

impl Reduce {
    fn run<T: Element>(&self, x: &[T], init: T, fold: &(impl Fn(T, T) -> T + Sync)) -> Vec<T> {
        let Reduce { outer, n, inner } = *self;
        if inner == 0 {
            return vec![];
        }
        let rows = (REDUCE_BLOCK / inner.max(1)).clamp(1, n.max(1));
        let blocks = n.div_ceil(rows).max(1);
        // Block `b` of row `o` into `dst` (`inner` elements, starting at `init`).
        let block = |o: usize, b: usize, dst: &mut [T]| {
            for j in b * rows..((b + 1) * rows).min(n) {
                let src = &x[(o * n + j) * inner..(o * n + j + 1) * inner];
                for (d, &s) in dst.iter_mut().zip(src) {
                    *d = fold(*d, s);
                }
            }
        };
        let parallel = outer * n * inner >= 2 * REDUCE_BLOCK;
        let mut partials = vec![init; outer * blocks * inner];
        let task = |(t, dst): (usize, &mut [T])| block(t / blocks, t % blocks, dst);
        if parallel {
            partials.par_chunks_mut(inner).enumerate().for_each(task);
        } else {
            partials.chunks_mut(inner).enumerate().for_each(task);
        }
        if blocks == 1 {
            return partials;
        }
        let mut out = vec![init; outer * inner];
        for (dst, parts) in out.chunks_mut(inner).zip(partials.chunks(blocks * inner)) {
            for p in parts.chunks(inner) {
                for (d, &s) in dst.iter_mut().zip(p) {
                    *d = fold(*d, s);
                }
            }
        }
        out
    }
}

/// The output shape of a reduction given the kept-dims shape.
pub(crate) fn final_shape(kept: &[usize], axes: &[usize], keep_dims: bool) -> Vec<usize> {
    kept.iter()
        .enumerate()
        .filter(|(i, _)| keep_dims || !axes.contains(i))
        .map(|(_, &d)| d)
        .collect()
}

/// The row-major strides of the kept-dims result of reducing a tensor of `shape` over `axes`,
/// 0 along the reduced axes, and that result's element count.
pub(crate) fn kept_strides(shape: &[usize], axes: &[usize]) -> (Vec<usize>, usize) {
    let mut strides = vec![0usize; shape.len()];
    let mut s = 1;
    for i in (0..shape.len()).rev() {
        if !axes.contains(&i) {
            strides[i] = s;
            s *= shape[i];
        }
    }
    (strides, s)
}

/// Resolves `axes` at run time, as a kernel error.
pub(crate) fn resolve_run(axes: &Axes, x: &Value) -> Result<Vec<usize>> {
    axes.resolve(x.shape().len()).map_err(|a| {
        Error::Kernel(format!(
            "Invalid reduction dimension {a} for input with {} dimensions (shape {})",
            x.shape().len(),
            fmt_dims(x.shape())
        ))
    })
}

/// `ReduceGrad`: the upstream gradient of a sum or mean broadcast back over the reduced
/// axes to the input's run-time shape (divided by the reduced count for a mean).
#[derive(Debug)]
pub struct ReduceGrad {
    pub(crate) axes: Axes,
    pub(crate) mean: bool,
}

impl Op for ReduceGrad {
    fn op_type(&self) -> &'static str {
        "ReduceGrad"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let (dy, x) = (ctx.input(0), ctx.input(1));
        let axes = resolve_run(&self.axes, x)?;
        let shape = x.shape().to_vec();
        let count: usize = axes.iter().map(|&a| shape[a]).product();
        let scale = if self.mean && count > 0 {
            1.0 / count as f32
        } else {
            1.0
        };
        let g = dy.as_slice::<f32>()?;
        let (strides, s) = kept_strides(&shape, &axes);
        if s != g.len() {
            return Err(Error::Kernel(format!(
                "reduction gradient of shape {} does not fit input shape {}",
                fmt_dims(dy.shape()),
                fmt_dims(&shape)
            )));
        }
        let n: usize = shape.iter().product();
        let runs = runs(&shape, &axes);
        let out = match runs.iter().position(|r| r.1) {
            // One run of reduced axes, `[outer, n, inner]`: row (o, j) is row o of `g`.
            Some(at) if runs.iter().filter(|r| r.1).count() == 1 && n > 0 => {
                let inner: usize = runs[at + 1..].iter().map(|r| r.0).product();
                let reduced = runs[at].0;
                let mut out = ctx.output_f32(n);
                out.par_chunks_mut(inner * reduced)
                    .zip(g.par_chunks(inner))
                    .for_each(|(dst, g)| {
                        for row in dst.chunks_mut(inner) {
                            for (d, &v) in row.iter_mut().zip(g) {
                                *d = v * scale;
                            }
                        }
                    });
                out
            }
            _ => {
                let mut out = Vec::with_capacity(n);
                for_each_offset(&shape, &strides, |_, off| out.push(g[off] * scale));
                out
            }
        };
        Ok(vec![Value::new(&shape, out)?])
    }
    /// Linear in `dy`: the upstream summed (or averaged) back over the axes, in `dy`'s shape;
    /// `x` gives only its shape.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let (dy, g) = (gc.x(0), gc.dy(0));
        let r = if self.mean {
            crate::reduce_mean(g, self.axes.clone(), false)?
        } else {
            crate::reduce_sum(g, self.axes.clone(), false)?
        };
        Ok(vec![Some(crate::reshape_like(&r, dy)?), None])
    }
    fn attrs(&self) -> String {
        format!("axis={:?}, mean={}", self.axes, self.mean)
    }
}

/// The gradient of a sum (or mean) over `axes` of `gc.x(0)`.
pub(crate) fn reduce_grad(
    gc: &GradContext<'_>,
    axes: &Axes,
    mean: bool,
) -> Result<Vec<Option<Tensor>>> {
    let dy = gc.dy(0);
    let x = gc.x(0);
    let dx = add1(
        gc.graph,
        "ReduceGrad",
        ReduceGrad {
            axes: axes.clone(),
            mean,
        },
        &[dy, x],
        x.spec(),
    )?;
    Ok(vec![Some(dx)])
}
