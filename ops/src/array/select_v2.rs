//! `select_v2`: picks elements of `t` where `cond` holds and of `e` elsewhere, broadcasting.

use crate::math::broadcast_grad;
use crate::state::zeros_like;
use crate::util::{
    broadcast_dims, broadcast_shapes, expect_dtype, for_each_broadcast, same_dtype, shape_error,
};
use rustflow_graph::{
    Buffer, DType, Error, GradContext, KernelContext, Op, Result, Tensor, TensorSpec, Value,
};

/// The `SelectV2` op.
#[derive(Debug)]
pub struct SelectV2;

fn pick<T: Copy + Default>(
    out: &[usize],
    (c, sc): (&[bool], &[usize]),
    (t, st): (&[T], &[usize]),
    (e, se): (&[T], &[usize]),
) -> Vec<T> {
    let mut r = vec![T::default(); out.iter().product()];
    for_each_broadcast(out, &[sc, st, se], |k, o| {
        r[k] = if c[o[0]] { t[o[1]] } else { e[o[2]] }
    });
    r
}

impl Op for SelectV2 {
    fn op_type(&self) -> &'static str {
        "SelectV2"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let (c, t, e) = (ctx.input(0), ctx.input(1), ctx.input(2));
        let out = broadcast_dims(&broadcast_dims(c.shape(), t.shape())?, e.shape())?;
        ctx.check_output(t.dtype(), &out)?;
        let cond = (c.as_slice::<bool>()?, c.shape());
        let (st, se) = (t.shape(), e.shape());
        Ok(vec![match (t.buffer(), e.buffer()) {
            (Buffer::F32(x), Buffer::F32(y)) => {
                Value::new(&out, pick(&out, cond, (x, st), (y, se)))?
            }
            (Buffer::I32(x), Buffer::I32(y)) => {
                Value::new(&out, pick(&out, cond, (x, st), (y, se)))?
            }
            (Buffer::I64(x), Buffer::I64(y)) => {
                Value::new(&out, pick(&out, cond, (x, st), (y, se)))?
            }
            (Buffer::Bool(x), Buffer::Bool(y)) => {
                Value::new(&out, pick(&out, cond, (x, st), (y, se)))?
            }
            _ => {
                return Err(Error::Kernel(format!(
                    "SelectV2 needs t and e of one numeric dtype, got {} and {}",
                    t.dtype(),
                    e.dtype()
                )))
            }
        }])
    }
    /// `dt = select(cond, dy, 0)` and `de = select(cond, 0, dy)`, each summed down to its
    /// operand's shape; `cond` gets none.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let (c, t, e, dy) = (gc.x(0), gc.x(1), gc.x(2), gc.dy(0));
        let zeros = zeros_like(dy)?;
        let dt = select_v2(c, dy, &zeros)?;
        let de = select_v2(c, &zeros, dy)?;
        Ok(vec![
            None,
            Some(broadcast_grad(&dt, t, dy)?),
            Some(broadcast_grad(&de, e, dy)?),
        ])
    }
}

/// `cond ? t : e` element-wise with NumPy broadcasting of all three (`tf.where` in TF 2,
/// node `SelectV2`). `cond` is bool; `t` and `e` share a dtype.
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{constant, select_v2};
/// let g = Graph::new();
/// let c = constant(&g, [true, false], "");
/// let s = select_v2(&c, &constant(&g, [1.0f32, 2.0], ""), &constant(&g, 0.0f32, "")).unwrap();
/// assert_eq!(s.shape().to_string(), "[2]");
/// ```
pub fn select_v2(cond: &Tensor, t: &Tensor, e: &Tensor) -> Result<Tensor> {
    let g = cond.graph();
    let name = "SelectV2";
    expect_dtype(g, name, name, cond, &[DType::Bool])?;
    let dtype = same_dtype(g, name, name, &[t, e])?;
    let shape = broadcast_shapes(&cond.shape(), &t.shape())
        .and_then(|s| broadcast_shapes(&s, &e.shape()))
        .map_err(|msg| shape_error(g, name, name, msg, &[cond, t, e]))?;
    crate::util::add1(
        g,
        name,
        SelectV2,
        &[cond, t, e],
        TensorSpec::new(dtype, shape),
    )
}
