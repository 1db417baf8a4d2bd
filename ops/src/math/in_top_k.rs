//! `in_top_k`: whether each row's target class is among its `k` largest predictions.

use crate::util::{add1, expect_dtype, shape_error};
use rustflow_graph::{
    fmt_dims, DType, Error, KernelContext, Op, Result, Shape, Tensor, TensorSpec, Value,
};

/// The `InTopKV2` op (bool output). TensorFlow registers no gradient for it, so a gradient
/// through it is an error (the default rule).
#[derive(Debug)]
pub struct InTopK {
    k: usize,
}

impl Op for InTopK {
    fn op_type(&self) -> &'static str {
        "InTopKV2"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let (p, t) = (ctx.input(0), ctx.input(1));
        let targets: Vec<i64> = match t.dtype() {
            DType::I32 => t.as_slice::<i32>()?.iter().map(|&v| v as i64).collect(),
            _ => t.as_slice::<i64>()?.to_vec(),
        };
        let (b, c) = match p.shape() {
            &[b, c] if targets.len() == b => (b, c),
            s => {
                return Err(Error::Kernel(format!(
                    "in_top_k: predictions {} must be [batch, classes] and targets {} [batch]",
                    fmt_dims(s),
                    fmt_dims(t.shape())
                )))
            }
        };
        let ps = p.as_slice::<f32>()?;
        let out = (0..b)
            .map(|r| {
                let row = &ps[r * c..(r + 1) * c];
                // In iff fewer than k classes predict strictly more (ties at the boundary are in).
                usize::try_from(targets[r])
                    .ok()
                    .filter(|&j| j < c)
                    .is_some_and(|j| {
                        row[j].is_finite() && row.iter().filter(|&&v| v > row[j]).count() < self.k
                    })
            })
            .collect();
        Ok(vec![Value::new(&[b], out)?])
    }
    fn attrs(&self) -> String {
        format!("k={}", self.k)
    }
}

/// Whether `targets[i]` is among the `k` largest of `predictions[i]`
/// (`tf.compat.v1.nn.in_top_k(predictions, targets, k)`; node `InTopKV2`). Classes tied at
/// the boundary count as in.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{in_top_k, placeholder};
/// let g = Graph::new();
/// let p = placeholder(&g, DType::F32, shape![?, 10], "p");
/// let t = placeholder(&g, DType::I32, shape![?], "t");
/// assert_eq!(in_top_k(&p, &t, 5).unwrap().shape().to_string(), "[?]");
/// ```
pub fn in_top_k(predictions: &Tensor, targets: &Tensor, k: usize) -> Result<Tensor> {
    let g = predictions.graph();
    g.check_owns(targets.graph(), &targets.to_string())?;
    let name = "InTopKV2";
    expect_dtype(g, name, name, predictions, &[DType::F32])?;
    expect_dtype(g, name, name, targets, &[DType::I32, DType::I64])?;
    let (ps, ts) = (predictions.shape(), targets.shape());
    let batch = match (ps.dims(), ts.dims()) {
        (Some(p), _) if p.len() != 2 => None,
        (_, Some(t)) if t.len() != 1 => None,
        (Some(p), Some(t)) => match (p[0], t[0]) {
            (Some(a), Some(b)) if a != b => None,
            (a, b) => Some(a.or(b)),
        },
        (Some(p), None) => Some(p[0]),
        (None, Some(t)) => Some(t[0]),
        (None, None) => Some(None),
    }
    .ok_or_else(|| {
        let msg = "predictions must be [batch, classes] and targets [batch]".to_string();
        shape_error(g, name, name, msg, &[predictions, targets])
    })?;
    add1(
        g,
        name,
        InTopK { k },
        &[predictions, targets],
        TensorSpec::new(DType::Bool, Shape::new(vec![batch])),
    )
}
