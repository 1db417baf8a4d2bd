//! `restore_v2`: reads tensors from a TensorFlow V2 checkpoint when it runs (TensorFlow's
//! `RestoreV2`, the op of `tf.train.Saver`'s `save/RestoreV2` node).

use super::names;
use rustflow_graph::{
    not_differentiable, DType, Error, GradContext, KernelContext, Op, OpKind, Result, Shape,
    Tensor, TensorSpec, Value,
};
use rustflow_runtime::bundle::Bundle;
use std::sync::Arc;

/// The `RestoreV2` op: inputs (prefix, tensor_names, shape_and_slices); one output per name,
/// of the dtypes given.
#[derive(Debug)]
pub struct RestoreV2 {
    dtypes: Vec<DType>,
}

impl Op for RestoreV2 {
    fn op_type(&self) -> &'static str {
        "RestoreV2"
    }
    fn kind(&self) -> OpKind {
        OpKind::Stateful
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let (prefix, keys) = names(ctx.input(0), ctx.input(1), ctx.input(2))?;
        if keys.len() != self.dtypes.len() {
            return Err(Error::Kernel(format!(
                "{} tensor names for {} dtypes",
                keys.len(),
                self.dtypes.len()
            )));
        }
        let bundle = Bundle::open(&prefix)?;
        keys.iter()
            .zip(&self.dtypes)
            .map(|(k, &d)| {
                let v = bundle.read(k)?;
                if v.dtype() != d {
                    return Err(Error::Checkpoint {
                        path: prefix.clone().into(),
                        msg: format!("tensor '{k}' is {}, the graph expects {d}", v.dtype()),
                    });
                }
                Ok(v)
            })
            .collect()
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        not_differentiable(gc)
    }
    fn attrs(&self) -> String {
        format!("dtypes={:?}", self.dtypes)
    }
}

/// The tensors named `tensor_names` (a string vector) of the V2 checkpoint at `prefix` (a
/// string scalar), of `dtypes`, read each time it runs (`tf.raw_ops.RestoreV2`);
/// `shape_and_slices` must be empty strings. A missing file, tensor or wrong dtype is a run
/// error naming the file and tensor.
///
/// ```
/// use rustflow_graph::{DType, Graph, Value};
/// use rustflow_interop::ops::restore_v2;
/// use rustflow_ops::constant;
/// let g = Graph::new();
/// let s = |v: &[&str]| Value::strings(&[v.len()], v.iter().map(|s| s.as_bytes().to_vec()).collect()).unwrap();
/// let prefix = constant(&g, Value::strings(&[], vec![b"/tmp/m".to_vec()]).unwrap(), "prefix");
/// let out = restore_v2(&prefix, &constant(&g, s(&["w"]), "names"), &constant(&g, s(&[""]), "slices"), &[DType::F32]).unwrap();
/// assert_eq!(out[0].dtype(), DType::F32);
/// ```
pub fn restore_v2(
    prefix: &Tensor,
    tensor_names: &Tensor,
    shape_and_slices: &Tensor,
    dtypes: &[DType],
) -> Result<Vec<Tensor>> {
    let g = prefix.graph();
    let outputs = dtypes
        .iter()
        .map(|&d| TensorSpec::new(d, Shape::unknown()))
        .collect();
    let op = RestoreV2 {
        dtypes: dtypes.to_vec(),
    };
    let op = g.add_node(
        "RestoreV2",
        Arc::new(op),
        &[prefix, tensor_names, shape_and_slices],
        &[],
        outputs,
    )?;
    Ok(op.outputs())
}
