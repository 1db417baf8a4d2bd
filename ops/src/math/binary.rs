//! What the broadcasting binary ops (`add`, `sub`, `mul`, `div`, `equal`, ...) share: the
//! builder's dtype and shape checks, and the dtype dispatch of the kernel.

use crate::math::kernels::{binary, binary_inplace};
use crate::util::{add1, broadcast_shapes, same_dtype, shape_error};
use rustflow_graph::{DType, Error, KernelContext, Op, Result, Tensor, TensorSpec, Value};

/// The element-wise function of a binary op.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BinaryKind {
    Add,
    Sub,
    Mul,
    Div,
    Maximum,
    Minimum,
    Equal,
}

/// Checks dtypes and broadcast shapes, then adds the node (output dtype: the inputs', or bool
/// for comparisons).
pub(crate) fn binary_builder(a: &Tensor, b: &Tensor, name: &str, op: impl Op) -> Result<Tensor> {
    let g = a.graph();
    g.check_owns(b.graph(), &b.to_string())?;
    let op_type = op.op_type();
    let dtype = same_dtype(g, name, op_type, &[a, b])?;
    let shape = broadcast_shapes(&a.shape(), &b.shape())
        .map_err(|msg| shape_error(g, name, op_type, msg, &[a, b]))?;
    let out = if op_type == "Equal" {
        DType::Bool
    } else {
        dtype
    };
    add1(g, name, op, &[a, b], TensorSpec::new(out, shape))
}

/// Computes `kind` over the broadcast of the two inputs.
pub(crate) fn binary_kernel(ctx: &mut KernelContext<'_>, kind: BinaryKind) -> Result<Vec<Value>> {
    let (a, b) = (ctx.input(0), ctx.input(1));
    if a.dtype() != b.dtype() {
        return Err(Error::Kernel(format!(
            "mixed dtypes {} and {}",
            a.dtype(),
            b.dtype()
        )));
    }
    use BinaryKind::*;
    if a.dtype() == DType::F32
        && kind != Equal
        && a.is_unique()
        && crate::util::broadcast_dims(a.shape(), b.shape())? == a.shape()
    {
        // Write into the first input's buffer: nothing else holds it.
        let mut out = ctx.take_input(0);
        with_float_fn!(kind, f => binary_inplace(&mut out, ctx.input(1), f))?;
        return Ok(vec![out]);
    }
    let v = match (a.dtype(), kind) {
        (_, Equal) => match a.dtype() {
            DType::F32 => binary(a, b, |x: f32, y: f32| x == y),
            DType::I32 => binary(a, b, |x: i32, y: i32| x == y),
            DType::I64 => binary(a, b, |x: i64, y: i64| x == y),
            DType::Bool => binary(a, b, |x: bool, y: bool| x == y),
            d => Err(Error::Kernel(format!(
                "Equal is not defined for {d} tensors"
            ))),
        },
        (DType::F32, _) => with_float_fn!(kind, f => binary(a, b, f)),
        (DType::I32, _) => binary(a, b, |x: i32, y: i32| {
            int_fn(kind, x as i64, y as i64) as i32
        }),
        (DType::I64, _) => binary(a, b, |x: i64, y: i64| int_fn(kind, x, y)),
        (d, _) => {
            return Err(Error::Kernel(format!(
                "{kind:?} is not defined for {d} tensors"
            )))
        }
    }?;
    Ok(vec![v])
}

/// Evaluates `$body` with `$f` bound to the float function of `$kind`, as a closure (so that
/// the kernel loops inline and vectorize it, which a function pointer would prevent).
macro_rules! with_float_fn {
    ($kind:expr, $f:ident => $body:expr) => {{
        use BinaryKind::*;
        match $kind {
            Add => {
                let $f = |x: f32, y: f32| x + y;
                $body
            }
            Sub => {
                let $f = |x: f32, y: f32| x - y;
                $body
            }
            Mul => {
                let $f = |x: f32, y: f32| x * y;
                $body
            }
            Div => {
                let $f = |x: f32, y: f32| x / y;
                $body
            }
            Maximum => {
                let $f = |x: f32, y: f32| if x >= y || y.is_nan() { x } else { y };
                $body
            }
            Minimum => {
                let $f = |x: f32, y: f32| if x <= y || y.is_nan() { x } else { y };
                $body
            }
            Equal => {
                let $f = |_: f32, _: f32| 0.0f32;
                $body
            }
        }
    }};
}
use with_float_fn;

fn int_fn(kind: BinaryKind, x: i64, y: i64) -> i64 {
    use BinaryKind::*;
    match kind {
        Add => x.wrapping_add(y),
        Sub => x.wrapping_sub(y),
        Mul => x.wrapping_mul(y),
        // Integer division by zero gives 0 rather than trapping (TensorFlow reports an error).
        Div => x.checked_div(y).unwrap_or(0),
        Maximum => x.max(y),
        Minimum => x.min(y),
        Equal => 0,
    }
}
