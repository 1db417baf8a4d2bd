//! Ops that move or relabel values: identity, stop_gradient, reshape, transpose.

mod identity;

pub use identity::{identity, stop_gradient};
