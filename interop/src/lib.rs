//! TensorFlow's files in rustflow: [`import_graph_def`] builds rustflow nodes from a
//! `GraphDef` (binary `.pb` or text `.pbtxt`), through [`import::OPS`], a table from
//! TensorFlow's op types to rustflow's builders.

mod control_v1;
pub mod convert;
mod deferred;
pub mod export;
pub mod functions;
pub mod import;
pub mod meta;
pub mod ops;
pub mod summary;
mod tensor_array;
mod wire;

pub use export::{op_counts, sub_graph_def, to_graph_def, write_graph};
pub use import::{import_graph_def, parse_graph_def, read_graph_def, Element, ImportOptions};
pub use meta::{import_meta_graph, MetaGraph};
