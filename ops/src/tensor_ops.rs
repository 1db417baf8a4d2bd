//! Builders as methods, so a program reads like TensorFlow's Python:
//! `x.matmul(&w)?.add(&b)?`.

use crate::math::Axes;
use rustflow_graph::{Result, Tensor};

/// The tensor builders as methods on [`Tensor`] (and, through `Deref`, on variables).
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{placeholder, TensorOps};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 3], "x");
/// let y = x.mul(&x).unwrap().reduce_sum(None).unwrap().neg().unwrap();
/// assert_eq!(y.shape().to_string(), "[]");
/// ```
pub trait TensorOps {
    /// `self + other` ([`crate::add`]).
    fn add(&self, other: &Tensor) -> Result<Tensor>;
    /// `self * other` ([`crate::mul`]).
    fn mul(&self, other: &Tensor) -> Result<Tensor>;
    /// `-self` ([`crate::neg`]).
    fn neg(&self) -> Result<Tensor>;
    /// `self · other` ([`crate::matmul`]).
    fn matmul(&self, other: &Tensor) -> Result<Tensor>;
    /// The sum over `axis` ([`crate::reduce_sum`]).
    fn reduce_sum(&self, axis: impl Into<Axes>) -> Result<Tensor>;
}

impl TensorOps for Tensor {
    fn add(&self, other: &Tensor) -> Result<Tensor> {
        crate::add(self, other)
    }
    fn mul(&self, other: &Tensor) -> Result<Tensor> {
        crate::mul(self, other)
    }
    fn neg(&self) -> Result<Tensor> {
        crate::neg(self)
    }
    fn matmul(&self, other: &Tensor) -> Result<Tensor> {
        crate::matmul(self, other)
    }
    fn reduce_sum(&self, axis: impl Into<Axes>) -> Result<Tensor> {
        crate::reduce_sum(self, axis, false)
    }
}
