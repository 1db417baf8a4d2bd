//! Kernels shared by several ops.

pub mod abt;
pub mod gemm;
pub(crate) mod conv;
pub(crate) mod pool;
