//! Debugging ops.

mod check_numerics;

pub use check_numerics::check_numerics;
