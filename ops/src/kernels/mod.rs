//! Kernels shared by several ops.

pub mod gemm;
