//! `summary::text`: strings, shown by TensorBoard's text plugin.

use super::{add_summary, output, pb, tag};
use rustflow_graph::{
    not_differentiable, DType, Error, GradContext, KernelContext, Op, Result, Tensor, Value,
};
use rustflow_proto::Message;

/// The `TensorSummaryV2` op of a text summary: inputs the tag and a string tensor.
#[derive(Debug)]
pub struct TextSummary;

/// The fields of TensorFlow's `TensorProto` that a string tensor uses.
#[derive(Clone, PartialEq, prost::Message)]
struct StringTensor {
    /// `DT_STRING`.
    #[prost(int32, tag = "1")]
    dtype: i32,
    #[prost(message, optional, tag = "2")]
    tensor_shape: Option<TensorShape>,
    #[prost(bytes = "vec", repeated, tag = "8")]
    string_val: Vec<Vec<u8>>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct TensorShape {
    #[prost(message, repeated, tag = "2")]
    dim: Vec<ShapeDim>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ShapeDim {
    #[prost(int64, tag = "1")]
    size: i64,
}

/// TensorFlow's `DT_STRING`.
const DT_STRING: i32 = 7;

impl Op for TextSummary {
    fn op_type(&self) -> &'static str {
        "TensorSummaryV2"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let tag = tag(ctx)?;
        let x = ctx.input(1);
        let tensor = StringTensor {
            dtype: DT_STRING,
            tensor_shape: Some(TensorShape {
                dim: x
                    .shape()
                    .iter()
                    .map(|&d| ShapeDim { size: d as i64 })
                    .collect(),
            }),
            string_val: x.as_strings()?.to_vec(),
        };
        output(vec![pb::summary::Value {
            tag,
            metadata: Some(pb::SummaryMetadata {
                plugin_data: Some(pb::PluginData {
                    plugin_name: "text".into(),
                    content: Vec::new(),
                }),
                ..Default::default()
            }),
            value: Some(pb::summary::value::Value::Tensor(tensor.encode_to_vec())),
            ..Default::default()
        }])
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        not_differentiable(gc)
    }
}

/// A text summary of the string tensor `x` (Markdown, shown by TensorBoard's text plugin),
/// tagged `name` under the current name scope (`tf.compat.v1.summary.text`; node
/// `TensorSummaryV2`).
///
/// ```
/// use rustflow_graph::{Graph, Value};
/// use rustflow_ops::{constant, summary};
/// let g = Graph::new();
/// let note = constant(&g, Value::strings(&[], vec![b"*lr* 0.01".to_vec()]).unwrap(), "");
/// assert_eq!(summary::text("config", &note).unwrap().op().op_type(), "TensorSummaryV2");
/// ```
pub fn text(name: &str, x: &Tensor) -> Result<Tensor> {
    if x.dtype() != DType::String {
        let g = x.graph();
        return Err(Error::Type {
            node: g.peek_unique_name(name),
            op: "TensorSummaryV2".into(),
            msg: format!("a text summary takes a string tensor, got {}", x.dtype()),
        });
    }
    add_summary(x, name, TextSummary)
}
