//! Builders as methods, so a program reads like TensorFlow's Python:
//! `x.matmul(&w)?.add(&b)?`.

use crate::math::Axes;
use rustflow_graph::{DType, Result, Tensor};

/// The tensor builders as methods on [`Tensor`] (and, through `Deref`, on variables).
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{placeholder, TensorOps};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 3], "x");
/// let y = x.mul(&x).unwrap().reduce_sum(None).unwrap().neg().unwrap();
/// assert_eq!(y.shape().to_string(), "[]");
/// let y_ = placeholder(&g, DType::F32, shape![?, 3], "y_");
/// let correct = x.argmax(1).unwrap().equal(&y_.argmax(1).unwrap()).unwrap();
/// let accuracy = correct.cast(DType::F32).unwrap().reduce_mean(None).unwrap();
/// assert_eq!(accuracy.shape().to_string(), "[]");
/// ```
pub trait TensorOps {
    /// `self + other` ([`crate::add`]).
    fn add(&self, other: &Tensor) -> Result<Tensor>;
    /// `self - other` ([`crate::sub`]).
    fn sub(&self, other: &Tensor) -> Result<Tensor>;
    /// `self * other` ([`crate::mul`]).
    fn mul(&self, other: &Tensor) -> Result<Tensor>;
    /// `self / other` ([`crate::div`]).
    fn div(&self, other: &Tensor) -> Result<Tensor>;
    /// The element-wise maximum ([`crate::maximum`]).
    fn maximum(&self, other: &Tensor) -> Result<Tensor>;
    /// The element-wise minimum ([`crate::minimum`]).
    fn minimum(&self, other: &Tensor) -> Result<Tensor>;
    /// `-self` ([`crate::neg`]).
    fn neg(&self) -> Result<Tensor>;
    /// `|self|` ([`crate::abs`]).
    fn abs(&self) -> Result<Tensor>;
    /// `e^self` ([`crate::exp`]).
    fn exp(&self) -> Result<Tensor>;
    /// The natural logarithm ([`crate::log`]).
    fn log(&self) -> Result<Tensor>;
    /// `self * self` ([`crate::square`]).
    fn square(&self) -> Result<Tensor>;
    /// The square root ([`crate::sqrt`]).
    fn sqrt(&self) -> Result<Tensor>;
    /// The logistic function ([`crate::sigmoid`]).
    fn sigmoid(&self) -> Result<Tensor>;
    /// The hyperbolic tangent ([`crate::tanh`]).
    fn tanh(&self) -> Result<Tensor>;
    /// `max(self, 0)` ([`crate::nn::relu`]).
    fn relu(&self) -> Result<Tensor>;
    /// The softmax along the last axis ([`crate::nn::softmax()`]).
    fn softmax(&self) -> Result<Tensor>;
    /// The log-softmax along the last axis ([`crate::nn::log_softmax()`]).
    fn log_softmax(&self) -> Result<Tensor>;
    /// `self · other` ([`crate::matmul`]).
    fn matmul(&self, other: &Tensor) -> Result<Tensor>;
    /// The sum over `axis` ([`crate::reduce_sum`]).
    fn reduce_sum(&self, axis: impl Into<Axes>) -> Result<Tensor>;
    /// The sum over `axis`, keeping the reduced dims as size 1 ([`crate::reduce_sum`]).
    fn reduce_sum_keepdims(&self, axis: impl Into<Axes>) -> Result<Tensor>;
    /// The mean over `axis` ([`crate::reduce_mean`]).
    fn reduce_mean(&self, axis: impl Into<Axes>) -> Result<Tensor>;
    /// The mean over `axis`, keeping the reduced dims as size 1 ([`crate::reduce_mean`]).
    fn reduce_mean_keepdims(&self, axis: impl Into<Axes>) -> Result<Tensor>;
    /// The maximum over `axis` ([`crate::reduce_max`]).
    fn reduce_max(&self, axis: impl Into<Axes>) -> Result<Tensor>;
    /// The maximum over `axis`, keeping the reduced dims as size 1 ([`crate::reduce_max`]).
    fn reduce_max_keepdims(&self, axis: impl Into<Axes>) -> Result<Tensor>;
    /// The index of the maximum along `axis`, as int64 ([`crate::argmax`]).
    fn argmax(&self, axis: i64) -> Result<Tensor>;
    /// `self == other` element-wise, as bool ([`crate::equal`]).
    fn equal(&self, other: &Tensor) -> Result<Tensor>;
    /// Converted to `dtype` ([`crate::cast()`]).
    fn cast(&self, dtype: DType) -> Result<Tensor>;
    /// Reshaped to `shape`, one entry may be -1 ([`crate::reshape`]).
    fn reshape(&self, shape: &[i64]) -> Result<Tensor>;
    /// Dimensions permuted by `perm`, reversed for `None` ([`crate::transpose`]).
    fn transpose(&self, perm: Option<&[usize]>) -> Result<Tensor>;
}

