//! The broadcasting binary ops, one row each in [`binary_ops!`] (TensorFlow's op type and
//! node name, the builder, the dtypes it takes, its function, its gradient), and what they
//! share: the builder's dtype and shape checks, the kernel's dtype dispatch, and the float
//! rows' capability (fusion applies them to a layer's output). `add` keeps a file of its own;
//! it uses the same builder, kernel and capability.

use crate::math::kernels::{binary, binary_inplace};
use crate::math::min_max_grad::min_max_grad;
use crate::util::{add1, broadcast_shapes, expect_dtype, same_dtype, shape_error};
use crate::{broadcast_grad, cast, constant, log, neg};
use rustflow_graph::{
    not_differentiable, Capability, DType, ElementwiseBinary, Error, GradContext, KernelContext,
    Op, Result, Tensor, TensorSpec, Value,
};

/// The element-wise function of a binary op.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BinaryKind {
    Add,
    Sub,
    Mul,
    Div,
    Maximum,
    Minimum,
    Pow,
    SquaredDifference,
    FloorDiv,
    FloorMod,
    /// A comparison (bool output).
    Cmp(Cmp),
    LogicalAnd,
    LogicalOr,
}

/// The comparisons.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cmp {
    Equal,
    NotEqual,
    Less,
    LessEqual,
    Greater,
    GreaterEqual,
}

impl Cmp {
    fn test<T: PartialOrd>(self, x: T, y: T) -> bool {
        match self {
            Cmp::Equal => x == y,
            Cmp::NotEqual => x != y,
            Cmp::Less => x < y,
            Cmp::LessEqual => x <= y,
            Cmp::Greater => x > y,
            Cmp::GreaterEqual => x >= y,
        }
    }
}

impl BinaryKind {
    fn bool_output(self) -> bool {
        matches!(
            self,
            BinaryKind::Cmp(_) | BinaryKind::LogicalAnd | BinaryKind::LogicalOr
        )
    }
}

