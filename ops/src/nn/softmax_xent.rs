//! `softmax_cross_entropy_with_logits` (v1 and v2): the cross-entropy between label
//! distributions and the softmax of logits, along the last dimension.

use crate::nn::xent_grad::{logits_grad, xent_grad};
use crate::nn::{log_softmax, log_softmax_grad};
use crate::util::{add, add1, expect_dtype, same_dtype, shape_error};
use crate::{mul, neg, reduce_sum};
use rustflow_graph::{
    fmt_dims, DType, Dim, Error, GradContext, KernelContext, Op, Result, Shape, Tensor, TensorSpec,
    Value,
};

/// The `SoftmaxCrossEntropyWithLogits` op: inputs (labels, logits), outputs (loss, backprop)
/// where `backprop = softmax(logits) - labels` is kept for the gradient.
#[derive(Debug)]
pub struct SoftmaxCrossEntropyWithLogits {
    /// Whether the labels get a gradient (v2) or not (v1, TF1's `stop_gradient(labels)`).
    labels_grad: bool,
}

/// For each row of `c` logits: the max, and `ln Σ exp(z - max)`.
pub(crate) fn row_stats(z: &[f32]) -> (f32, f32) {
    let m = z.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let s: f32 = z.iter().map(|&v| (v - m).exp()).sum();
    (m, s.ln())
}

/// A cross-entropy op's outputs (loss, backprop) over `logits` of shape `lead + [c]`: for
/// each row `i`, with its logits `zr`, their max `m` and `lse = ln Σ exp(zr - m)`,
/// `row(i, zr, m, lse, br)` fills the row's backprop `br` and returns the row's loss.
pub(crate) fn xent_outputs(
    logits: &Value,
    lead: &[usize],
    c: usize,
    mut row: impl FnMut(usize, &[f32], f32, f32, &mut [f32]) -> f32,
) -> Result<Vec<Value>> {
    let z = logits.as_slice::<f32>()?;
    let rows: usize = lead.iter().product();
    let mut loss = vec![0f32; rows];
    let mut backprop = vec![0f32; z.len()];
    if c > 0 {
        for (i, ((zr, br), l)) in z
            .chunks_exact(c)
            .zip(backprop.chunks_exact_mut(c))
            .zip(&mut loss)
            .enumerate()
        {
            let (m, lse) = row_stats(zr);
            *l = row(i, zr, m, lse, br);
        }
    }
    Ok(vec![
        Value::new(lead, loss)?,
        Value::new(logits.shape(), backprop)?,
    ])
}

/// The build-time shape of a cross-entropy's loss for logits of shape `logits`: all but the
/// last dimension, or an error message for a scalar.
pub(crate) fn loss_shape(logits: &Shape) -> std::result::Result<Shape, String> {
    match logits.dims() {
        None => Ok(Shape::unknown()),
        Some([]) => Err("Shape must be at least rank 1 but is rank 0".into()),
        Some(d) => Ok(Shape::new(d[..d.len() - 1].to_vec())),
    }
}

/// Why the labels' shape `a` does not merge with the shape `b` they must have: the first
/// differing known dimensions, `rank(a.len(), b.len())` for different ranks, or nothing.
pub(crate) fn mismatch(
    a: Option<&[Dim]>,
    b: Option<&[Dim]>,
    rank: impl FnOnce(usize, usize) -> String,
) -> String {
    match (a, b) {
        (Some(a), Some(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .find_map(|(x, y)| match (x, y) {
                (Some(x), Some(y)) if x != y => {
                    Some(format!("Dimensions must be equal, but are {x} and {y}"))
                }
                _ => None,
            })
            .unwrap_or_default(),
        (Some(a), Some(b)) => rank(a.len(), b.len()),
        _ => String::new(),
    }
}

impl Op for SoftmaxCrossEntropyWithLogits {
    fn op_type(&self) -> &'static str {
        "SoftmaxCrossEntropyWithLogits"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let (labels, logits) = (ctx.input(0), ctx.input(1));
        let Some((&c, lead)) = logits
            .shape()
            .split_last()
            .filter(|_| labels.shape() == logits.shape())
        else {
            return Err(Error::Kernel(format!(
                "logits and labels must be same size and at least rank 1: logits_size={} labels_size={}",
                fmt_dims(logits.shape()),
                fmt_dims(labels.shape())
            )));
        };
        let y = labels.as_slice::<f32>()?;
        xent_outputs(logits, lead, c, |i, zr, m, lse, br| {
            let mut acc = 0f32;
            for ((&zv, &yv), b) in zr.iter().zip(&y[i * c..(i + 1) * c]).zip(br) {
                let shifted = zv - m;
                acc += yv * (lse - shifted);
                *b = (shifted - lse).exp() - yv;
            }
            acc
        })
    }
    /// `dlogits = dy[..., None] * (softmax(logits) - labels)`; for v2 also
    /// `dlabels = -dy[..., None] * log_softmax(logits)`. An upstream gradient of the backprop
    /// output adds its derivative through the softmax to `dlogits` only (as TensorFlow).
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let dy = gc.dy(0);
        let dlogits = logits_grad(dy, gc.y(1), gc.dy(1), gc.x(1))?;
        let dlabels = if self.labels_grad {
            Some(add1(
                gc.graph,
                "XentLabelsGrad",
                XentLabelsGrad,
                &[dy, gc.x(1)],
                gc.x(1).spec(),
            )?)
        } else {
            None
        };
        Ok(vec![dlabels, Some(dlogits)])
    }
    fn attrs(&self) -> String {
        format!("labels_grad={}", self.labels_grad)
    }
}

