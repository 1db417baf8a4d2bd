//! Control flow: `cond` and `while_loop`, as functional ops (`If`, `While`) whose branches
//! and bodies are [`Function`](rustflow_graph::Function)s that the op's kernel runs within
//! the same session run.

mod cond;
mod inline;
mod rows;
mod while_grad;
mod while_loop;

pub use cond::{cond, If};
pub use while_grad::WhileGrad;
pub use while_loop::{while_loop, While, WhileOptions};
