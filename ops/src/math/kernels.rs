//! Element-wise kernels with NumPy broadcasting, shared by the arithmetic ops.

use crate::kernels::strided::{for_each_offset, for_each_row};
use crate::util::broadcast_dims;
use rayon::prelude::*;

/// Elements per task when an element-wise kernel runs on the rayon pool (small tensors make
/// one task, which runs inline).
pub const PAR_CHUNK: usize = 1 << 16;
use rustflow_graph::{fmt_dims, Element, Error, Result, Value};

/// Row-major strides of `shape` aligned to an output of rank `rank`, with 0 for broadcast dims.
fn broadcast_strides(shape: &[usize], out: &[usize]) -> Vec<usize> {
    let rank = out.len();
    let mut strides = vec![0; rank];
    let mut s = 1;
    for i in (0..shape.len()).rev() {
        let o = i + rank - shape.len();
        strides[o] = if shape[i] == 1 && out[o] != 1 { 0 } else { s };
        s *= shape[i];
    }
    strides
}

/// Applies `f` element-wise over the broadcast of `a` and `b`.
pub fn binary<T: Element, U: Element>(
    a: &Value,
    b: &Value,
    f: impl Fn(T, T) -> U,
) -> Result<Value> {
    let (xa, xb) = (a.as_slice::<T>()?, b.as_slice::<T>()?);
    if a.shape() == b.shape() {
        return Value::new(
            a.shape(),
            xa.iter().zip(xb).map(|(&x, &y)| f(x, y)).collect(),
        );
    }
    let out = broadcast_dims(a.shape(), b.shape())?;
    if xb.len() == 1 && out == a.shape() {
        let y = xb[0];
        return Value::new(&out, xa.iter().map(|&x| f(x, y)).collect());
    }
    if xa.len() == 1 && out == b.shape() {
        let x = xa[0];
        return Value::new(&out, xb.iter().map(|&y| f(x, y)).collect());
    }
    let n: usize = out.iter().product();
    let mut res = Vec::with_capacity(n);
    if n == 0 {
        return Value::new(&out, res);
    }
    let (sa, sb) = (
        broadcast_strides(a.shape(), &out),
        broadcast_strides(b.shape(), &out),
    );
    let rank = out.len();
    let last = out[rank - 1];
    let (la, lb) = (sa[rank - 1], sb[rank - 1]);
    for_each_row(&out, [&sa, &sb], |[oa, ob]| {
        for k in 0..last {
            res.push(f(xa[oa + k * la], xb[ob + k * lb]));
        }
    });
    Value::new(&out, res)
}

/// `a = f(a, b)` in place, where `b` broadcasts to `a`'s shape (copies `a` only if shared).
pub fn binary_inplace(a: &mut Value, b: &Value, f: impl Fn(f32, f32) -> f32 + Sync) -> Result<()> {
    let shape = a.shape().to_vec();
    let strides = broadcast_strides(b.shape(), &shape);
    let xb = b.as_slice::<f32>()?;
    let xa = a.data_mut::<f32>()?;
    if xb.len() == xa.len() {
        xa.par_chunks_mut(PAR_CHUNK)
            .zip(xb.par_chunks(PAR_CHUNK))
            .for_each(|(xa, xb)| {
                xa.iter_mut().zip(xb).for_each(|(x, &y)| *x = f(*x, y));
            });
    } else if xb.len() == 1 {
        let y = xb[0];
        xa.par_chunks_mut(PAR_CHUNK)
            .for_each(|xa| xa.iter_mut().for_each(|x| *x = f(*x, y)));
    } else if strides.iter().rev().skip(1).all(|&s| s == 0) && b.shape().last() == shape.last() {
        // A bias along the last axis: whole rows per task.
        let rows = (PAR_CHUNK / xb.len().max(1)).max(1) * xb.len();
        xa.par_chunks_mut(rows.max(1)).for_each(|xa| {
            for row in xa.chunks_exact_mut(xb.len()) {
                row.iter_mut().zip(xb).for_each(|(x, &y)| *x = f(*x, y));
            }
        });
    } else {
        let out = binary(&Value::new(&shape, xa.to_vec())?, b, f)?;
        xa.copy_from_slice(out.as_slice::<f32>()?);
    }
    Ok(())
}

/// Applies `f` to every element.
pub fn unary<T: Element, U: Element>(x: &Value, f: impl Fn(T) -> U) -> Result<Value> {
    Value::new(
        x.shape(),
        x.as_slice::<T>()?.iter().map(|&v| f(v)).collect(),
    )
}

/// Applies `f` to every element, in place when `x` holds the only reference to its buffer.
/// Large tensors are split into tasks on the rayon pool.
pub fn unary_inplace(mut x: Value, f: impl Fn(f32) -> f32 + Sync) -> Result<Value> {
    x.data_mut::<f32>()?
        .par_chunks_mut(PAR_CHUNK)
        .for_each(|c| c.iter_mut().for_each(|v| *v = f(*v)));
    Ok(x)
}

