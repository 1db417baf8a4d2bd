//! Helpers shared by the array ops: dtype dispatch, axis checks, and the kernels that cut a
//! tensor into pieces along an axis and glue pieces back together.

use crate::util::{norm_axis, shape_error};
use rustflow_graph::{fmt_dims, Dim, Element, Error, Graph, Result, Shape, Tensor, Value};

/// Runs `$body` with `$t` bound to the element type of `$dtype` (every dtype).
macro_rules! dispatch {
    ($dtype:expr, $t:ident => $body:expr) => {
        match $dtype {
            rustflow_graph::DType::F32 => {
                type $t = f32;
                $body
            }
            rustflow_graph::DType::I32 => {
                type $t = i32;
                $body
            }
            rustflow_graph::DType::I64 => {
                type $t = i64;
                $body
            }
            rustflow_graph::DType::Bool => {
                type $t = bool;
                $body
            }
            rustflow_graph::DType::String => {
                return Err(rustflow_graph::Error::Kernel(
                    "this op does not take string tensors".into(),
                ))
            }
        }
    };
}
pub(crate) use dispatch;

/// TensorFlow's message for an axis outside `[-rank, rank)`.
pub(crate) fn axis_message(axis: i64, rank: usize) -> String {
    let r = rank as i64;
    format!("Expected axis in range [{}, {r}), but got {axis}", -r)
}

/// `axis` normalised against a run-time rank, or a kernel error naming the shape.
pub(crate) fn run_axis(axis: i64, shape: &[usize]) -> Result<usize> {
    norm_axis(axis, shape.len()).ok_or_else(|| {
        Error::Kernel(format!(
            "{} for a tensor of shape {}",
            axis_message(axis, shape.len()),
            fmt_dims(shape)
        ))
    })
}

/// `axis` normalised against a static rank (`None` when the rank is unknown), or a build
/// error naming the node that `name` would become, its op and its inputs' shapes.
pub(crate) fn build_axis(
    g: &Graph,
    name: &str,
    op: &str,
    axis: i64,
    rank: Option<usize>,
    inputs: &[&Tensor],
) -> Result<Option<usize>> {
    match rank {
        None => Ok(None),
        Some(r) => norm_axis(axis, r)
            .map(Some)
            .ok_or_else(|| shape_error(g, name, op, axis_message(axis, r), inputs)),
    }
}

/// The static shape with dimension `axis` replaced by `d`.
pub(crate) fn with_dim(dims: &[Dim], axis: usize, d: Dim) -> Shape {
    let mut out = dims.to_vec();
    out[axis] = d;
    Shape::new(out)
}

/// The products of the dimensions before and after `axis`.
pub(crate) fn outer_inner(shape: &[usize], axis: usize) -> (usize, usize) {
    (
        shape[..axis].iter().product(),
        shape[axis + 1..].iter().product(),
    )
}

/// Glues `parts` along an axis: each part is `outer` chunks of `chunks[i]` elements, and
/// the output interleaves them chunk by chunk.
fn concat_data<T: Element>(parts: &[&[T]], chunks: &[usize], outer: usize) -> Vec<T> {
    let mut out = Vec::with_capacity(chunks.iter().sum::<usize>() * outer);
    for o in 0..outer {
        for (p, &c) in parts.iter().zip(chunks) {
            out.extend_from_slice(&p[o * c..(o + 1) * c]);
        }
    }
    out
}

/// `values` (one dtype) glued along `axis`; each value's shape is given by `shapes` (the
/// value's own shape, or that shape with a size-1 axis inserted, for `stack`), and all must
/// agree except along `axis`. `op` names the op in the messages.
pub(crate) fn concat_values(
    op: &str,
    values: &[&Value],
    shapes: &[Vec<usize>],
    axis: usize,
) -> Result<Value> {
    let first = &shapes[0];
    for (i, s) in shapes.iter().enumerate().skip(1) {
        let mismatch = s.len() != first.len()
            || s.iter()
                .zip(first)
                .enumerate()
                .any(|(d, (a, b))| d != axis && a != b);
        if mismatch || values[i].dtype() != values[0].dtype() {
            return Err(Error::Kernel(format!(
                "{op}: the inputs must have one dtype and the same shape except along axis {axis}: shape[0] = {} vs. shape[{i}] = {}",
                fmt_dims(first),
                fmt_dims(s)
            )));
        }
    }
    let (outer, inner) = outer_inner(first, axis);
    let chunks: Vec<usize> = shapes.iter().map(|s| s[axis] * inner).collect();
    let mut out_shape = first.clone();
    out_shape[axis] = shapes.iter().map(|s| s[axis]).sum();
    dispatch!(values[0].dtype(), T => {
        let parts = values
            .iter()
            .map(|v| v.as_slice::<T>())
            .collect::<Result<Vec<_>>>()?;
        Value::new(&out_shape, concat_data(&parts, &chunks, outer))
    })
}

