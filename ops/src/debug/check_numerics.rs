//! `check_numerics`: fails a run when a tensor holds a NaN or an infinity.

use crate::util::{add1, expect_dtype};
use rustflow_graph::{DType, Error, GradContext, KernelContext, Op, Result, Tensor, Value};

/// The `CheckNumerics` op: passes its input through, or fails naming itself.
#[derive(Debug)]
pub struct CheckNumerics {
    message: String,
}

impl Op for CheckNumerics {
    fn op_type(&self) -> &'static str {
        "CheckNumerics"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let x = ctx.take_input(0);
        if let Some(bad) = x.as_slice::<f32>()?.iter().find(|v| !v.is_finite()) {
            return Err(Error::Numerics {
                node: String::new(),
                op: String::new(),
                what: if bad.is_nan() { "NaN" } else { "Inf" },
                msg: self.message.clone(),
            });
        }
        Ok(vec![x])
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        Ok(vec![Some(gc.dy(0).clone())])
    }
    fn attrs(&self) -> String {
        format!("message={:?}", self.message)
    }
}

/// `x` itself, but a run fails with [`Error::Numerics`] naming this node if `x` holds a NaN
/// or an infinity (`tf.debugging.check_numerics`).
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{check_numerics, constant};
/// let g = Graph::new();
/// let x = check_numerics(&constant(&g, [1.0f32, f32::NAN], ""), "after the loss").unwrap();
/// assert_eq!(x.op().op_type(), "CheckNumerics");
/// ```
pub fn check_numerics(x: &Tensor, message: &str) -> Result<Tensor> {
    expect_dtype(
        x.graph(),
        "CheckNumerics",
        "CheckNumerics",
        x,
        &[DType::F32],
    )?;
    add1(
        x.graph(),
        "CheckNumerics",
        CheckNumerics {
            message: message.into(),
        },
        &[x],
        x.spec(),
    )
}
