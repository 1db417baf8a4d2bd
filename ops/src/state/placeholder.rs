//! `placeholder`: a tensor whose value a run must feed.

use crate::util::add1;
use rustflow_graph::{
    not_differentiable, DType, Error, GradContext, Graph, KernelContext, Op, OpKind, Result, Shape,
    Tensor, TensorSpec, Value,
};

/// The `Placeholder` op. It never computes: the runtime requires a feed for it.
#[derive(Debug)]
pub struct Placeholder {
    dtype: DType,
    shape: Shape,
}

impl Op for Placeholder {
    fn op_type(&self) -> &'static str {
        "Placeholder"
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        not_differentiable(gc)
    }
    fn kind(&self) -> OpKind {
        OpKind::Placeholder
    }
    fn compute(&self, _ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        Err(Error::Kernel(
            "a placeholder has no value unless fed".into(),
        ))
    }
    fn attrs(&self) -> String {
        format!("dtype={}, shape={}", self.dtype, self.shape)
    }
}

/// A placeholder named `name` (TensorFlow's `tf.placeholder(dtype, shape, name)`).
/// Unknown dimensions (`?`) accept any size when fed; the rank is checked.
///
/// ```
/// use rustflow_graph::{shape, Graph, DType};
/// let g = Graph::new();
/// let x = rustflow_ops::placeholder(&g, DType::F32, shape![?, 784], "x");
/// assert_eq!(x.name(), "x:0");
/// assert_eq!(x.shape().to_string(), "[?,784]");
/// ```
pub fn placeholder(g: &Graph, dtype: DType, shape: impl Into<Shape>, name: &str) -> Tensor {
    let shape = shape.into();
    let spec = TensorSpec {
        dtype,
        shape: shape.clone(),
    };
    let name = if name.is_empty() { "Placeholder" } else { name };
    add1(g, name, Placeholder { dtype, shape }, &[], spec)
        .expect("a placeholder has no inputs, so adding it cannot fail")
}
