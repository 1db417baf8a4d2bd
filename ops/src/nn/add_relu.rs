//! `AddRelu`: `relu(a + b)` in one pass, which plans run in place of an `Add` whose only
//! reader is a `Relu` (a layer's bias add and activation). It is never a graph node.

use crate::math::binary::{binary_kernel, BinaryKind};
use crate::math::kernels::{binary_inplace, unary_inplace};
use crate::nn::add_relu_max_pool::AddReluMaxPool;
use crate::nn::max_pool::MaxPool;
use crate::nn::relu::rectify;
use crate::util::broadcast_dims;
use rustflow_graph::{DType, KernelContext, Op, Result, Value};
use std::sync::Arc;

/// The fused op: inputs (a, b) of the `Add`; output the `Relu`'s.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{add, nn, placeholder};
/// use rustflow_runtime::{feed, fetches, RunOptions, Session};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 2], "x");
/// let b = placeholder(&g, DType::F32, shape![2], "b");
/// let h = nn::relu(&add(&x, &b).unwrap()).unwrap();
/// let sess = Session::new(&g);
/// let opts = RunOptions { trace: true, ..RunOptions::default() };
/// let feeds = feed! { &x => ndarray::array![[1.0f32, -3.0]], &b => ndarray::array![0.5f32, 1.0] };
/// let (out, meta) = sess.run_with(&fetches![&h], &feeds, &opts).unwrap();
/// assert_eq!(out.value(0).unwrap().as_slice::<f32>().unwrap(), &[1.5, 0.0]);
/// assert!(meta.by_op_type().iter().any(|(op, _, _)| *op == "AddRelu"));
/// ```
#[derive(Debug)]
pub struct AddRelu;

impl Op for AddRelu {
    fn op_type(&self) -> &'static str {
        "AddRelu"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let (a, b) = (ctx.input(0), ctx.input(1));
        if a.dtype() == DType::F32
            && b.dtype() == DType::F32
            && a.is_unique()
            && broadcast_dims(a.shape(), b.shape())? == a.shape()
        {
            // Into the first input's buffer, which nothing else holds.
            let mut out = ctx.take_input(0);
            binary_inplace(&mut out, ctx.input(1), |x, y| rectify(x + y))?;
            return Ok(vec![out]);
        }
        let sum = binary_kernel(ctx, BinaryKind::Add)?.remove(0);
        Ok(vec![unary_inplace(sum, rectify)?])
    }
    /// Max pooling of `relu(a + b)` ([`AddReluMaxPool`]): a layer's output when only the
    /// pool reads it (evaluation).
    fn fuse(&self, next: &dyn Op) -> Option<Arc<dyn Op>> {
        let pool = next.as_any().downcast_ref::<MaxPool>()?;
        Some(Arc::new(AddReluMaxPool {
            attrs: pool.pool_attrs(),
        }))
    }
}
