//! Graph-level builders as methods: `g.placeholder(..)`, `g.variable(..)`, `g.zeros(..)`.

use crate::Variable;
use rustflow_graph::{DType, Graph, Operation, Result, Shape, Tensor, Value};

/// Builders that belong to a graph rather than to a tensor, as methods on [`Graph`].
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::GraphOps;
/// let g = Graph::new();
/// let x = g.placeholder(DType::F32, shape![?, 784]);
/// let w = g.variable(&g.zeros(&[784, 10]).unwrap(), "W").unwrap();
/// let init = g.global_variables_initializer().unwrap();
/// assert_eq!((x.name(), w.name(), init.name()), ("Placeholder:0".into(), "W:0".into(), "init".into()));
/// ```
pub trait GraphOps {
    /// A placeholder named `Placeholder` ([`crate::placeholder`]).
    fn placeholder(&self, dtype: DType, shape: impl Into<Shape>) -> Tensor;
    /// A placeholder with a name ([`crate::placeholder`]).
    fn placeholder_named(&self, dtype: DType, shape: impl Into<Shape>, name: &str) -> Tensor;
    /// A constant ([`crate::constant`]).
    fn constant(&self, value: impl Into<Value>) -> Tensor;
    /// A float32 constant of zeros ([`crate::zeros`]).
    fn zeros(&self, shape: &[usize]) -> Result<Tensor>;
    /// A float32 constant of ones ([`crate::ones`]).
    fn ones(&self, shape: &[usize]) -> Result<Tensor>;
    /// A trainable variable; `name` may be empty for `Variable`, `Variable_1`, ...
    fn variable(&self, initial_value: &Tensor, name: &str) -> Result<Variable>;
    /// The `init` operation over every variable existing now
    /// ([`crate::global_variables_initializer`]).
    fn global_variables_initializer(&self) -> Result<Operation>;
}

impl GraphOps for Graph {
    fn placeholder(&self, dtype: DType, shape: impl Into<Shape>) -> Tensor {
        crate::placeholder(self, dtype, shape, "")
    }
    fn placeholder_named(&self, dtype: DType, shape: impl Into<Shape>, name: &str) -> Tensor {
        crate::placeholder(self, dtype, shape, name)
    }
    fn constant(&self, value: impl Into<Value>) -> Tensor {
        crate::constant(self, value, "")
    }
    fn zeros(&self, shape: &[usize]) -> Result<Tensor> {
        crate::zeros(self, shape)
    }
    fn ones(&self, shape: &[usize]) -> Result<Tensor> {
        crate::ones(self, shape)
    }
    fn variable(&self, initial_value: &Tensor, name: &str) -> Result<Variable> {
        self.check_owns(initial_value.graph(), &initial_value.to_string())?;
        Variable::new(initial_value, name)
    }
    fn global_variables_initializer(&self) -> Result<Operation> {
        crate::global_variables_initializer(self)
    }
}
