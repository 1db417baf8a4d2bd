//! Stacking values along a new first axis and taking rows back out, for any dtype: what a
//! `While` keeps of each iteration for its gradient.

use rustflow_graph::{fmt_dims, Buffer, Error, Result, Value};
use std::sync::Arc;

/// `values` stacked along a new axis 0; each must have shape `elem` (the shape of an empty
/// stack's elements).
pub(crate) fn stack(values: &[Value], elem: &[usize]) -> Result<Value> {
    let mut shape = vec![values.len()];
    shape.extend_from_slice(elem);
    if let Some(bad) = values.iter().find(|v| v.shape() != elem) {
        return Err(Error::Kernel(format!(
            "a loop variable changed its shape from {} to {} across iterations; its gradient needs one shape",
            fmt_dims(elem),
            fmt_dims(bad.shape())
        )));
    }
    fn cat<T: Clone>(parts: impl Iterator<Item = Arc<Vec<T>>>) -> Vec<T> {
        let mut out = Vec::new();
        for p in parts {
            out.extend_from_slice(&p);
        }
        out
    }
    macro_rules! each {
        ($variant:ident) => {
            cat(values.iter().filter_map(|v| match v.buffer() {
                Buffer::$variant(d) => Some(d.clone()),
                _ => None,
            }))
        };
    }
    let kind = values.first().map(|v| v.buffer());
    match kind {
        None | Some(Buffer::F32(_)) => Value::new(&shape, each!(F32)),
        Some(Buffer::I32(_)) => Value::new(&shape, each!(I32)),
        Some(Buffer::I64(_)) => Value::new(&shape, each!(I64)),
        Some(Buffer::Bool(_)) => Value::new(&shape, each!(Bool)),
        Some(Buffer::String(_)) => Value::strings(&shape, each!(String)),
    }
}

/// Row `t` of `v` (along axis 0), as a value of its own.
pub(crate) fn row(v: &Value, t: usize) -> Result<Value> {
    let shape = v.shape().get(1..).unwrap_or_default();
    let len: usize = shape.iter().product();
    let r = t * len..(t + 1) * len;
    if v.shape().first().is_none_or(|&n| t >= n) {
        return Err(Error::Kernel(format!(
            "row {t} of a stack of shape {}",
            fmt_dims(v.shape())
        )));
    }
    match v.buffer() {
        Buffer::F32(d) => Value::new(shape, d[r].to_vec()),
        Buffer::I32(d) => Value::new(shape, d[r].to_vec()),
        Buffer::I64(d) => Value::new(shape, d[r].to_vec()),
        Buffer::Bool(d) => Value::new(shape, d[r].to_vec()),
        Buffer::String(d) => Value::strings(shape, d[r].to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_of_a_stack_are_the_stacked_values() {
        let a = Value::new(&[2], vec![1i32, 2]).unwrap();
        let b = Value::new(&[2], vec![3i32, 4]).unwrap();
        let s = stack(&[a, b.clone()], &[2]).unwrap();
        assert_eq!(s.shape(), &[2, 2]);
        assert_eq!(row(&s, 1).unwrap().as_slice::<i32>().unwrap(), &[3, 4]);
        assert!(row(&s, 2).is_err());
        assert_eq!(stack(&[], &[3]).unwrap().shape(), &[0, 3]);
        assert!(stack(&[b], &[3]).is_err());
    }
}
