//! Ops that move or relabel values: identity, stop_gradient, reshape, transpose.

mod identity;
mod reshape;
mod reshape_like;
mod transpose;

pub use identity::{identity, stop_gradient};
pub use reshape::reshape;
pub use reshape_like::reshape_like;
pub use transpose::transpose;

mod select;
mod shape;
pub use select::select_v2;
pub use shape::shape_of;
