//! `summary::scalar`: one number per step, a curve in TensorBoard.

use super::{add_summary, output, pb, tag};
use rustflow_graph::{
    fmt_dims, not_differentiable, Error, GradContext, KernelContext, Op, Result, Tensor, Value,
};

/// The `ScalarSummary` op: inputs the tag and a one-element tensor.
#[derive(Debug)]
pub struct ScalarSummary;

impl Op for ScalarSummary {
    fn op_type(&self) -> &'static str {
        "ScalarSummary"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let tag = tag(ctx)?;
        let x = ctx.input(1);
        let v = x.to_f64_vec();
        let [v] = v[..] else {
            return Err(Error::Kernel(format!(
                "tags and values are not the same shape: [] != {} (tag '{tag}')",
                fmt_dims(x.shape())
            )));
        };
        output(vec![pb::summary::Value {
            tag,
            value: Some(pb::summary::value::Value::SimpleValue(v as f32)),
            ..Default::default()
        }])
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        not_differentiable(gc)
    }
}

/// A scalar summary of `x` (a tensor of one element) tagged `name` under the current name
/// scope (`tf.compat.v1.summary.scalar`; node `ScalarSummary`).
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{constant, summary};
/// let g = Graph::new();
/// let s = summary::scalar("loss", &constant(&g, 0.5f32, "")).unwrap();
/// assert_eq!(s.op().name(), "loss");
/// assert_eq!(s.op().op_type(), "ScalarSummary");
/// ```
pub fn scalar(name: &str, x: &Tensor) -> Result<Tensor> {
    add_summary(x, name, ScalarSummary)
}