/// Checks dtypes and broadcast shapes, then adds the node (output dtype: the inputs', or bool
/// for comparisons and logical ops).
pub(crate) fn binary_builder(
    a: &Tensor,
    b: &Tensor,
    name: &str,
    op: impl Op,
    kind: BinaryKind,
) -> Result<Tensor> {
    let g = a.graph();
    g.check_owns(b.graph(), &b.to_string())?;
    let op_type = op.op_type();
    let dtype = same_dtype(g, name, op_type, &[a, b])?;
    let shape = broadcast_shapes(&a.shape(), &b.shape())
        .map_err(|msg| shape_error(g, name, op_type, msg, &[a, b]))?;
    let out = if kind.bool_output() {
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
    let shape = crate::util::broadcast_dims(a.shape(), b.shape())?;
    let out_dtype = if kind.bool_output() {
        DType::Bool
    } else {
        a.dtype()
    };
    ctx.check_output(out_dtype, &shape)?;
    use BinaryKind::*;
    if a.dtype() == DType::F32 && !kind.bool_output() && a.is_unique() && shape == a.shape() {
        // Write into the first input's buffer: nothing else holds it.
        let mut out = ctx.take_input(0);
        with_float_fn!(kind, f => binary_inplace(&mut out, ctx.input(1), f))?;
        return Ok(vec![out]);
    }
    let unsupported = |d: DType| Error::Kernel(format!("{kind:?} is not defined for {d} tensors"));
    let v = match (a.dtype(), kind) {
        (d, Cmp(c)) => match d {
            DType::F32 => binary(a, b, |x: f32, y: f32| c.test(x, y)),
            DType::I32 => binary(a, b, |x: i32, y: i32| c.test(x, y)),
            DType::I64 => binary(a, b, |x: i64, y: i64| c.test(x, y)),
            DType::Bool => binary(a, b, |x: bool, y: bool| c.test(x, y)),
            d => Err(unsupported(d)),
        },
        (DType::Bool, LogicalAnd) => binary(a, b, |x: bool, y: bool| x && y),
        (DType::Bool, LogicalOr) => binary(a, b, |x: bool, y: bool| x || y),
        (DType::F32, _) => with_float_fn!(kind, f => binary(a, b, f)),
        (DType::I32, _) => binary(a, b, |x: i32, y: i32| {
            int_fn(kind, x as i64, y as i64) as i32
        }),
        (DType::I64, _) => binary(a, b, |x: i64, y: i64| int_fn(kind, x, y)),
        (d, _) => Err(unsupported(d)),
    }?;
    Ok(vec![v])
}

/// Evaluates `$body` with `$f` bound to the float function of `$kind`, as a function item (so
/// that the kernel loops inline and vectorize it, which a function pointer would prevent, and
/// so that a closure in `$body` may call it without capturing anything).
macro_rules! with_float_fn {
    ($kind:expr, $f:ident => $body:expr) => {{
        use BinaryKind::*;
        match $kind {
            Add => {
                #[inline(always)]
                fn $f(x: f32, y: f32) -> f32 {
                    x + y
                }
                $body
            }
            Sub => {
                #[inline(always)]
                fn $f(x: f32, y: f32) -> f32 {
                    x - y
                }
                $body
            }
            Mul => {
                #[inline(always)]
                fn $f(x: f32, y: f32) -> f32 {
                    x * y
                }
                $body
            }
            Div => {
                #[inline(always)]
                fn $f(x: f32, y: f32) -> f32 {
                    x / y
                }
                $body
            }
            Maximum => {
                #[inline(always)]
                fn $f(x: f32, y: f32) -> f32 {
                    if x >= y || y.is_nan() {
                        x
                    } else {
                        y
                    }
                }
                $body
            }
            Minimum => {
                #[inline(always)]
                fn $f(x: f32, y: f32) -> f32 {
                    if x <= y || y.is_nan() {
                        x
                    } else {
                        y
                    }
                }
                $body
            }
            Pow => {
                #[inline(always)]
                fn $f(x: f32, y: f32) -> f32 {
                    x.powf(y)
                }
                $body
            }
            SquaredDifference => {
                #[inline(always)]
                fn $f(x: f32, y: f32) -> f32 {
                    (x - y) * (x - y)
                }
                $body
            }
            FloorDiv => {
                #[inline(always)]
                fn $f(x: f32, y: f32) -> f32 {
                    (x / y).floor()
                }
                $body
            }
            FloorMod => {
                #[inline(always)]
                fn $f(x: f32, y: f32) -> f32 {
                    let r = x % y;
                    if r != 0.0 && (r < 0.0) != (y < 0.0) {
                        r + y
                    } else {
                        r
                    }
                }
                $body
            }
            k @ (Cmp(_) | LogicalAnd | LogicalOr) => Err(Error::Kernel(format!(
                "{k:?} takes float32 inputs to a bool output only"
            ))),
        }
    }};
}
use with_float_fn;

/// What a row offers fusion: its float function as an [`ElementwiseBinary`] (none for the
/// comparisons and logical ops, whose output is bool).
pub(crate) fn binary_capability(kind: BinaryKind) -> Capability {
    type Apply = fn(&mut [f32], &[f32], bool);
    let apply = with_float_fn!(kind, f => Ok::<Apply, Error>(|out, other, swapped| {
        along(out, other, swapped, f)
    }));
    let monotone = match kind {
        BinaryKind::Add | BinaryKind::Maximum | BinaryKind::Minimum => [true, true],
        BinaryKind::Sub => [true, false],
        _ => [false, false],
    };
    apply.map_or(Capability::None, |apply| {
        Capability::Binary(ElementwiseBinary { apply, monotone })
    })
}

/// `out[i] = f(out[i], other[i % other.len()])` (`f(other[..], out[i])` when `swapped`).
#[inline(always)]
fn along(out: &mut [f32], other: &[f32], swapped: bool, f: impl Fn(f32, f32) -> f32 + Copy) {
    if swapped {
        rows(out, other, |v, b| f(b, v))
    } else {
        rows(out, other, f)
    }
}

/// `out[i] = f(out[i], other[i % other.len()])`, with a loop the compiler vectorizes.
#[inline(always)]
fn rows(out: &mut [f32], other: &[f32], f: impl Fn(f32, f32) -> f32) {
    match other {
        [] => {}
        &[b] => out.iter_mut().for_each(|v| *v = f(*v, b)),
        _ => {
            for row in out.chunks_exact_mut(other.len()) {
                row.iter_mut().zip(other).for_each(|(v, &b)| *v = f(*v, b));
            }
        }
    }
}

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
        // A negative exponent gives 0 (TensorFlow reports an error).
        Pow => u32::try_from(y).map_or(0, |e| x.wrapping_pow(e)),
        SquaredDifference => x.wrapping_sub(y).wrapping_mul(x.wrapping_sub(y)),
        // Rounds toward -inf; by zero gives 0.
        FloorDiv => match (x.checked_div(y), x.checked_rem(y)) {
            (Some(q), Some(r)) if r != 0 && (r < 0) != (y < 0) => q - 1,
            (Some(q), _) => q,
            _ => 0,
        },
        // Takes the divisor's sign; by zero gives 0.
        FloorMod => match x.checked_rem(y) {
            Some(r) if r != 0 && (r < 0) != (y < 0) => r + y,
            Some(r) => r,
            None => 0,
        },
        Cmp(_) | LogicalAnd | LogicalOr => 0,
    }
}

