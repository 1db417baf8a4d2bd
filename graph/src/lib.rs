//! rustflow-graph: the static dataflow graph of rustflow. It holds dtypes, partial shapes,
//! tensor values, nodes with unique names and name scopes, and exports DOT. It computes
//! nothing: ops (crate `rustflow-ops`) and sessions (crate `rustflow-runtime`) build on it.

mod capability;
mod collections;
mod dtype;
mod error;
mod function;
mod graph;
mod op;
mod shape;
mod value;

pub use capability::{Capability, Elementwise, ElementwiseBinary};
pub use collections::{CollectionItem, GraphKeys, Reuse, VariableScope};
pub use dtype::DType;
pub use error::{Error, Result};
pub use function::{Arg, Function, FunctionRunner};
pub use graph::{
    Edge, Graph, NodeData, NodeId, Operation, Tensor, TensorSpec, VariableInfo, DEFAULT_GRAPH_SEED,
};
pub use op::{
    not_differentiable, AsAny, BufferPool, GradContext, KernelContext, KernelPolicy, NodeState, Op,
    OpKind, Resources, SessionOptions, VarSlot,
};
pub use shape::{fmt_dims, Dim, Shape};
pub use value::{Buffer, Element, Value};
