//! `where_indices` (one-argument `tf.where`) and `boolean_mask`, which is built on it.

use crate::array::gather::gather;
use crate::array::reshape::reshape;
use crate::array::squeeze::squeeze;
use crate::util::{add1, expect_dtype, shape_error};
use rustflow_graph::{
    not_differentiable, DType, GradContext, KernelContext, Op, Result, Shape, Tensor, TensorSpec,
    Value,
};

/// The `Where` op: the int64 coordinates `[n, rank]` of the true elements, row-major.
#[derive(Debug)]
pub struct Where;

impl Op for Where {
    fn op_type(&self) -> &'static str {
        "Where"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let c = ctx.input(0);
        let shape = c.shape();
        let trues: Vec<usize> = c
            .as_slice::<bool>()?
            .iter()
            .enumerate()
            .filter_map(|(i, &b)| b.then_some(i))
            .collect();
        let mut out = Vec::with_capacity(trues.len() * shape.len());
        for &i in &trues {
            let start = out.len();
            let mut rest = i;
            for &d in shape.iter().rev() {
                out.push((rest % d) as i64);
                rest /= d;
            }
            out[start..].reverse();
        }
        Ok(vec![Value::new(&[trues.len(), shape.len()], out)?])
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        not_differentiable(gc)
    }
}

/// The coordinates of the true elements of `condition` (bool), as int64 `[n, rank]` in
/// row-major order (`tf.where(condition)`; op `Where`).
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{placeholder, where_indices};
/// let g = Graph::new();
/// let c = placeholder(&g, DType::Bool, shape![?, 3], "c");
/// assert_eq!(where_indices(&c).unwrap().shape().to_string(), "[?,2]");
/// ```
pub fn where_indices(condition: &Tensor) -> Result<Tensor> {
    let g = condition.graph();
    expect_dtype(g, "Where", "Where", condition, &[DType::Bool])?;
    let shape = Shape::new(vec![None, condition.shape().rank()]);
    add1(
        g,
        "Where",
        Where,
        &[condition],
        TensorSpec::new(DType::I64, shape),
    )
}

/// The elements (or slices) of `tensor` where `mask` (bool, of the shape of `tensor`'s
/// dimensions `axis..axis + mask.rank`) is true, flattened into one dimension
/// (`tf.boolean_mask(tensor, mask, axis)`): as TensorFlow builds it, a reshape, `Where` and
/// `GatherV2`, so the gradient adds the upstream back at the picked positions. The
/// dimensions of `tensor` outside the mask must be known at build time.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{boolean_mask, placeholder};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![4, 3], "x");
/// let rows = placeholder(&g, DType::Bool, shape![4], "rows");
/// assert_eq!(boolean_mask(&x, &rows, 0).unwrap().shape().to_string(), "[?,3]");
/// let bad = placeholder(&g, DType::Bool, shape![3], "bad");
/// assert!(boolean_mask(&x, &bad, 0).is_err());
/// ```
pub fn boolean_mask(tensor: &Tensor, mask: &Tensor, axis: usize) -> Result<Tensor> {
    let g = tensor.graph();
    g.check_owns(mask.graph(), &mask.to_string())?;
    let err = |m: String| shape_error(g, "boolean_mask", "BooleanMask", m, &[tensor, mask]);
    let (ts, ms) = (tensor.shape(), mask.shape());
    let (Some(t), Some(m)) = (ts.dims(), ms.dims()) else {
        return Err(err("the ranks of tensor and mask must be known".into()));
    };
    let k = m.len();
    if k == 0 || axis + k > t.len() {
        return Err(err(format!(
            "mask of rank {k} at axis {axis} does not fit a tensor of rank {}",
            t.len()
        )));
    }
    if !Shape::new(t[axis..axis + k].to_vec()).is_compatible(&ms) {
        return Err(err(
            "mask's shape must match the tensor's dimensions it covers".into(),
        ));
    }
    let known = |d: &[Option<usize>]| -> Result<Vec<i64>> {
        d.iter()
            .map(|d| d.map(|d| d as i64))
            .collect::<Option<_>>()
            .ok_or_else(|| err("the dimensions outside the mask must be known".into()))
    };
    let mut target = known(&t[..axis])?;
    target.push(-1);
    target.extend(known(&t[axis + k..])?);
    let flat = reshape(tensor, &target)?;
    let picked = squeeze(&where_indices(&reshape(mask, &[-1])?)?, Some(&[1]))?;
    gather(&flat, &picked, axis as i64)
}
