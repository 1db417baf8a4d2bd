//! rustflow-ops: every op of rustflow (builder, shape inference, CPU kernel, gradient rule),
//! the gradient pass, and the optimizers.
//!
//! Builders are free functions named as in TensorFlow (`matmul`, `reduce_sum`,
//! `nn::conv2d`); [`TensorOps`] offers the same as methods (`x.matmul(&w)?.add(&b)?`).

pub mod array;
pub mod control;
pub mod debug;
pub mod fusion;
mod gradients;
pub mod kernels;
pub mod layers;
pub mod math;
pub mod nn;
pub mod random;
pub mod state;
pub mod summary;
pub mod train;
mod util;

pub use array::*;
pub use control::*;
pub use debug::*;
pub use gradients::gradients;
pub use math::*;
pub use random::*;
pub use state::*;
mod graph_ops;
mod tensor_ops;

pub use graph_ops::GraphOps;
pub use tensor_ops::TensorOps;
