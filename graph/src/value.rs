//! Concrete tensor values: what a feed holds and a fetch returns.

use crate::{fmt_dims, DType, Error, Result};
use ndarray::{ArrayBase, ArrayD, ArrayViewD, Data as NdData, Dimension, IxDyn};
use std::fmt;
use std::sync::Arc;

/// The element storage of a [`Value`]: one contiguous, row-major, reference-counted buffer.
#[derive(Clone)]
pub enum Buffer {
    /// `f32` elements.
    F32(Arc<Vec<f32>>),
    /// `i32` elements.
    I32(Arc<Vec<i32>>),
    /// `i64` elements.
    I64(Arc<Vec<i64>>),
    /// `bool` elements.
    Bool(Arc<Vec<bool>>),
    /// Byte strings (`tf.string`).
    String(Arc<Vec<Vec<u8>>>),
}

/// A concrete tensor: a shape and a contiguous row-major buffer of one dtype.
///
/// Cloning is cheap (the buffer is shared); [`Value::data_mut`] copies only when the buffer is
/// shared. Convert from and to `ndarray` arrays:
/// ```
/// use rustflow_graph::Value;
/// use ndarray::array;
/// let v = Value::from(array![[1.0f32, 2.0], [3.0, 4.0]]);
/// assert_eq!(v.shape(), &[2, 2]);
/// assert_eq!(v.as_slice::<f32>().unwrap(), &[1.0, 2.0, 3.0, 4.0]);
/// let back = v.to_array::<f32>().unwrap();
/// assert_eq!(back[[1, 0]], 3.0);
/// assert_eq!(Value::scalar(2.5f32).scalar_value::<f32>().unwrap(), 2.5);
/// ```
#[derive(Clone)]
pub struct Value {
    shape: Vec<usize>,
    buffer: Buffer,
}

/// An element type a [`Value`] can hold.
pub trait Element: Copy + Send + Sync + PartialEq + fmt::Debug + Default + 'static {
    /// The dtype of this element type.
    const DTYPE: DType;
    /// Wraps a buffer of this type.
    fn wrap(data: Arc<Vec<Self>>) -> Buffer;
    /// The buffer, if it holds this type.
    fn unwrap_ref(b: &Buffer) -> Option<&Arc<Vec<Self>>>;
    /// The buffer, mutably, if it holds this type.
    fn unwrap_mut(b: &mut Buffer) -> Option<&mut Arc<Vec<Self>>>;
}

macro_rules! element {
    ($t:ty, $variant:ident) => {
        impl Element for $t {
            const DTYPE: DType = DType::$variant;
            fn wrap(data: Arc<Vec<Self>>) -> Buffer {
                Buffer::$variant(data)
            }
            fn unwrap_ref(b: &Buffer) -> Option<&Arc<Vec<Self>>> {
                match b {
                    Buffer::$variant(d) => Some(d),
                    _ => None,
                }
            }
            fn unwrap_mut(b: &mut Buffer) -> Option<&mut Arc<Vec<Self>>> {
                match b {
                    Buffer::$variant(d) => Some(d),
                    _ => None,
                }
            }
        }
        impl From<$t> for Value {
            fn from(x: $t) -> Self {
                Value::scalar(x)
            }
        }
    };
}
element!(f32, F32);
element!(i32, I32);
element!(i64, I64);
element!(bool, Bool);

fn checked_len(shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| Error::Kernel(format!("shape {} has too many elements", fmt_dims(shape))))
}

impl Value {
    /// A value from a shape and row-major data; the lengths must agree.
    pub fn new<T: Element>(shape: &[usize], data: Vec<T>) -> Result<Self> {
        Self::from_shared(shape, Arc::new(data))
    }

    /// A value over a shared buffer; the lengths must agree.
    pub fn from_shared<T: Element>(shape: &[usize], data: Arc<Vec<T>>) -> Result<Self> {
        let n = checked_len(shape)?;
        if n != data.len() {
            return Err(Error::Kernel(format!(
                "shape {} needs {} elements, got {}",
                fmt_dims(shape),
                n,
                data.len()
            )));
        }
        Ok(Value {
            shape: shape.to_vec(),
            buffer: T::wrap(data),
        })
    }

    /// A 0-d value.
    pub fn scalar<T: Element>(x: T) -> Self {
        Value {
            shape: vec![],
            buffer: T::wrap(Arc::new(vec![x])),
        }
    }

