//! `FusedMatMul`: a matrix product with its epilogue (bias, activation), a fully-connected
//! layer in one step; and the row that hands a `MatMul`'s weight gradient to an optimizer's
//! update. Plans run them in place of the chains; they are never graph nodes.

use super::{Chain, Epilogue};
use crate::math::kernels::PAR_CHUNK;
use crate::math::matmul::product;
use rayon::prelude::*;
use rustflow_graph::{KernelContext, Op, Result, Value};
use std::any::Any;
use std::sync::Arc;

/// What a `MatMul` declares as a producer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct MatMulAttrs {
    pub transpose_a: bool,
    pub transpose_b: bool,
}

/// The fused op: inputs `a`, `b`, then the bias if any; output the chain's last op's.
/// The product is `MatMul`'s and the epilogue adds and maps each element as the separate
/// ops do, so the result is theirs bit for bit.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{add, matmul, nn, placeholder};
/// use rustflow_runtime::{feed, fetches, RunOptions, Session};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 2], "x");
/// let w = placeholder(&g, DType::F32, shape![2, 2], "w");
/// let b = placeholder(&g, DType::F32, shape![2], "b");
/// let h = nn::relu(&add(&matmul(&x, &w).unwrap(), &b).unwrap()).unwrap();
/// let sess = Session::new(&g);
/// let opts = RunOptions { trace: true, ..RunOptions::default() };
/// let feeds = feed! {
///     &x => ndarray::array![[1.0f32, 2.0]],
///     &w => ndarray::array![[1.0f32, -1.0], [1.0, -1.0]],
///     &b => ndarray::array![0.5f32, 1.0],
/// };
/// let (out, meta) = sess.run_with(&fetches![&h], &feeds, &opts).unwrap();
/// assert_eq!(out.value(0).unwrap().as_slice::<f32>().unwrap(), &[3.5, 0.0]);
/// let ops: Vec<_> = meta.by_op_type().into_iter().map(|(op, _, _)| op).collect();
/// assert_eq!(ops, ["FusedMatMul"]);
/// ```
#[derive(Debug)]
pub(crate) struct FusedMatMul {
    matmul: MatMulAttrs,
    epilogue: Epilogue,
    ops: Vec<&'static str>,
}

/// The row's fused op for a `MatMul` producer.
pub(super) fn build(producer: &(dyn Any + Send + Sync), chain: Chain) -> Option<Arc<dyn Op>> {
    let matmul = *producer.downcast_ref::<MatMulAttrs>()?;
    Some(Arc::new(FusedMatMul {
        matmul,
        epilogue: chain.epilogue,
        ops: chain.ops,
    }))
}

/// The update of a variable from a `MatMul`'s weight gradient `aᵀ · dy` (the product the
/// gradient of `x · W` has for `W`), which then computes the gradient itself.
pub(super) fn build_update(
    producer: &(dyn Any + Send + Sync),
    chain: Chain,
) -> Option<Arc<dyn Op>> {
    let m = producer.downcast_ref::<MatMulAttrs>()?;
    (m.transpose_a && !m.transpose_b)
        .then_some(chain.update)
        .flatten()
}

impl Op for FusedMatMul {
    fn op_type(&self) -> &'static str {
        "FusedMatMul"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let m = self.matmul;
        let ([rows, cols], mut c) = product(ctx, (m.transpose_a, m.transpose_b))?;
        let operands = self.epilogue.operands(&ctx.inputs, &[rows, cols])?;
        let per_task = (PAR_CHUNK / cols.max(1)).max(1) * cols;
        if per_task > 0 {
            c.par_chunks_mut(per_task)
                .enumerate()
                .for_each(|(i, chunk)| self.epilogue.apply(&operands, chunk, i * per_task));
        }
        Ok(vec![Value::new(&[rows, cols], c)?])
    }
    fn attrs(&self) -> String {
        format!(
            "transpose_a={}, transpose_b={}; fused_ops=[{}]",
            self.matmul.transpose_a,
            self.matmul.transpose_b,
            self.ops.join(", ")
        )
    }
}
