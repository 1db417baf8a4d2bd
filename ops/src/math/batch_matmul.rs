//! `batch_matmul`: matrix products over broadcast batch dimensions (`BatchMatMulV2`).

use crate::util::{add1, broadcast_dims, broadcast_shapes, same_dtype, shape_error};
use crate::{sum_to_shape_of, util::expect_dtype};
use rustflow_graph::{
    fmt_dims, DType, Error, GradContext, KernelContext, Op, Result, Shape, Tensor, TensorSpec,
    Value,
};

/// The `BatchMatMulV2` op: `adj_a` / `adj_b` transpose the last two dims of an operand.
#[derive(Debug)]
pub struct BatchMatMul {
    adj_a: bool,
    adj_b: bool,
}

/// Row-major strides of the batch dims `dims` aligned right to `out`, 0 where broadcast.
fn batch_strides(dims: &[usize], out: &[usize], matrix: usize) -> Vec<usize> {
    let mut strides = vec![0; out.len()];
    let mut s = matrix;
    for i in (0..dims.len()).rev() {
        let o = i + out.len() - dims.len();
        strides[o] = if dims[i] == 1 && out[o] != 1 { 0 } else { s };
        s *= dims[i];
    }
    strides
}

impl Op for BatchMatMul {
    fn op_type(&self) -> &'static str {
        "BatchMatMulV2"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let (a, b) = (ctx.input(0), ctx.input(1));
        let (sa, sb) = (a.shape(), b.shape());
        let bad = |msg: &str| {
            Error::Kernel(format!(
                "BatchMatMulV2 of shapes {} and {}: {msg}",
                fmt_dims(sa),
                fmt_dims(sb)
            ))
        };
        if sa.len() < 2 || sb.len() < 2 {
            return Err(bad("both operands need rank 2 or more"));
        }
        let (ra, rb) = (sa.len() - 2, sb.len() - 2);
        let (m, k) = if self.adj_a {
            (sa[ra + 1], sa[ra])
        } else {
            (sa[ra], sa[ra + 1])
        };
        let (kb, n) = if self.adj_b {
            (sb[rb + 1], sb[rb])
        } else {
            (sb[rb], sb[rb + 1])
        };
        if k != kb {
            return Err(bad("inner dimensions differ"));
        }
        let batch =
            broadcast_dims(&sa[..ra], &sb[..rb]).map_err(|_| bad("batch dims do not broadcast"))?;
        let (stra, strb) = (
            batch_strides(&sa[..ra], &batch, m * k),
            batch_strides(&sb[..rb], &batch, k * n),
        );
        let (xa, xb) = (a.as_slice::<f32>()?, b.as_slice::<f32>()?);
        let mut out_shape = batch.clone();
        out_shape.extend([m, n]);
        ctx.check_output(DType::F32, &out_shape)?;
        let count: usize = batch.iter().product();
        let mut out = vec![0f32; count * m * n];
        for (t, res) in out.chunks_exact_mut((m * n).max(1)).enumerate().take(count) {
            // The operands' offsets of batch element t.
            let (mut oa, mut ob, mut rest) = (0, 0, t);
            for d in (0..batch.len()).rev() {
                let i = rest % batch[d];
                rest /= batch[d];
                oa += i * stra[d];
                ob += i * strb[d];
            }
            let at = |i: usize, p: usize| {
                if self.adj_a {
                    xa[oa + p * m + i]
                } else {
                    xa[oa + i * k + p]
                }
            };
            let bt = |p: usize, j: usize| {
                if self.adj_b {
                    xb[ob + j * k + p]
                } else {
                    xb[ob + p * n + j]
                }
            };
            for i in 0..m {
                for j in 0..n {
                    res[i * n + j] = (0..k).map(|p| at(i, p) * bt(p, j)).sum();
                }
            }
        }
        let mut shape = batch;
        shape.extend([m, n]);
        Ok(vec![Value::new(&shape, out)?])
    }
    /// TensorFlow's `_BatchMatMulV2Grad`: products with the upstream for each adjoint case,
    /// summed over the batch dims an operand was broadcast along.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let (a, b, dy) = (gc.x(0), gc.x(1), gc.dy(0));
        let (da, db) = match (self.adj_a, self.adj_b) {
            (false, false) => (
                batch_matmul(dy, b, false, true)?,
                batch_matmul(a, dy, true, false)?,
            ),
            (true, false) => (
                batch_matmul(b, dy, false, true)?,
                batch_matmul(a, dy, false, false)?,
            ),
            (false, true) => (
                batch_matmul(dy, b, false, false)?,
                batch_matmul(dy, a, true, false)?,
            ),
            (true, true) => (
                batch_matmul(b, dy, true, true)?,
                batch_matmul(dy, a, true, true)?,
            ),
        };
        Ok(vec![
            Some(sum_to_shape_of(&da, a)?),
            Some(sum_to_shape_of(&db, b)?),
        ])
    }
    fn attrs(&self) -> String {
        format!("adj_x={}, adj_y={}", self.adj_a, self.adj_b)
    }
}

/// The products of the matrices in the last two dims of `a` and `b`, over their broadcast
/// batch dims (`tf.matmul` on rank 3 or more, `tf.linalg.matmul(a, b, adjoint_a, adjoint_b)`;
/// node `MatMul`, op `BatchMatMulV2`). `b` may be a single matrix. Float32 only.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{batch_matmul, placeholder};
/// let g = Graph::new();
/// let a = placeholder(&g, DType::F32, shape![?, 3, 4], "a");
/// let b = placeholder(&g, DType::F32, shape![4, 5], "b");
/// let y = batch_matmul(&a, &b, false, false).unwrap();
/// assert_eq!(y.shape().to_string(), "[?,3,5]");
/// ```
pub fn batch_matmul(a: &Tensor, b: &Tensor, adj_a: bool, adj_b: bool) -> Result<Tensor> {
    let g = a.graph();
    g.check_owns(b.graph(), &b.to_string())?;
    let (name, op) = ("MatMul", "BatchMatMulV2");
    same_dtype(g, name, op, &[a, b])?;
    expect_dtype(g, name, op, a, &[DType::F32])?;
    let err = |msg: String| shape_error(g, name, op, msg, &[a, b]);
    let shape = match (a.shape().dims(), b.shape().dims()) {
        (Some(da), Some(db)) => {
            if da.len() < 2 || db.len() < 2 {
                return Err(err("Both operands need rank 2 or more".into()));
            }
            let (ra, rb) = (da.len() - 2, db.len() - 2);
            let (m, ka) = if adj_a {
                (da[ra + 1], da[ra])
            } else {
                (da[ra], da[ra + 1])
            };
            let (kb, n) = if adj_b {
                (db[rb + 1], db[rb])
            } else {
                (db[rb], db[rb + 1])
            };
            if let (Some(x), Some(y)) = (ka, kb) {
                if x != y {
                    return Err(err(format!(
                        "Matrix size-incompatible: inner dims {x} and {y}"
                    )));
                }
            }
            let batch = broadcast_shapes(
                &Shape::new(da[..ra].to_vec()),
                &Shape::new(db[..rb].to_vec()),
            )
            .map_err(err)?;
            let mut dims = batch.dims().map(<[_]>::to_vec).unwrap_or_default();
            dims.extend([m, n]);
            Shape::new(dims)
        }
        _ => Shape::unknown(),
    };
    add1(
        g,
        name,
        BatchMatMul { adj_a, adj_b },
        &[a, b],
        TensorSpec::new(DType::F32, shape),
    )
}
