//! Kernels shared by several ops.

pub mod abt;
pub(crate) mod batch_norm;
pub(crate) mod bcast;
pub(crate) mod conv;
pub(crate) mod dilated;
pub(crate) mod direct;
pub mod gemm;
pub(crate) mod isa;
pub(crate) mod lrn;
pub(crate) mod packed;
pub(crate) mod pool;
pub(crate) mod pool_grad_grad;
#[cfg(test)]
pub(crate) mod reference;
pub(crate) mod strided;
pub(crate) mod window;
pub(crate) mod winograd;
