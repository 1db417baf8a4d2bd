//! Arithmetic, reductions and comparisons.

pub(crate) mod binary;
pub mod kernels;
pub(crate) mod reduce;
pub(crate) mod unary;

mod add;
mod add_n;
mod matmul;
mod mul;
mod neg;
mod reduce_sum;
mod sum_to_shape;

pub use add::add;
pub use add_n::add_n;
pub use matmul::{matmul, matmul_t};
pub use mul::mul;
pub use neg::neg;
pub use reduce::Axes;
pub use reduce_sum::reduce_sum;
pub use sum_to_shape::sum_to_shape_of;
