//! `range`: evenly spaced numbers.

use crate::util::{add1, arg_error};
use rustflow_graph::{DType, Graph, KernelContext, Op, Result, Tensor, TensorSpec, Value};

/// The `Range` op (no inputs; the sequence is computed when it runs).
#[derive(Debug)]
pub struct Range {
    start: f64,
    delta: f64,
    len: usize,
    dtype: DType,
}

impl Op for Range {
    fn op_type(&self) -> &'static str {
        "Range"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let n = self.len;
        ctx.check_output(self.dtype, &[n])?;
        Ok(vec![match self.dtype {
            // Element i is start + i * delta in float32, as TensorFlow computes it.
            DType::F32 => {
                let (s, d) = (self.start as f32, self.delta as f32);
                Value::new(&[n], (0..n).map(|i| s + i as f32 * d).collect())?
            }
            DType::I32 => Value::new(
                &[n],
                (0..n as i64)
                    .map(|i| (self.start as i64 + i * self.delta as i64) as i32)
                    .collect(),
            )?,
            _ => Value::new(
                &[n],
                (0..n as i64)
                    .map(|i| self.start as i64 + i * self.delta as i64)
                    .collect(),
            )?,
        }])
    }
    fn attrs(&self) -> String {
        format!(
            "start={}, delta={}, len={}",
            self.start, self.delta, self.len
        )
    }
}

/// `start, start + delta, ...` up to but excluding `limit` (`tf.range(start, limit, delta,
/// dtype)`; op `Range`), as int32, int64 or float32: `ceil((limit - start) / delta)`
/// elements. Element `i` is `start + i * delta` (in float32 for float32, not a running sum).
///
/// ```
/// use rustflow_graph::{DType, Graph};
/// use rustflow_ops::range;
/// let g = Graph::new();
/// assert_eq!(range(&g, 10.0, 2.0, -3.0, DType::I32).unwrap().shape().to_string(), "[3]");
/// assert_eq!(range(&g, 0.0, 1.0, 0.1, DType::F32).unwrap().shape().to_string(), "[10]");
/// assert!(range(&g, 0.0, 1.0, -1.0, DType::I32).is_err());
/// ```
pub fn range(g: &Graph, start: f64, limit: f64, delta: f64, dtype: DType) -> Result<Tensor> {
    let err = |m: String| arg_error(g, "range", "Range", m);
    if dtype == DType::Bool {
        return Err(err("Range takes int32, int64 or float32".into()));
    }
    if dtype != DType::F32 && [start, limit, delta].iter().any(|v| v.fract() != 0.0) {
        return Err(err(format!(
            "integer range with non-integer bounds: start {start}, limit {limit}, delta {delta}"
        )));
    }
    if delta == 0.0 {
        return Err(err("Requires delta != 0: 0".into()));
    }
    if delta > 0.0 && start > limit {
        return Err(err(format!(
            "Requires start <= limit when delta > 0: {start}/{limit}"
        )));
    }
    if delta < 0.0 && start < limit {
        return Err(err(format!(
            "Requires start >= limit when delta < 0: {start}/{limit}"
        )));
    }
    let len = if dtype == DType::F32 {
        ((limit as f32 - start as f32) / delta as f32).abs().ceil() as usize
    } else {
        ((limit - start) / delta).abs().ceil() as usize
    };
    let op = Range {
        start,
        delta,
        len,
        dtype,
    };
    add1(g, "range", op, &[], TensorSpec::new(dtype, vec![len]))
}