/// The `XentLabelsGrad` op: inputs (dy, logits), output `-dy[..., None] * log_softmax(logits)`,
/// the labels gradient of the v2 cross-entropy.
#[derive(Debug)]
pub struct XentLabelsGrad;

impl Op for XentLabelsGrad {
    fn op_type(&self) -> &'static str {
        "XentLabelsGrad"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let (dy, logits) = (ctx.input(0), ctx.input(1));
        let Some((&c, _)) = logits
            .shape()
            .split_last()
            .filter(|(_, l)| *l == dy.shape())
        else {
            return Err(Error::Kernel(format!(
                "the loss gradient {} does not fit the logits {}",
                fmt_dims(dy.shape()),
                fmt_dims(logits.shape())
            )));
        };
        let (d, z) = (dy.as_slice::<f32>()?, logits.as_slice::<f32>()?);
        let mut out = vec![0f32; z.len()];
        if c > 0 {
            for ((zr, o), &g) in z.chunks_exact(c).zip(out.chunks_exact_mut(c)).zip(d) {
                let (m, lse) = row_stats(zr);
                for (&zv, ov) in zr.iter().zip(o) {
                    *ov = -g * (zv - m - lse);
                }
            }
        }
        Ok(vec![Value::new(logits.shape(), out)?])
    }
    /// Bilinear in (dy, log_softmax(logits)), with `ls = log_softmax(logits)`:
    /// `d(dy) = -Σ_last g·ls`, `d(logits) = log_softmax_grad(-dy[..., None] * g, ls)`.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let (dy, g) = (gc.x(0), gc.dy(0));
        let ls = log_softmax(gc.x(1))?;
        Ok(vec![
            Some(neg(&reduce_sum(&mul(g, &ls)?, -1, false)?)?),
            Some(log_softmax_grad(&neg(&xent_grad(dy, g)?)?, &ls)?),
        ])
    }
}

fn build(labels: &Tensor, logits: &Tensor, labels_grad: bool) -> Result<Tensor> {
    let name = "SoftmaxCrossEntropyWithLogits";
    let g = logits.graph();
    g.check_owns(labels.graph(), &labels.to_string())?;
    expect_dtype(g, name, name, logits, &[DType::F32])?;
    same_dtype(g, name, name, &[logits, labels])?;
    let err = |msg: String| shape_error(g, name, name, msg, &[labels, logits]);
    let (ls, zs) = (labels.shape(), logits.shape());
    let merged = ls.merge(&zs).ok_or_else(|| {
        err(mismatch(ls.dims(), zs.dims(), |a, b| {
            format!("Shapes must be equal rank, but are {a} and {b}")
        }))
    })?;
    let outs = vec![
        TensorSpec::new(DType::F32, loss_shape(&merged).map_err(err)?),
        TensorSpec::new(DType::F32, merged),
    ];
    add(
        g,
        name,
        SoftmaxCrossEntropyWithLogits { labels_grad },
        &[labels, logits],
        outs,
    )?
    .output(0)
}

/// The cross-entropy `-Σ labels * log_softmax(logits)` along the last dimension, one loss per
/// row (TF1's `tf.nn.softmax_cross_entropy_with_logits`, the tutorial's call; node name
/// `SoftmaxCrossEntropyWithLogits`). `labels` and `logits` have the same shape; the loss has
/// that shape minus its last dimension.
///
/// Stable for large logits (the row maximum is subtracted first). The gradient with respect
/// to `logits` is `dy[..., None] * (softmax(logits) - labels)`, even for labels that do not
/// sum to 1; `labels` get no gradient (`None`), as in TF1. See
/// [`softmax_cross_entropy_with_logits_v2`] for a labels gradient.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::nn::softmax_cross_entropy_with_logits;
/// use rustflow_ops::placeholder;
/// let g = Graph::new();
/// let y_ = placeholder(&g, DType::F32, shape![?, 10], "y_");
/// let logits = placeholder(&g, DType::F32, shape![?, 10], "logits");
/// let loss = softmax_cross_entropy_with_logits(&y_, &logits).unwrap();
/// assert_eq!(loss.shape().to_string(), "[?]");
/// let bad = placeholder(&g, DType::F32, shape![?, 9], "bad");
/// assert!(softmax_cross_entropy_with_logits(&bad, &logits).is_err());
/// ```
pub fn softmax_cross_entropy_with_logits(labels: &Tensor, logits: &Tensor) -> Result<Tensor> {
    build(labels, logits, false)
}

/// [`softmax_cross_entropy_with_logits`] whose labels also get a gradient,
/// `-dy[..., None] * log_softmax(logits)` (`tf.nn.softmax_cross_entropy_with_logits_v2`).
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::nn::softmax_cross_entropy_with_logits_v2;
/// use rustflow_ops::{gradients, placeholder};
/// let g = Graph::new();
/// let y_ = placeholder(&g, DType::F32, shape![?, 10], "y_");
/// let logits = placeholder(&g, DType::F32, shape![?, 10], "logits");
/// let loss = softmax_cross_entropy_with_logits_v2(&y_, &logits).unwrap();
/// let d = gradients(&[&loss], &[&y_, &logits], None).unwrap();
/// assert!(d[0].is_some() && d[1].is_some());
/// ```
pub fn softmax_cross_entropy_with_logits_v2(labels: &Tensor, logits: &Tensor) -> Result<Tensor> {
    build(labels, logits, true)
}
