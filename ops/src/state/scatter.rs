//! `scatter_update`, `scatter_add`: write rows of a variable in place.

use super::Variable;
use crate::util::{add1, arg_error};
use rustflow_graph::{
    fmt_dims, not_differentiable, DType, Error, GradContext, KernelContext, NodeId, Op, OpKind,
    Result, Tensor, Value,
};
use std::sync::PoisonError;

/// `ScatterUpdate` / `ScatterAdd`: `var[indices[i], ...] = (or +=) updates[i, ...]`; outputs
/// the variable's new value. Not differentiable, as in TensorFlow.
#[derive(Debug)]
pub struct ScatterOp {
    var: NodeId,
    var_name: String,
    add: bool,
}

impl Op for ScatterOp {
    fn op_type(&self) -> &'static str {
        if self.add {
            "ScatterAdd"
        } else {
            "ScatterUpdate"
        }
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        not_differentiable(gc)
    }
    fn kind(&self) -> OpKind {
        OpKind::Stateful
    }
    fn reads_variables(&self) -> Vec<NodeId> {
        vec![self.var]
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let (indices, updates) = (ctx.input(0), ctx.input(1));
        let ids: Vec<i64> = indices.to_f64_vec().iter().map(|&i| i as i64).collect();
        let slot = ctx.resources.variable(self.var);
        let mut guard = slot.write().unwrap_or_else(PoisonError::into_inner);
        let var = guard.as_mut().ok_or_else(|| Error::Uninitialized {
            var: self.var_name.clone(),
        })?;
        let rows = var.shape().first().copied().unwrap_or(0);
        let row: usize = var.shape().iter().skip(1).product();
        let mut want = indices.shape().to_vec();
        want.extend_from_slice(&var.shape()[1.min(var.shape().len())..]);
        if updates.shape() != want.as_slice() {
            return Err(Error::Kernel(format!(
                "updates has shape {}, indices {} and the variable {} need {}",
                fmt_dims(updates.shape()),
                fmt_dims(indices.shape()),
                fmt_dims(var.shape()),
                fmt_dims(&want)
            )));
        }
        if let Some(bad) = ids.iter().find(|&&i| i < 0 || i as usize >= rows) {
            return Err(Error::Kernel(format!(
                "indices[{}] = {bad} is not in [0, {rows})",
                ids.iter().position(|i| i == bad).unwrap_or(0)
            )));
        }
        let u = updates.as_slice::<f32>()?;
        let w = var.data_mut::<f32>()?;
        for (k, &i) in ids.iter().enumerate() {
            let (dst, src) = (&mut w[i as usize * row..][..row], &u[k * row..][..row]);
            for (d, &s) in dst.iter_mut().zip(src) {
                *d = if self.add { *d + s } else { s };
            }
        }
        Ok(vec![var.clone()])
    }
    fn attrs(&self) -> String {
        format!("var={}", self.var_name)
    }
}

fn scatter(var: &Variable, indices: &Tensor, updates: &Tensor, add: bool) -> Result<Tensor> {
    let g = var.graph();
    let op = ScatterOp {
        var: var.node(),
        var_name: var.op_name(),
        add,
    };
    let name = op.op_type();
    let int = matches!(indices.dtype(), DType::I32 | DType::I64);
    if !int || var.dtype() != DType::F32 || updates.dtype() != DType::F32 {
        return Err(arg_error(
            g,
            name,
            name,
            format!(
                "{name} needs a float32 variable and updates and int32/int64 indices, got {}, {} and {}",
                var.dtype(),
                updates.dtype(),
                indices.dtype()
            ),
        ));
    }
    add1(g, name, op, &[indices, updates], var.spec())
}

/// `tf.compat.v1.scatter_update(ref, indices, updates)`: sets rows `indices` of the
/// variable to `updates` (shape `indices.shape + var.shape[1:]`) and outputs its new value.
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{constant, scatter_update, Variable};
/// let g = Graph::new();
/// let v = Variable::new(&constant(&g, [[1.0f32, 1.0], [2.0, 2.0]], ""), "v").unwrap();
/// let y = scatter_update(&v, &constant(&g, [1i32], ""), &constant(&g, [[5.0f32, 6.0]], "")).unwrap();
/// assert_eq!(y.op().op_type(), "ScatterUpdate");
/// ```
pub fn scatter_update(var: &Variable, indices: &Tensor, updates: &Tensor) -> Result<Tensor> {
    scatter(var, indices, updates, false)
}

/// `tf.compat.v1.scatter_add(ref, indices, updates)`: adds `updates` into rows `indices`
/// (repeated indices add up) and outputs the variable's new value.
pub fn scatter_add(var: &Variable, indices: &Tensor, updates: &Tensor) -> Result<Tensor> {
    scatter(var, indices, updates, true)
}