    /// A value of the given shape with every element `x`.
    pub fn filled<T: Element>(shape: &[usize], x: T) -> Result<Self> {
        let n = checked_len(shape)?;
        // An error rather than an abort when the memory cannot be had.
        let mut data = Vec::new();
        data.try_reserve_exact(n).map_err(|_| {
            Error::Kernel(format!(
                "cannot allocate {n} elements for shape {}",
                fmt_dims(shape)
            ))
        })?;
        data.resize(n, x);
        Value::new(shape, data)
    }

    /// A `tf.string` value from a shape and row-major byte strings.
    ///
    /// ```
    /// use rustflow_graph::{DType, Value};
    /// let v = Value::strings(&[2], vec![b"a".to_vec(), b"bc".to_vec()]).unwrap();
    /// assert_eq!(v.dtype(), DType::String);
    /// assert_eq!(v.as_strings().unwrap()[1], b"bc");
    /// ```
    pub fn strings(shape: &[usize], data: Vec<Vec<u8>>) -> Result<Self> {
        let n = checked_len(shape)?;
        if n != data.len() {
            return Err(Error::Kernel(format!(
                "shape {} needs {} strings, got {}",
                fmt_dims(shape),
                n,
                data.len()
            )));
        }
        Ok(Value {
            shape: shape.to_vec(),
            buffer: Buffer::String(Arc::new(data)),
        })
    }

    /// The byte strings, row-major, if the dtype is `tf.string`.
    pub fn as_strings(&self) -> Result<&[Vec<u8>]> {
        match &self.buffer {
            Buffer::String(d) => Ok(d),
            _ => Err(self.type_error(DType::String)),
        }
    }

    /// The dtype of the elements.
    pub fn dtype(&self) -> DType {
        match self.buffer {
            Buffer::F32(_) => DType::F32,
            Buffer::I32(_) => DType::I32,
            Buffer::I64(_) => DType::I64,
            Buffer::Bool(_) => DType::Bool,
            Buffer::String(_) => DType::String,
        }
    }

    /// The concrete shape.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        match &self.buffer {
            Buffer::F32(d) => d.len(),
            Buffer::I32(d) => d.len(),
            Buffer::I64(d) => d.len(),
            Buffer::Bool(d) => d.len(),
            Buffer::String(d) => d.len(),
        }
    }

    /// Whether the value has no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The underlying buffer.
    pub fn buffer(&self) -> &Buffer {
        &self.buffer
    }

    fn type_error(&self, want: DType) -> Error {
        Error::Kernel(format!("expected a {want} tensor, got {}", self.dtype()))
    }

    /// The elements, row-major, if the dtype is `T`.
    pub fn as_slice<T: Element>(&self) -> Result<&[T]> {
        T::unwrap_ref(&self.buffer)
            .map(|d| d.as_slice())
            .ok_or_else(|| self.type_error(T::DTYPE))
    }

    /// The shared buffer, if the dtype is `T`.
    pub fn shared<T: Element>(&self) -> Result<&Arc<Vec<T>>> {
        T::unwrap_ref(&self.buffer).ok_or_else(|| self.type_error(T::DTYPE))
    }

    /// Whether this value holds the only reference to its buffer, so that writing to it
    /// ([`Value::data_mut`]) needs no copy.
    pub fn is_unique(&self) -> bool {
        match &self.buffer {
            Buffer::F32(d) => Arc::strong_count(d) == 1,
            Buffer::I32(d) => Arc::strong_count(d) == 1,
            Buffer::I64(d) => Arc::strong_count(d) == 1,
            Buffer::Bool(d) => Arc::strong_count(d) == 1,
            Buffer::String(d) => Arc::strong_count(d) == 1,
        }
    }

    /// The elements for writing; copies the buffer first if it is shared.
    pub fn data_mut<T: Element>(&mut self) -> Result<&mut [T]> {
        let want = T::DTYPE;
        let got = self.dtype();
        match T::unwrap_mut(&mut self.buffer) {
            Some(d) => Ok(Arc::make_mut(d).as_mut_slice()),
            None => Err(Error::Kernel(format!(
                "expected a {want} tensor, got {got}"
            ))),
        }
    }

    /// The float buffer, if this value is float32 and holds the only reference to it.
    pub fn into_unique_f32(self) -> Option<Vec<f32>> {
        match self.buffer {
            Buffer::F32(d) => Arc::try_unwrap(d).ok(),
            _ => None,
        }
    }

    /// Takes the elements out, without a copy when this value holds the only reference.
    pub fn into_vec<T: Element>(self) -> Result<Vec<T>> {
        let err = self.type_error(T::DTYPE);
        match T::unwrap_ref(&self.buffer) {
            Some(_) => {}
            None => return Err(err),
        }
        let mut buffer = self.buffer;
        let arc = T::unwrap_mut(&mut buffer).ok_or(err)?;
        let arc = std::mem::replace(arc, Arc::new(Vec::new()));
        Ok(Arc::try_unwrap(arc).unwrap_or_else(|shared| shared.as_ref().clone()))
    }

    /// The single element of a value with one element (a scalar, or shape `[1]`, ...).
    pub fn scalar_value<T: Element>(&self) -> Result<T> {
        let s = self.as_slice::<T>()?;
        match s {
            [x] => Ok(*x),
            _ => Err(Error::Kernel(format!(
                "expected a single element, got shape {}",
                fmt_dims(&self.shape)
            ))),
        }
    }

    /// Alias of [`Value::scalar_value`], reading like TensorFlow's `np.float32(x)`.
    pub fn to_scalar<T: Element>(&self) -> Result<T> {
        self.scalar_value()
    }

    /// The same elements under another shape with the same number of elements (no copy).
    pub fn reshaped(&self, shape: &[usize]) -> Result<Value> {
        let n = checked_len(shape)?;
        if n != self.len() {
            return Err(Error::Kernel(format!(
                "Input to reshape is a tensor with {} values, but the requested shape has {}",
                self.len(),
                n
            )));
        }
        Ok(Value {
            shape: shape.to_vec(),
            buffer: self.buffer.clone(),
        })
    }

    /// A view as an `ndarray` array, if the dtype is `T`.
    pub fn view<T: Element>(&self) -> Result<ArrayViewD<'_, T>> {
        let s = self.as_slice::<T>()?;
        ArrayViewD::from_shape(IxDyn(&self.shape), s).map_err(|e| Error::Kernel(e.to_string()))
    }

    /// A copy as an owned `ndarray` array, if the dtype is `T`.
    pub fn to_array<T: Element>(&self) -> Result<ArrayD<T>> {
        Ok(self.view::<T>()?.to_owned())
    }

    /// The elements converted to `f64` (bools as 0/1), for printing and comparing.
    pub fn to_f64_vec(&self) -> Vec<f64> {
        match &self.buffer {
            Buffer::F32(d) => d.iter().map(|&x| x as f64).collect(),
            Buffer::I32(d) => d.iter().map(|&x| x as f64).collect(),
            Buffer::I64(d) => d.iter().map(|&x| x as f64).collect(),
            Buffer::Bool(d) => d.iter().map(|&x| x as u8 as f64).collect(),
            Buffer::String(d) => vec![f64::NAN; d.len()],
        }
    }
}

