//! `summary::histogram`: the distribution of a tensor's values, with TensorFlow's buckets.

use super::{add_summary, output, pb, tag};
use rustflow_graph::{
    not_differentiable, Error, GradContext, KernelContext, Op, Result, Tensor, Value,
};
use std::sync::OnceLock;

/// The `HistogramSummary` op: inputs the tag and any real tensor.
#[derive(Debug)]
pub struct HistogramSummary;

impl Op for HistogramSummary {
    fn op_type(&self) -> &'static str {
        "HistogramSummary"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let tag = tag(ctx)?;
        let values = ctx.input(1).to_f64_vec();
        if let Some(bad) = values.iter().find(|v| !v.is_finite()) {
            let what = if bad.is_nan() { "Nan" } else { "Inf" };
            return Err(Error::Kernel(format!(
                "{what} in summary histogram for: {tag}"
            )));
        }
        output(vec![pb::summary::Value {
            tag,
            value: Some(pb::summary::value::Value::Histo(histogram_of(&values))),
            ..Default::default()
        }])
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        not_differentiable(gc)
    }
}

/// TensorFlow's default bucket edges: ±1e-12 · 1.1^k up to 1e20, ±f64::MAX, and 0.
fn default_limits() -> &'static [f64] {
    static LIMITS: OnceLock<Vec<f64>> = OnceLock::new();
    LIMITS.get_or_init(|| {
        let mut pos = vec![];
        let mut v = 1e-12;
        while v < 1e20 {
            pos.push(v);
            v *= 1.1;
        }
        pos.push(f64::MAX);
        let neg = pos.iter().rev().map(|v| -v);
        neg.chain([0.0]).chain(pos.iter().copied()).collect()
    })
}

/// The histogram of `values` as TensorFlow encodes it: each value counts in the first bucket
/// whose edge exceeds it, and each run of empty buckets is one bucket (its last edge).
fn histogram_of(values: &[f64]) -> pb::HistogramProto {
    let limits = default_limits();
    let mut counts = vec![0f64; limits.len()];
    for &v in values {
        let i = limits.partition_point(|&l| l <= v).min(limits.len() - 1);
        counts[i] += 1.0;
    }
    let mut h = pb::HistogramProto {
        min: values.iter().copied().fold(f64::MAX, f64::min),
        max: values.iter().copied().fold(-f64::MAX, f64::max),
        num: values.len() as f64,
        sum: values.iter().sum(),
        sum_squares: values.iter().map(|v| v * v).sum(),
        ..Default::default()
    };
    let mut i = 0;
    while i < counts.len() {
        let (mut end, mut count) = (limits[i], counts[i]);
        i += 1;
        if count <= 0.0 {
            while i < counts.len() && counts[i] <= 0.0 {
                (end, count) = (limits[i], counts[i]);
                i += 1;
            }
        }
        h.bucket_limit.push(end);
        h.bucket.push(count);
    }
    h
}

/// A histogram summary of `x`'s values tagged `name` under the current name scope
/// (`tf.compat.v1.summary.histogram`; node `HistogramSummary`). A NaN or infinite value is a
/// run-time error, as in TensorFlow.
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{constant, summary};
/// let g = Graph::new();
/// let s = summary::histogram("weights", &constant(&g, [0.5f32, -1.0], "")).unwrap();
/// assert_eq!(s.op().op_type(), "HistogramSummary");
/// ```
pub fn histogram(name: &str, x: &Tensor) -> Result<Tensor> {
    add_summary(x, name, HistogramSummary)
}

#[cfg(test)]
mod tests {
    use super::{default_limits, histogram_of};

    #[test]
    fn buckets_follow_tensorflows_edges() {
        let limits = default_limits();
        // 1e-12 · 1.1^k below 1e20 is 774 edges a side, plus ±DBL_MAX and 0.
        assert_eq!(limits.len(), 2 * 775 + 1);
        assert_eq!(limits[775], 0.0);
        assert!(limits.windows(2).all(|w| w[0] < w[1]));
        let h = histogram_of(&[0.5, 0.5, -2.0, 3.0]);
        assert_eq!((h.min, h.max, h.num, h.sum), (-2.0, 3.0, 4.0, 2.0));
        assert_eq!(h.sum_squares, 0.25 + 0.25 + 4.0 + 9.0);
        // Counted values, each in the bucket whose edge is the first above it.
        let counted: Vec<(f64, f64)> = h
            .bucket_limit
            .iter()
            .zip(&h.bucket)
            .filter(|(_, &c)| c > 0.0)
            .map(|(&l, &c)| (l, c))
            .collect();
        assert_eq!(counted.len(), 3);
        assert!(counted[0].0 > -2.0 && counted[0].0 * 1.1 <= -2.0);
        assert_eq!(counted[1].1, 2.0);
        assert!(counted[1].0 > 0.5 && counted[1].0 / 1.1 <= 0.5);
        // Empty runs collapse: no two empty buckets in a row.
        assert!(h.bucket.windows(2).all(|w| w[0] > 0.0 || w[1] > 0.0));
        assert_eq!(h.bucket.iter().sum::<f64>(), 4.0);
    }
}
