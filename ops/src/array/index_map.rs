//! Ops whose output element reads one input element chosen dimension by dimension
//! (slice, strided_slice, pad, reverse, tile), and the one gradient op they share: the
//! upstream added back into the elements it was read from.

use crate::array::common::dispatch;
use crate::util::add1;
use rustflow_graph::{Element, GradContext, KernelContext, Op, Result, Tensor, Value};
use std::fmt;
use std::sync::Arc;

/// For an input of some run-time shape: for every output dimension, the input index each
/// output index reads along it (`None`: the output element is the fill value), and the
/// output's shape (the same elements, possibly with size-1 dimensions added or removed).
pub(crate) struct Remap {
    /// One list per input dimension, as long as the output is along it.
    pub(crate) dims: Vec<Vec<Option<usize>>>,
    /// The output's shape.
    pub(crate) shape: Vec<usize>,
}

/// An op described by a [`Remap`] of its input's shape.
pub(crate) trait IndexMap: fmt::Debug + Send + Sync + 'static {
    /// The forward op's type.
    fn op_type(&self) -> &'static str;
    /// The gradient op's type.
    fn grad_type(&self) -> &'static str;
    /// The remap for an input of `shape`, or a kernel error naming the shape.
    fn remap(&self, shape: &[usize]) -> Result<Remap>;
    /// The output's shape for an input of `shape` when it can hold more elements than the
    /// input (`tile`, `pad`): checked against the session's memory limit before the remap
    /// or the output is built. `None` (the default) for ops that never grow their input.
    fn grown_shape(&self, _shape: &[usize]) -> Result<Option<Vec<usize>>> {
        Ok(None)
    }
    /// The value of output elements that read nothing (`pad`'s constant).
    fn fill(&self) -> f64 {
        0.0
    }
    /// The same op applied to `x` (the gradient of the gradient).
    fn apply(&self, x: &Tensor) -> Result<Tensor>;
}

/// Calls `f(i, offset)` for every output element `i` in row-major order, with `offset` the
/// input element it reads (`None` for the fill value), for an input with `strides`.
fn walk(dims: &[Vec<Option<usize>>], strides: &[usize], mut f: impl FnMut(usize, Option<usize>)) {
    if dims.iter().any(Vec::is_empty) {
        return;
    }
    let offs: Vec<Vec<Option<usize>>> = dims
        .iter()
        .zip(strides)
        .map(|(d, &s)| d.iter().map(|i| i.map(|i| i * s)).collect())
        .collect();
    let Some((last, outer)) = offs.split_last() else {
        f(0, Some(0));
        return;
    };
    let mut idx = vec![0usize; outer.len()];
    let mut i = 0;
    loop {
        let base: Option<usize> = outer.iter().zip(&idx).map(|(o, &k)| o[k]).sum();
        for o in last {
            f(i, base.and_then(|b| o.map(|o| b + o)));
            i += 1;
        }
        let mut d = outer.len();
        loop {
            if d == 0 {
                return;
            }
            d -= 1;
            idx[d] += 1;
            if idx[d] < outer[d].len() {
                break;
            }
            idx[d] = 0;
        }
    }
}

/// Row-major strides of `shape`.
fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// A value that converts from the fill value of an [`IndexMap`].
trait FromF64: Element {
    fn from_f64(x: f64) -> Self;
}
impl FromF64 for f32 {
    fn from_f64(x: f64) -> Self {
        x as f32
    }
}
impl FromF64 for i32 {
    fn from_f64(x: f64) -> Self {
        x as i32
    }
}
impl FromF64 for i64 {
    fn from_f64(x: f64) -> Self {
        x as i64
    }
}
impl FromF64 for bool {
    fn from_f64(x: f64) -> Self {
        x != 0.0
    }
}

fn gather<T: FromF64>(x: &Value, r: &Remap, fill: f64) -> Result<Value> {
    let src = x.as_slice::<T>()?;
    let fill = T::from_f64(fill);
    let mut out = Vec::with_capacity(r.shape.iter().product());
    walk(&r.dims, &strides(x.shape()), |_, o| {
        out.push(o.map_or(fill, |o| src[o]))
    });
    Value::new(&r.shape, out)
}

/// A forward op of the [`IndexMap`] family.
#[derive(Debug)]
pub(crate) struct Remapped<M: IndexMap>(pub(crate) Arc<M>);

impl<M: IndexMap> Op for Remapped<M> {
    fn op_type(&self) -> &'static str {
        self.0.op_type()
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let x = ctx.input(0);
        if let Some(shape) = self.0.grown_shape(x.shape())? {
            ctx.check_output(x.dtype(), &shape)?;
        }
        let r = self.0.remap(x.shape())?;
        let fill = self.0.fill();
        Ok(vec![dispatch!(x.dtype(), T => gather::<T>(x, &r, fill)?)])
    }
    /// Each upstream element added into the input element it was read from.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let map: Arc<dyn IndexMap> = self.0.clone();
        let x = gc.x(0);
        let dx = add1(
            gc.graph,
            self.0.grad_type(),
            RemapGrad { map },
            &[gc.dy(0), x],
            x.spec(),
        )?;
        Ok(vec![Some(dx)])
    }
    fn attrs(&self) -> String {
        format!("{:?}", self.0)
    }
}

/// The gradient of a [`Remapped`] op: input 0 (the upstream) added into zeros shaped like
/// input 1 (read only for its run-time shape) at the elements the forward op read.
#[derive(Debug)]
pub(crate) struct RemapGrad {
    map: Arc<dyn IndexMap>,
}

impl Op for RemapGrad {
    fn op_type(&self) -> &'static str {
        self.map.grad_type()
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let shape = ctx.input(1).shape().to_vec();
        let r = self.map.remap(&shape)?;
        let dy = ctx.input(0).as_slice::<f32>()?;
        let mut dx = vec![0f32; shape.iter().product()];
        walk(&r.dims, &strides(&shape), |i, o| {
            if let Some(o) = o {
                dx[o] += dy[i];
            }
        });
        Ok(vec![Value::new(&shape, dx)?])
    }
    /// The forward op applied to the upstream; the shape-only input gets none.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(self.map.apply(gc.dy(0))?), None])
    }
    fn attrs(&self) -> String {
        format!("{:?}", self.map)
    }
}
