//! `constant`, `zeros`, `ones`, `fill`, and the run-time `zeros_like` / `ones_like`.

use crate::util::add1;
use rustflow_graph::{
    not_differentiable, DType, Element, GradContext, Graph, KernelContext, Op, Result, Tensor,
    TensorSpec, Value,
};

/// The `Const` op: a value stored in the graph.
#[derive(Debug)]
pub struct Const {
    value: Value,
}

impl Const {
    /// The value it holds.
    pub fn value(&self) -> &Value {
        &self.value
    }
}

impl Op for Const {
    fn op_type(&self) -> &'static str {
        "Const"
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        not_differentiable(gc)
    }
    fn compute(&self, _ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        Ok(vec![self.value.clone()])
    }
    fn attrs(&self) -> String {
        let v = self.value.to_f64_vec();
        if v.len() <= 4 {
            format!("value={v:?}")
        } else {
            format!("value=<{} elements>", v.len())
        }
    }
}

/// A constant tensor holding `value`, named `name` (default `Const`).
///
/// ```
/// use rustflow_graph::Graph;
/// let g = Graph::new();
/// let c = rustflow_ops::constant(&g, [1.0f32, 2.0], "");
/// assert_eq!(c.shape().to_string(), "[2]");
/// ```
pub fn constant(g: &Graph, value: impl Into<Value>, name: &str) -> Tensor {
    let value = value.into();
    let spec = TensorSpec::new(value.dtype(), value.shape().to_vec());
    let name = if name.is_empty() { "Const" } else { name };
    add1(g, name, Const { value }, &[], spec).expect("a constant has no inputs")
}

/// A constant of `shape` with every element `x` (`tf.fill` / `tf.constant(x, shape=...)`).
pub fn fill<T: Element>(g: &Graph, shape: &[usize], x: T, name: &str) -> Result<Tensor> {
    let name = if name.is_empty() { "Fill" } else { name };
    let value =
        Value::filled(shape, x).map_err(|e| e.at_node(&g.peek_unique_name(name), "Const"))?;
    Ok(constant(g, value, name))
}

/// A float32 constant of zeros (`tf.zeros(shape)`).
pub fn zeros(g: &Graph, shape: &[usize]) -> Result<Tensor> {
    fill(g, shape, 0f32, "zeros")
}

/// A float32 constant of ones (`tf.ones(shape)`).
pub fn ones(g: &Graph, shape: &[usize]) -> Result<Tensor> {
    fill(g, shape, 1f32, "ones")
}

/// `ZerosLike` / `OnesLike`: a tensor of `x`'s run-time shape and dtype, all zeros or ones.
#[derive(Debug)]
pub struct FillLike {
    one: bool,
}

impl Op for FillLike {
    fn op_type(&self) -> &'static str {
        if self.one {
            "OnesLike"
        } else {
            "ZerosLike"
        }
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        not_differentiable(gc)
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let x = ctx.input(0);
        let shape = x.shape();
        Ok(vec![match x.dtype() {
            DType::F32 => Value::filled(shape, if self.one { 1f32 } else { 0.0 })?,
            DType::I32 => Value::filled(shape, self.one as i32)?,
            DType::I64 => Value::filled(shape, self.one as i64)?,
            DType::Bool => Value::filled(shape, self.one)?,
            DType::String if !self.one => Value::strings(shape, vec![Vec::new(); x.len()])?,
            DType::String => {
                return Err(rustflow_graph::Error::Kernel(
                    "ones_like is not defined for string".into(),
                ))
            }
        }])
    }
}

fn fill_like(x: &Tensor, one: bool) -> Result<Tensor> {
    let spec = x.spec();
    let name = if one { "ones_like" } else { "zeros_like" };
    add1(x.graph(), name, FillLike { one }, &[x], spec)
}

/// Zeros with `x`'s run-time shape and dtype (`tf.zeros_like`).
pub fn zeros_like(x: &Tensor) -> Result<Tensor> {
    fill_like(x, false)
}

/// Ones with `x`'s run-time shape and dtype (`tf.ones_like`).
pub fn ones_like(x: &Tensor) -> Result<Tensor> {
    fill_like(x, true)
}