/// `x` cut along `axis` into pieces of `sizes` (which add up to the axis' size); each
/// piece's shape is `x`'s with the axis' size replaced, or, with `drop_axis`, removed.
pub(crate) fn split_value(
    x: &Value,
    axis: usize,
    sizes: &[usize],
    drop_axis: bool,
) -> Result<Vec<Value>> {
    let shape = x.shape();
    let (outer, inner) = outer_inner(shape, axis);
    let row = shape[axis] * inner;
    let mut start = 0;
    sizes
        .iter()
        .map(|&s| {
            let mut piece_shape = shape.to_vec();
            if drop_axis {
                piece_shape.remove(axis);
            } else {
                piece_shape[axis] = s;
            }
            let (from, len) = (start * inner, s * inner);
            start += s;
            dispatch!(x.dtype(), T => {
                let src = x.as_slice::<T>()?;
                let mut out = Vec::with_capacity(outer * len);
                for o in 0..outer {
                    out.extend_from_slice(&src[o * row + from..o * row + from + len]);
                }
                Value::new(&piece_shape, out)
            })
        })
        .collect()
}

/// The integer elements of an int32 or int64 index tensor.
pub(crate) fn index_values(v: &Value) -> Result<Vec<i64>> {
    match v.dtype() {
        rustflow_graph::DType::I32 => Ok(v.as_slice::<i32>()?.iter().map(|&i| i as i64).collect()),
        _ => Ok(v.as_slice::<i64>()?.to_vec()),
    }
}

/// The multi-index of element `flat` of `shape`, as TensorFlow prints it (`1,0`).
fn multi_index(mut flat: usize, shape: &[usize]) -> String {
    let mut idx = vec![0; shape.len()];
    for (i, &d) in shape.iter().enumerate().rev() {
        if d > 0 {
            idx[i] = flat % d;
            flat /= d;
        }
    }
    idx.iter()
        .map(|i| i.to_string())
        .collect::<Vec<_>>()
        .join(",")
}

/// The elements of `indices` (of `shape`) as positions in `[0, n)`, or TensorFlow's
/// message naming the first one outside.
pub(crate) fn checked_indices(v: &Value, n: usize) -> Result<Vec<usize>> {
    index_values(v)?
        .into_iter()
        .enumerate()
        .map(|(k, i)| {
            usize::try_from(i).ok().filter(|&i| i < n).ok_or_else(|| {
                Error::Kernel(format!(
                    "indices[{}] = {i} is not in [0, {n})",
                    multi_index(k, v.shape())
                ))
            })
        })
        .collect()
}

/// Rows `rows` of `src` seen as `[outer, n, inner]`: the result is `[outer, rows.len(),
/// inner]`.
pub(crate) fn gather_rows<T: Element>(
    src: &[T],
    (outer, n, inner): (usize, usize, usize),
    rows: &[usize],
) -> Vec<T> {
    let mut out = Vec::with_capacity(outer * rows.len() * inner);
    for o in 0..outer {
        for &r in rows {
            let at = (o * n + r) * inner;
            out.extend_from_slice(&src[at..at + inner]);
        }
    }
    out
}

/// The adjoint of [`gather_rows`]: `dy` (`[outer, rows.len(), inner]`) added into zeros of
/// `[outer, n, inner]` at rows `rows` (repeated rows add up).
pub(crate) fn scatter_rows(
    dy: &[f32],
    (outer, n, inner): (usize, usize, usize),
    rows: &[usize],
) -> Vec<f32> {
    let mut out = vec![0f32; outer * n * inner];
    let mut src = dy.chunks_exact(inner.max(1));
    for o in 0..outer {
        for &r in rows {
            let at = (o * n + r) * inner;
            if let Some(d) = src.next() {
                for (y, &x) in out[at..at + inner].iter_mut().zip(d) {
                    *y += x;
                }
            }
        }
    }
    out
}