const NUM: &[DType] = &[DType::F32, DType::I32, DType::I64];
const NUM_BOOL: &[DType] = &[DType::F32, DType::I32, DType::I64, DType::Bool];

/// One row per op: `Type "TfOp" "node" builder(kind, dtypes)`, then either
/// `no_grad not_differentiable` or `grad(gc, dy, a, b) = [da, db]`, the gradients in the broadcast shape (`Option<Tensor>`;
/// the row sums each back to its operand's shape).
macro_rules! binary_ops {
    ($(
        $(#[doc = $doc:literal])*
        $ty:ident $tf:literal $node:literal $builder:ident($kind:expr, $dtypes:expr)
        $(no_grad $nd:ident)?
        $(grad($gc:ident, $dy:ident, $a:ident, $b:ident) = $grad:expr)?;
    )*) => {$(
        #[doc = concat!("The `", $tf, "` op.")]
        #[derive(Debug)]
        pub(crate) struct $ty;

        impl Op for $ty {
            fn op_type(&self) -> &'static str {
                $tf
            }
            fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
                binary_kernel(ctx, $kind)
            }
            fn capability(&self) -> Capability {
                binary_capability($kind)
            }
            $(fn gradient(&self, $gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
                let ($dy, $a, $b) = ($gc.dy(0), $gc.x(0), $gc.x(1));
                let [da, db]: [Option<Tensor>; 2] = $grad;
                Ok(vec![
                    da.map(|d| broadcast_grad(&d, $a, $b)).transpose()?,
                    db.map(|d| broadcast_grad(&d, $b, $a)).transpose()?,
                ])
            })?
            $(fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
                $nd(gc)
            })?
        }

        $(#[doc = $doc])*
        #[doc = concat!("Broadcasts as NumPy does; node `", $node, "`.")]
        pub fn $builder(a: &Tensor, b: &Tensor) -> Result<Tensor> {
            let g = a.graph();
            g.check_owns(b.graph(), &b.to_string())?;
            same_dtype(g, $node, $tf, &[a, b])?;
            expect_dtype(g, $node, $tf, a, $dtypes)?;
            binary_builder(a, b, $node, $ty, $kind)
        }
    )*};
}