impl TensorOps for Tensor {
    fn add(&self, other: &Tensor) -> Result<Tensor> {
        crate::add(self, other)
    }
    fn sub(&self, other: &Tensor) -> Result<Tensor> {
        crate::sub(self, other)
    }
    fn mul(&self, other: &Tensor) -> Result<Tensor> {
        crate::mul(self, other)
    }
    fn div(&self, other: &Tensor) -> Result<Tensor> {
        crate::div(self, other)
    }
    fn maximum(&self, other: &Tensor) -> Result<Tensor> {
        crate::maximum(self, other)
    }
    fn minimum(&self, other: &Tensor) -> Result<Tensor> {
        crate::minimum(self, other)
    }
    fn neg(&self) -> Result<Tensor> {
        crate::neg(self)
    }
    fn abs(&self) -> Result<Tensor> {
        crate::abs(self)
    }
    fn exp(&self) -> Result<Tensor> {
        crate::exp(self)
    }
    fn log(&self) -> Result<Tensor> {
        crate::log(self)
    }
    fn square(&self) -> Result<Tensor> {
        crate::square(self)
    }
    fn sqrt(&self) -> Result<Tensor> {
        crate::sqrt(self)
    }
    fn sigmoid(&self) -> Result<Tensor> {
        crate::sigmoid(self)
    }
    fn tanh(&self) -> Result<Tensor> {
        crate::tanh(self)
    }
    fn relu(&self) -> Result<Tensor> {
        crate::nn::relu(self)
    }
    fn softmax(&self) -> Result<Tensor> {
        crate::nn::softmax(self)
    }
    fn log_softmax(&self) -> Result<Tensor> {
        crate::nn::log_softmax(self)
    }
    fn matmul(&self, other: &Tensor) -> Result<Tensor> {
        crate::matmul(self, other)
    }
    fn reduce_sum(&self, axis: impl Into<Axes>) -> Result<Tensor> {
        crate::reduce_sum(self, axis, false)
    }
    fn reduce_sum_keepdims(&self, axis: impl Into<Axes>) -> Result<Tensor> {
        crate::reduce_sum(self, axis, true)
    }
    fn reduce_mean(&self, axis: impl Into<Axes>) -> Result<Tensor> {
        crate::reduce_mean(self, axis, false)
    }
    fn reduce_mean_keepdims(&self, axis: impl Into<Axes>) -> Result<Tensor> {
        crate::reduce_mean(self, axis, true)
    }
    fn reduce_max(&self, axis: impl Into<Axes>) -> Result<Tensor> {
        crate::reduce_max(self, axis, false)
    }
    fn reduce_max_keepdims(&self, axis: impl Into<Axes>) -> Result<Tensor> {
        crate::reduce_max(self, axis, true)
    }
    fn argmax(&self, axis: i64) -> Result<Tensor> {
        crate::argmax(self, axis)
    }
    fn equal(&self, other: &Tensor) -> Result<Tensor> {
        crate::equal(self, other)
    }
    fn cast(&self, dtype: DType) -> Result<Tensor> {
        crate::cast(self, dtype)
    }
    fn reshape(&self, shape: &[i64]) -> Result<Tensor> {
        crate::reshape(self, shape)
    }
    fn transpose(&self, perm: Option<&[usize]>) -> Result<Tensor> {
        crate::transpose(self, perm)
    }
}
