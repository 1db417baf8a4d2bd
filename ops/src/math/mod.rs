//! Arithmetic, reductions and comparisons.

pub(crate) mod binary;
pub mod kernels;
pub(crate) mod reduce;
pub(crate) mod unary;
pub(crate) mod unary_grad;

mod add;
mod add_n;
pub(crate) mod approx;
mod argmax;
mod batch_matmul;
pub(crate) mod cast;
mod clip;
mod in_top_k;
mod leaky_relu;
mod logical_not;
pub(crate) mod matmul;
mod min_max_grad;
mod reduce_bool;
mod reduce_logsumexp;
mod reduce_max;
mod reduce_max_grad;
mod reduce_mean;
mod reduce_prod;
mod reduce_sum;
mod sum_to_shape;
mod top_k;

pub use add::add;
pub use add_n::add_n;
pub use argmax::{argmax, argmin};
pub use batch_matmul::batch_matmul;
pub use binary::{
    div, equal, floordiv, floormod, greater, greater_equal, less, less_equal, logical_and,
    logical_or, maximum, minimum, mul, not_equal, pow, squared_difference, sub,
};
pub use cast::cast;
pub use clip::{clip_by_global_norm, clip_by_norm, clip_by_value, l2_loss, l2_normalize};
pub use in_top_k::in_top_k;
pub use leaky_relu::leaky_relu;
pub use logical_not::logical_not;
pub use matmul::{matmul, matmul_t};
pub use reduce::Axes;
pub use reduce_bool::{reduce_all, reduce_any};
pub use reduce_logsumexp::reduce_logsumexp;
pub use reduce_max::{reduce_max, reduce_min};
pub use reduce_mean::reduce_mean;
pub use reduce_prod::reduce_prod;
pub use reduce_sum::reduce_sum;
pub use sum_to_shape::{broadcast_grad, sum_to_shape_of};
pub use top_k::top_k;
pub use unary::*;
pub use unary_grad::unary_grad_of;
