//! Clipping, as TensorFlow composes it from other ops: `clip_by_value`, `clip_by_norm`,
//! `clip_by_global_norm`, and the norms `l2_loss` and `l2_normalize`.

use crate::{add_n, constant, div, maximum, minimum, mul, reduce_sum, rsqrt, sqrt, square, Axes};
use rustflow_graph::{Error, Result, Tensor};

/// `t` clipped to `[lo, hi]` (`tf.clip_by_value`): `maximum(minimum(t, hi), lo)`, so at a
/// bound the gradient goes to `t`.
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{clip_by_value, constant};
/// let g = Graph::new();
/// let (lo, hi) = (constant(&g, 0f32, ""), constant(&g, 1f32, ""));
/// let y = clip_by_value(&constant(&g, [-1.0f32, 0.5, 2.0], ""), &lo, &hi).unwrap();
/// assert_eq!(y.shape().to_string(), "[3]");
/// ```
pub fn clip_by_value(t: &Tensor, lo: &Tensor, hi: &Tensor) -> Result<Tensor> {
    maximum(&minimum(t, hi)?, lo)
}

/// Half the sum of squares, `sum(t²) / 2` (`tf.nn.l2_loss`); a scalar.
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{constant, l2_loss};
/// let g = Graph::new();
/// assert_eq!(l2_loss(&constant(&g, [1.0f32, 2.0], "")).unwrap().shape().to_string(), "[]");
/// ```
pub fn l2_loss(t: &Tensor) -> Result<Tensor> {
    mul(
        &reduce_sum(&square(t)?, None, false)?,
        &constant(t.graph(), 0.5f32, "Const"),
    )
}

/// `x / sqrt(max(sum(x², axis), epsilon))` (`tf.math.l2_normalize(x, axis, epsilon)`).
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{constant, l2_normalize};
/// let g = Graph::new();
/// let y = l2_normalize(&constant(&g, [[3.0f32, 4.0]], ""), 1, 1e-12).unwrap();
/// assert_eq!(y.shape().to_string(), "[1,2]");
/// ```
pub fn l2_normalize(x: &Tensor, axis: impl Into<Axes>, epsilon: f32) -> Result<Tensor> {
    let sum = reduce_sum(&square(x)?, axis, true)?;
    let eps = constant(x.graph(), epsilon, "Const");
    mul(x, &rsqrt(&maximum(&sum, &eps)?)?)
}

/// `t * clip_norm / max(norm(t), clip_norm)` with the L2 norm over `axes` (`None`: all)
/// (`tf.clip_by_norm`): `t` unchanged where its norm is at most `clip_norm`.
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{clip_by_norm, constant};
/// let g = Graph::new();
/// let y = clip_by_norm(&constant(&g, [[3.0f32, 4.0]], ""), 1.0, None).unwrap();
/// assert_eq!(y.shape().to_string(), "[1,2]");
/// ```
pub fn clip_by_norm(t: &Tensor, clip_norm: f32, axes: impl Into<Axes>) -> Result<Tensor> {
    let g = t.graph();
    let l2sum = reduce_sum(&square(t)?, axes, true)?;
    // A zero norm stays finite (and its gradient too): the maximum below then picks clip_norm.
    let tiny = constant(g, f32::MIN_POSITIVE, "Const");
    let norm = sqrt(&maximum(&l2sum, &tiny)?)?;
    let clip = constant(g, clip_norm, "Const");
    div(&mul(t, &clip)?, &maximum(&norm, &clip)?)
}

/// Each of `ts` scaled by `clip_norm / max(global_norm, clip_norm)`, and the global norm
/// `sqrt(sum of every t²)` before clipping (`tf.clip_by_global_norm`). Gradients flow through
/// the norm too, as in TensorFlow.
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{clip_by_global_norm, constant};
/// let g = Graph::new();
/// let (a, b) = (constant(&g, [3.0f32], ""), constant(&g, [4.0f32], ""));
/// let (clipped, norm) = clip_by_global_norm(&[&a, &b], 1.0).unwrap();
/// assert_eq!((clipped.len(), norm.shape().to_string()), (2, "[]".to_string()));
/// ```
pub fn clip_by_global_norm(ts: &[&Tensor], clip_norm: f32) -> Result<(Vec<Tensor>, Tensor)> {
    let Some(first) = ts.first() else {
        return Err(Error::Kernel(
            "clip_by_global_norm needs at least one tensor".into(),
        ));
    };
    let g = first.graph();
    let halves = ts.iter().map(|t| l2_loss(t)).collect::<Result<Vec<_>>>()?;
    let half = add_n(&halves.iter().collect::<Vec<_>>())?;
    let norm = sqrt(&mul(&half, &constant(g, 2f32, "Const"))?)?;
    // TensorFlow's clip_norm * min(1 / norm, 1 / clip_norm).
    let one = constant(g, 1f32, "Const");
    let clip = constant(g, clip_norm, "Const");
    let scale = mul(&clip, &minimum(&div(&one, &norm)?, &div(&one, &clip)?)?)?;
    let clipped = ts.iter().map(|t| mul(t, &scale)).collect::<Result<_>>()?;
    Ok((clipped, norm))
}