/// `d = f(d, s)` element-wise over two slices of one length, split into tasks on the rayon
/// pool for large ones (the fused gradients' `dy * f'(s)`).
pub fn unary_inplace_with(d: &mut [f32], s: &[f32], f: impl Fn(f32, f32) -> f32 + Sync) {
    d.par_chunks_mut(PAR_CHUNK)
        .zip(s.par_chunks(PAR_CHUNK))
        .for_each(|(d, s)| d.iter_mut().zip(s).for_each(|(g, &x)| *g = f(*g, x)));
}

/// `acc += sign * x` in place (`assign_add`, `assign_sub`); shapes must match. It runs on
/// the calling thread alone: it is called under the variable's lock, which must never wait
/// for rayon's pool (whose threads may be waiting for that very lock).
pub fn accumulate(acc: &mut Value, x: &Value, sign: i32) -> Result<()> {
    add_all(acc, &[x], sign, false)
}

/// `acc += sign * (x_1 + x_2 + ...)` (`AddN`), adding each `x` in turn to each element, in
/// one pass over `acc`, split into tasks on the rayon pool for large tensors.
pub fn accumulate_all(acc: &mut Value, xs: &[&Value], sign: i32) -> Result<()> {
    add_all(acc, xs, sign, true)
}

fn add_all(acc: &mut Value, xs: &[&Value], sign: i32, parallel: bool) -> Result<()> {
    for x in xs {
        check_same(acc, x)?;
    }
    if acc.dtype() == rustflow_graph::DType::F32 {
        let xs: Vec<&[f32]> = xs.iter().map(|x| x.as_slice()).collect::<Result<_>>()?;
        let chunk = |(c, a): (usize, &mut [f32])| {
            let at = c * PAR_CHUNK;
            for x in &xs {
                let x = &x[at..at + a.len()];
                if sign > 0 {
                    a.iter_mut().zip(x).for_each(|(a, &b)| *a += b);
                } else {
                    a.iter_mut().zip(x).for_each(|(a, &b)| *a -= b);
                }
            }
        };
        let acc = acc.data_mut::<f32>()?;
        if parallel {
            acc.par_chunks_mut(PAR_CHUNK).enumerate().for_each(chunk);
        } else {
            acc.chunks_mut(PAR_CHUNK).enumerate().for_each(chunk);
        }
        return Ok(());
    }
    for x in xs {
        accumulate_one(acc, x, sign)?;
    }
    Ok(())
}

fn check_same(acc: &Value, x: &Value) -> Result<()> {
    if acc.shape() != x.shape() || acc.dtype() != x.dtype() {
        return Err(Error::Kernel(format!(
            "cannot add a {} {} into a {} {}",
            x.dtype(),
            fmt_dims(x.shape()),
            acc.dtype(),
            fmt_dims(acc.shape())
        )));
    }
    Ok(())
}

fn accumulate_one(acc: &mut Value, x: &Value, sign: i32) -> Result<()> {
    fn go<T: Element + std::ops::Add<Output = T> + std::ops::Sub<Output = T>>(
        acc: &mut Value,
        x: &Value,
        sign: i32,
    ) -> Result<()> {
        let xs = x.as_slice::<T>()?;
        for (a, &b) in acc.data_mut::<T>()?.iter_mut().zip(xs) {
            *a = if sign > 0 { *a + b } else { *a - b };
        }
        Ok(())
    }
    match acc.dtype() {
        rustflow_graph::DType::I32 => go::<i32>(acc, x, sign),
        rustflow_graph::DType::I64 => go::<i64>(acc, x, sign),
        d => Err(Error::Kernel(format!("assign_add is not defined for {d}"))),
    }
}

/// The sum of `grad` over the dimensions along which a tensor of `shape` was broadcast to
/// `grad`'s shape, reshaped to `shape` (the reduction of every broadcasting op's gradient).
pub fn sum_to_shape(grad: &Value, shape: &[usize]) -> Result<Value> {
    if grad.shape() == shape {
        return Ok(grad.clone());
    }
    let out_shape = grad.shape().to_vec();
    let expected = broadcast_dims(shape, &out_shape)?;
    if expected != out_shape {
        return Err(Error::Kernel(format!(
            "cannot reduce a gradient of shape {} to shape {}",
            fmt_dims(&out_shape),
            fmt_dims(shape)
        )));
    }
    let g = grad.as_slice::<f32>()?;
    let n: usize = shape.iter().product();
    let mut res = vec![0f32; n];
    // The common case, a bias: `shape` (minus leading 1s) is the trailing part of the
    // gradient's shape, so the sum runs over whole rows.
    let core: Vec<usize> = shape.iter().copied().skip_while(|&d| d == 1).collect();
    if n > 0 && out_shape.ends_with(&core) {
        for row in g.chunks_exact(n) {
            res.iter_mut().zip(row).for_each(|(r, &x)| *r += x);
        }
        return Value::new(shape, res);
    }
    let strides = broadcast_strides(shape, &out_shape);
    let rank = out_shape.len();
    if g.is_empty() || rank == 0 {
        return Value::new(shape, res);
    }
    for_each_offset(&out_shape, &strides, |i, off| res[off] += g[i]);
    Value::new(shape, res)
}
