//! Control flow: `cond` and `while_loop`, functional ops (`If`, `While`) whose branches and
//! bodies are [`Function`](rustflow_graph::Function)s that the op's kernel runs within the
//! same session run, and the `TensorArray` that loops read and write.

mod cond;
mod inline;
mod rows;
mod ta_gather;
mod ta_scatter;
mod tensor_array;
mod while_grad;
mod while_loop;

pub use cond::{cond, If};
pub use tensor_array::TensorArray;
pub use while_grad::WhileGrad;
pub use while_loop::{while_loop, While, WhileOptions};
