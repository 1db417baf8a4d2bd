//! `sparse_softmax_cross_entropy_with_logits`: the cross-entropy between integer class
//! labels and the softmax of logits.

use crate::nn::softmax_xent::{loss_shape, mismatch, xent_outputs};
use crate::nn::xent_grad::logits_grad;
use crate::util::{add, expect_dtype, shape_error};
use rustflow_graph::{
    fmt_dims, DType, Error, GradContext, KernelContext, Op, Result, Tensor, TensorSpec, Value,
};

/// The `SparseSoftmaxCrossEntropyWithLogits` op: inputs (labels, logits), outputs (loss,
/// backprop) where `backprop = softmax(logits) - one_hot(labels)` is kept for the gradient.
#[derive(Debug)]
pub struct SparseSoftmaxCrossEntropyWithLogits;

fn labels_i64(v: &Value) -> Result<Vec<i64>> {
    match v.dtype() {
        DType::I32 => Ok(v.as_slice::<i32>()?.iter().map(|&x| x as i64).collect()),
        DType::I64 => Ok(v.as_slice::<i64>()?.to_vec()),
        d => Err(Error::Kernel(format!(
            "labels must be int32 or int64, got {d}"
        ))),
    }
}

impl Op for SparseSoftmaxCrossEntropyWithLogits {
    fn op_type(&self) -> &'static str {
        "SparseSoftmaxCrossEntropyWithLogits"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let (labels, logits) = (ctx.input(0), ctx.input(1));
        let Some((&c, lead)) = logits
            .shape()
            .split_last()
            .filter(|(_, l)| *l == labels.shape())
        else {
            return Err(Error::Kernel(format!(
                "labels must have the shape of logits without its last dimension: logits {}, labels {}",
                fmt_dims(logits.shape()),
                fmt_dims(labels.shape())
            )));
        };
        let y = labels_i64(labels)?;
        if let Some(&bad) = y.iter().find(|&&l| l < 0 || l as u64 >= c as u64) {
            return Err(Error::Kernel(format!(
                "Received a label value of {bad} which is outside the valid range of [0, {c})."
            )));
        }
        xent_outputs(logits, lead, c, |i, zr, m, lse, br| {
            for (&zv, b) in zr.iter().zip(br.iter_mut()) {
                *b = (zv - m - lse).exp();
            }
            let k = y[i] as usize;
            br[k] -= 1.0;
            lse - (zr[k] - m)
        })
    }
    /// `dlogits = dy[..., None] * (softmax(logits) - one_hot(labels))`; integer labels get none.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let dlogits = logits_grad(gc.dy(0), gc.y(1), gc.dy(1), gc.x(1))?;
        Ok(vec![None, Some(dlogits)])
    }
}

/// The cross-entropy between integer class ids `labels` (int32 or int64, shape `S`) and the
/// softmax of `logits` (float32, shape `S + [num_classes]`), one loss per label
/// (`tf.nn.sparse_softmax_cross_entropy_with_logits`; node name
/// `SparseSoftmaxCrossEntropyWithLogits`).
///
/// A label outside `[0, num_classes)` is a run-time error: `Received a label value of 3 which
/// is outside the valid range of [0, 3).` The gradient with respect to `logits` is
/// `dy[..., None] * (softmax(logits) - one_hot(labels))`.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::nn::sparse_softmax_cross_entropy_with_logits;
/// use rustflow_ops::placeholder;
/// let g = Graph::new();
/// let y_ = placeholder(&g, DType::I64, shape![?], "y_");
/// let logits = placeholder(&g, DType::F32, shape![?, 10], "logits");
/// let loss = sparse_softmax_cross_entropy_with_logits(&y_, &logits).unwrap();
/// assert_eq!(loss.shape().to_string(), "[?]");
/// let float_labels = placeholder(&g, DType::F32, shape![?], "f");
/// assert!(sparse_softmax_cross_entropy_with_logits(&float_labels, &logits).is_err());
/// ```
pub fn sparse_softmax_cross_entropy_with_logits(
    labels: &Tensor,
    logits: &Tensor,
) -> Result<Tensor> {
    let name = "SparseSoftmaxCrossEntropyWithLogits";
    let g = logits.graph();
    g.check_owns(labels.graph(), &labels.to_string())?;
    expect_dtype(g, name, name, logits, &[DType::F32])?;
    expect_dtype(g, name, name, labels, &[DType::I32, DType::I64])?;
    let err = |msg: String| shape_error(g, name, name, msg, &[labels, logits]);
    let (ls, zs) = (labels.shape(), logits.shape());
    let lead = loss_shape(&zs).map_err(err)?;
    let loss_shape = lead.merge(&ls).ok_or_else(|| {
        err(mismatch(ls.dims(), lead.dims(), |a, b| {
            format!(
                "Shape must be rank {b} (the logits' rank minus 1) but is rank {a} for the labels"
            )
        }))
    })?;
    let outs = vec![
        TensorSpec::new(DType::F32, loss_shape),
        TensorSpec::new(DType::F32, zs),
    ];
    add(
        g,
        name,
        SparseSoftmaxCrossEntropyWithLogits,
        &[labels, logits],
        outs,
    )?
    .output(0)
}