impl<S, D, T> From<ArrayBase<S, D>> for Value
where
    S: NdData<Elem = T>,
    D: Dimension,
    T: Element,
{
    fn from(a: ArrayBase<S, D>) -> Self {
        let shape = a.shape().to_vec();
        let data = match a.as_slice() {
            Some(s) => s.to_vec(),
            None => a.iter().copied().collect(),
        };
        Value {
            shape,
            buffer: T::wrap(Arc::new(data)),
        }
    }
}

impl<T: Element> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Self {
        Value {
            shape: vec![v.len()],
            buffer: T::wrap(Arc::new(v)),
        }
    }
}
impl<T: Element, const N: usize> From<[T; N]> for Value {
    fn from(v: [T; N]) -> Self {
        Value::from(v.to_vec())
    }
}
impl<T: Element, const N: usize, const M: usize> From<[[T; M]; N]> for Value {
    fn from(v: [[T; M]; N]) -> Self {
        Value {
            shape: vec![N, M],
            buffer: T::wrap(Arc::new(v.iter().flatten().copied().collect())),
        }
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Value({} {}", self.dtype(), fmt_dims(&self.shape))?;
        let v = self.to_f64_vec();
        let shown: Vec<String> = v.iter().take(8).map(|x| format!("{x}")).collect();
        write!(
            f,
            " [{}{}])",
            shown.join(", "),
            if v.len() > 8 { ", ..." } else { "" }
        )
    }
}

impl PartialEq for Value {
    fn eq(&self, other: &Self) -> bool {
        self.shape == other.shape
            && match (&self.buffer, &other.buffer) {
                (Buffer::F32(a), Buffer::F32(b)) => a == b,
                (Buffer::I32(a), Buffer::I32(b)) => a == b,
                (Buffer::I64(a), Buffer::I64(b)) => a == b,
                (Buffer::Bool(a), Buffer::Bool(b)) => a == b,
                (Buffer::String(a), Buffer::String(b)) => a == b,
                _ => false,
            }
    }
}
