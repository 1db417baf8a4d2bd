//! `summary::merge` and `summary::merge_all`: several summaries as one.

use super::{output, pb};
use crate::util::add1;
use rustflow_graph::{
    not_differentiable, DType, Error, GradContext, Graph, GraphKeys, KernelContext, Op, Result,
    Tensor, TensorSpec, Value,
};
use rustflow_proto::Message;
use std::collections::HashSet;

/// The `MergeSummary` op: inputs serialized summaries, output one with all their values.
#[derive(Debug)]
pub struct MergeSummary;

impl Op for MergeSummary {
    fn op_type(&self) -> &'static str {
        "MergeSummary"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let mut values = Vec::new();
        let mut tags = HashSet::new();
        for input in &ctx.inputs {
            for bytes in input.as_strings()? {
                let s = pb::Summary::decode(bytes.as_slice()).map_err(|e| {
                    Error::Kernel(format!("Could not parse one of the summary inputs: {e}"))
                })?;
                for v in s.value {
                    if !tags.insert(v.tag.clone()) {
                        return Err(Error::Kernel(format!(
                            "Duplicate tag {} found in summary inputs",
                            v.tag
                        )));
                    }
                    values.push(v);
                }
            }
        }
        output(values)
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        not_differentiable(gc)
    }
}

/// One summary holding the values of all `inputs` (`tf.compat.v1.summary.merge`; node
/// `MergeSummary`). Two values with the same tag are a run-time error.
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{constant, summary};
/// let g = Graph::new();
/// let a = summary::scalar("a", &constant(&g, 1.0f32, "")).unwrap();
/// let b = summary::scalar("b", &constant(&g, 2.0f32, "")).unwrap();
/// assert_eq!(summary::merge(&[&a, &b]).unwrap().op().op_type(), "MergeSummary");
/// ```
pub fn merge(inputs: &[&Tensor]) -> Result<Tensor> {
    let Some(first) = inputs.first() else {
        return Err(Error::InvalidArgument {
            node: "Merge/MergeSummary".into(),
            op: "MergeSummary".into(),
            msg: "merge needs at least one summary".into(),
        });
    };
    let g = first.graph();
    if let Some(bad) = inputs.iter().find(|t| t.dtype() != DType::String) {
        return Err(Error::Type {
            node: g.peek_unique_name("Merge/MergeSummary"),
            op: "MergeSummary".into(),
            msg: format!("summaries are string tensors, got {bad}"),
        });
    }
    g.name_scope("Merge", |g| {
        add1(
            g,
            "MergeSummary",
            MergeSummary,
            inputs,
            TensorSpec::new(DType::String, Vec::<usize>::new()),
        )
    })
}

/// Every summary of `g`'s `SUMMARIES` collection merged into one, in creation order
/// (`tf.compat.v1.summary.merge_all`); `None` when the collection is empty. Summaries made
/// later are not in it: a program merges its per-step summaries, then makes the ones it
/// writes at other times.
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{constant, summary};
/// let g = Graph::new();
/// assert!(summary::merge_all(&g).unwrap().is_none());
/// summary::scalar("a", &constant(&g, 1.0f32, "")).unwrap();
/// assert!(summary::merge_all(&g).unwrap().is_some());
/// ```
pub fn merge_all(g: &Graph) -> Result<Option<Tensor>> {
    let summaries: Vec<Tensor> = g
        .get_collection(GraphKeys::SUMMARIES)
        .iter()
        .filter_map(|item| item.tensor().cloned())
        .collect();
    if summaries.is_empty() {
        return Ok(None);
    }
    merge(&summaries.iter().collect::<Vec<_>>()).map(Some)
}
