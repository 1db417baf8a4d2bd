//! `save_v2`: writes tensors as a TensorFlow V2 checkpoint when it runs (TensorFlow's
//! `SaveV2`, the op of `tf.train.Saver`'s `save/SaveV2` node).

use super::names;
use rustflow_graph::{
    not_differentiable, DType, Error, GradContext, KernelContext, Op, OpKind, Operation, Result,
    Tensor, Value,
};
use std::sync::Arc;

/// The `SaveV2` op: inputs (prefix, tensor_names, shape_and_slices, tensors...); no outputs.
#[derive(Debug)]
pub struct SaveV2;

impl Op for SaveV2 {
    fn op_type(&self) -> &'static str {
        "SaveV2"
    }
    fn kind(&self) -> OpKind {
        OpKind::Stateful
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let (prefix, keys) = names(ctx.input(0), ctx.input(1), ctx.input(2))?;
        let values = &ctx.inputs[3..];
        if keys.len() != values.len() {
            return Err(Error::Kernel(format!(
                "{} tensor names for {} tensors",
                keys.len(),
                values.len()
            )));
        }
        let tensors: Vec<(String, Value)> = keys.into_iter().zip(values.iter().cloned()).collect();
        rustflow_runtime::bundle::write(&prefix, &tensors)?;
        Ok(vec![])
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        not_differentiable(gc)
    }
}

/// Writes `tensors` under `tensor_names` (a string vector) as the V2 checkpoint at `prefix`
/// (a string scalar) each time it runs (`tf.raw_ops.SaveV2`); `shape_and_slices` must be
/// empty strings (no partitioned variables).
///
/// ```
/// use rustflow_graph::{Graph, Value};
/// use rustflow_interop::ops::save_v2;
/// use rustflow_ops::constant;
/// let g = Graph::new();
/// let s = |v: &[&str]| Value::strings(&[v.len()], v.iter().map(|s| s.as_bytes().to_vec()).collect()).unwrap();
/// let prefix = constant(&g, Value::strings(&[], vec![b"/tmp/m".to_vec()]).unwrap(), "prefix");
/// let w = constant(&g, 1.5f32, "w");
/// let op = save_v2(&prefix, &constant(&g, s(&["w"]), "names"), &constant(&g, s(&[""]), "slices"), &[&w]).unwrap();
/// assert_eq!(op.op_type(), "SaveV2");
/// ```
pub fn save_v2(
    prefix: &Tensor,
    tensor_names: &Tensor,
    shape_and_slices: &Tensor,
    tensors: &[&Tensor],
) -> Result<Operation> {
    let g = prefix.graph();
    for t in [prefix, tensor_names, shape_and_slices] {
        if t.dtype() != DType::String {
            return Err(Error::InvalidArgument {
                node: "SaveV2".into(),
                op: "SaveV2".into(),
                msg: format!("{t} must be a string tensor, is {}", t.dtype()),
            });
        }
    }
    let mut inputs = vec![prefix, tensor_names, shape_and_slices];
    inputs.extend_from_slice(tensors);
    g.add_node("SaveV2", Arc::new(SaveV2), &inputs, &[], vec![])
}