binary_ops! {
    /// `a - b` (`tf.subtract`).
    Sub "Sub" "sub" sub(BinaryKind::Sub, NUM)
        grad(gc, dy, a, b) = [Some(dy.clone()), Some(neg(dy)?)];
    /// `a * b` element-wise (`tf.multiply`).
    Mul "Mul" "mul" mul(BinaryKind::Mul, NUM)
        grad(gc, dy, a, b) = [Some(mul(dy, b)?), Some(mul(a, dy)?)];
    /// `a / b` for float32 tensors (`tf.divide` / `tf.truediv`; op `RealDiv`). Integer
    /// tensors are refused (TensorFlow would divide them in float64): cast them first.
    ///
    /// ```
    /// use rustflow_graph::Graph;
    /// use rustflow_ops::{constant, div};
    /// let g = Graph::new();
    /// let y = div(&constant(&g, [1.0f32, 3.0], ""), &constant(&g, 2.0f32, "")).unwrap();
    /// assert_eq!(y.op().name(), "truediv");
    /// assert_eq!(y.op().op_type(), "RealDiv");
    /// ```
    RealDiv "RealDiv" "truediv" div(BinaryKind::Div, &[DType::F32])
        grad(gc, dy, a, b) = [
            Some(crate::div(dy, b)?),
            Some(mul(dy, &crate::div(&crate::div(&neg(a)?, b)?, b)?)?)
        ];
    /// The element-wise maximum (`tf.maximum`); on a tie the gradient goes to `a`.
    Maximum "Maximum" "Maximum" maximum(BinaryKind::Maximum, NUM)
        grad(gc, dy, a, b) = {
            let (da, db) = min_max_grad(dy, a, b, true)?;
            [Some(da), Some(db)]
        };
    /// The element-wise minimum (`tf.minimum`); on a tie the gradient goes to `a`.
    Minimum "Minimum" "Minimum" minimum(BinaryKind::Minimum, NUM)
        grad(gc, dy, a, b) = {
            let (da, db) = min_max_grad(dy, a, b, false)?;
            [Some(da), Some(db)]
        };
    /// `a` to the power `b` (`tf.pow`). A negative base with an integer exponent is real; the
    /// exponent's gradient is 0 where `a <= 0`, as TensorFlow's.
    Pow "Pow" "Pow" pow(BinaryKind::Pow, NUM)
        grad(gc, dy, a, b) = {
            let one = constant(gc.graph, 1f32, "Const");
            let da = mul(&mul(dy, b)?, &pow(a, &sub(b, &one)?)?)?;
            // log(a) where a > 0, else 0 (a finite stand-in times a zero mask).
            let zero = constant(gc.graph, 0f32, "Const");
            let positive = cast(&greater(a, &zero)?, DType::F32)?;
            let tiny = constant(gc.graph, f32::MIN_POSITIVE, "Const");
            let log_a = mul(&log(&maximum(a, &tiny)?)?, &positive)?;
            [Some(da), Some(mul(&mul(dy, gc.y(0))?, &log_a)?)]
        };
    /// `(a - b)²` (`tf.math.squared_difference`).
    SquaredDifference "SquaredDifference" "SquaredDifference"
        squared_difference(BinaryKind::SquaredDifference, NUM)
        grad(gc, dy, a, b) = {
            let two = constant(gc.graph, 2f32, "Const");
            let d = mul(&mul(&two, dy)?, &sub(a, b)?)?;
            [Some(d.clone()), Some(neg(&d)?)]
        };
    /// `floor(a / b)` (`tf.math.floordiv`): integers round toward -inf (`-7 // 2 = -4`).
    /// Not differentiable, as in TensorFlow.
    FloorDiv "FloorDiv" "floordiv" floordiv(BinaryKind::FloorDiv, NUM) no_grad not_differentiable;
    /// `a - floor(a / b) * b` (`tf.math.floormod`): the result takes the divisor's sign
    /// (`-7 % 2 = 1`, `7 % -2 = -1`).
    FloorMod "FloorMod" "floormod" floormod(BinaryKind::FloorMod, NUM)
        grad(gc, dy, a, b) = [Some(dy.clone()), Some(mul(dy, &neg(&floordiv(a, b)?)?)?)];
    /// `a == b` as bool (`tf.equal`). No gradient.
    ///
    /// ```
    /// use rustflow_graph::{DType, Graph};
    /// use rustflow_ops::{constant, equal};
    /// let g = Graph::new();
    /// let e = equal(&constant(&g, [1i64, 2], ""), &constant(&g, [1i64, 3], "")).unwrap();
    /// assert_eq!(e.dtype(), DType::Bool);
    /// ```
    Equal "Equal" "Equal" equal(BinaryKind::Cmp(Cmp::Equal), NUM_BOOL) no_grad not_differentiable;
    /// `a != b` as bool (`tf.math.not_equal`). No gradient.
    NotEqual "NotEqual" "NotEqual" not_equal(BinaryKind::Cmp(Cmp::NotEqual), NUM_BOOL)
        no_grad not_differentiable;
    /// `a < b` as bool (`tf.math.less`). No gradient.
    Less "Less" "Less" less(BinaryKind::Cmp(Cmp::Less), NUM) no_grad not_differentiable;
    /// `a <= b` as bool (`tf.math.less_equal`). No gradient.
    LessEqual "LessEqual" "LessEqual" less_equal(BinaryKind::Cmp(Cmp::LessEqual), NUM)
        no_grad not_differentiable;
    /// `a > b` as bool (`tf.math.greater`). No gradient.
    Greater "Greater" "Greater" greater(BinaryKind::Cmp(Cmp::Greater), NUM)
        no_grad not_differentiable;
    /// `a >= b` as bool (`tf.math.greater_equal`). No gradient.
    GreaterEqual "GreaterEqual" "GreaterEqual" greater_equal(BinaryKind::Cmp(Cmp::GreaterEqual), NUM)
        no_grad not_differentiable;
    /// `a && b` of bool tensors (`tf.math.logical_and`).
    LogicalAnd "LogicalAnd" "LogicalAnd" logical_and(BinaryKind::LogicalAnd, &[DType::Bool])
        no_grad not_differentiable;
    /// `a || b` of bool tensors (`tf.math.logical_or`).
    LogicalOr "LogicalOr" "LogicalOr" logical_or(BinaryKind::LogicalOr, &[DType::Bool])
        no_grad not_differentiable;
}
