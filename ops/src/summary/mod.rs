//! Summary ops (`tf.summary`): each outputs a serialized `Summary` protocol buffer (a
//! `tf.string` scalar) for a `FileWriter` to write and TensorBoard to show.
//!
//! As in TensorFlow 1.x, a summary's tag is its node's name, `name` made unique under the
//! current name scope (`train/cross_entropy`), and [`merge_all`] gathers every summary op of
//! the graph (TensorFlow's `SUMMARIES` collection, which each summary op joins).

mod histogram;
mod image;
mod merge;
mod scalar;
mod text;

pub use histogram::histogram;
pub use image::image;
pub use merge::{merge, merge_all};
pub use scalar::scalar;
pub use text::text;

use crate::state::constant;
use crate::util::add1;
use rustflow_graph::{
    DType, Error, GraphKeys, KernelContext, Op, Result, Tensor, TensorSpec, Value,
};
use rustflow_proto::tensorboard as pb;
use rustflow_proto::Message;

/// Adds summary op `op` on `x` in a name scope `name`: its tag (a string constant, input 0) is
/// the scope's name, and so is the node's. It joins the `SUMMARIES` collection.
fn add_summary(x: &Tensor, name: &str, op: impl Op) -> Result<Tensor> {
    let summary = x.graph().name_scope(name, |g| {
        let tag = g.current_scope();
        let tags = constant(
            g,
            Value::strings(&[], vec![tag.clone().into_bytes()])?,
            "tags",
        );
        add1(
            g,
            &format!("{tag}/"),
            op,
            &[&tags, x],
            TensorSpec::new(DType::String, Vec::<usize>::new()),
        )
    })?;
    x.graph()
        .add_to_collection(GraphKeys::SUMMARIES, summary.clone());
    Ok(summary)
}

/// The tag a summary kernel was given (input 0).
fn tag(ctx: &KernelContext<'_>) -> Result<String> {
    match ctx.input(0).as_strings()? {
        [t] => Ok(String::from_utf8_lossy(t).into_owned()),
        t => Err(Error::Kernel(format!(
            "tags must be a single string, got {} strings",
            t.len()
        ))),
    }
}

/// A kernel's output: the serialized `Summary` holding `values`.
fn output(values: Vec<pb::summary::Value>) -> Result<Vec<Value>> {
    let bytes = pb::Summary { value: values }.encode_to_vec();
    Ok(vec![Value::strings(&[], vec![bytes])?])
}
