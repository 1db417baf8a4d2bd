//! Arithmetic, reductions and comparisons.

pub(crate) mod binary;
pub mod kernels;
pub(crate) mod reduce;
pub(crate) mod unary;
pub(crate) mod unary_grad;

mod add;
mod add_n;
mod argmax;
pub(crate) mod cast;
mod matmul;
mod min_max_grad;
mod reduce_max;
mod reduce_max_grad;
mod reduce_mean;
mod reduce_sum;
mod sum_to_shape;

pub use add::add;
pub use add_n::add_n;
pub use argmax::argmax;
pub use binary::{
    div, equal, floordiv, floormod, greater, greater_equal, less, less_equal, logical_and,
    logical_or, maximum, minimum, mul, not_equal, pow, squared_difference, sub,
};
pub use cast::cast;
pub(crate) use matmul::MatMul;
pub use matmul::{matmul, matmul_t};
pub use reduce::Axes;
pub use reduce_max::reduce_max;
pub use reduce_mean::reduce_mean;
pub use reduce_sum::reduce_sum;
pub use sum_to_shape::{broadcast_grad, sum_to_shape_of};
pub use unary::*;
