//! Partially known shapes, as TensorFlow infers them at build time.

use std::fmt;

/// A dimension that may be unknown at build time (`None` in TensorFlow, `?` when printed).
pub type Dim = Option<usize>;

/// A static shape: unknown rank, or a list of dimensions each of which may be unknown.
///
/// ```
/// use rustflow_graph::{shape, Shape};
/// let s = shape![?, 784];
/// assert_eq!(s.to_string(), "[?,784]");
/// assert!(s.is_compatible_with(&[50, 784]));
/// assert!(!s.is_compatible_with(&[784]));
/// assert_eq!(Shape::unknown().to_string(), "<unknown>");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Shape(Option<Vec<Dim>>);

/// Builds a [`Shape`]: `shape![?, 784]`, `shape![5, 5, 1, 32]`, `shape![]` (a scalar).
#[macro_export]
macro_rules! shape {
    (@dim ?) => { None };
    (@dim $d:expr) => { Some($d as usize) };
    ($($d:tt),* $(,)?) => { $crate::Shape::new(vec![$($crate::shape!(@dim $d)),*]) };
}

impl Shape {
    /// A shape of known rank; each dimension may be unknown.
    pub fn new(dims: Vec<Dim>) -> Self {
        Shape(Some(dims))
    }

    /// A shape whose rank is unknown.
    pub fn unknown() -> Self {
        Shape(None)
    }

    /// A scalar shape `[]`.
    pub fn scalar() -> Self {
        Shape(Some(vec![]))
    }

    /// A fully known shape.
    pub fn known(dims: &[usize]) -> Self {
        Shape(Some(dims.iter().map(|&d| Some(d)).collect()))
    }

    /// A shape of known rank with every dimension unknown.
    pub fn unknown_dims(rank: usize) -> Self {
        Shape(Some(vec![None; rank]))
    }

    /// The dimensions, or `None` when the rank is unknown.
    pub fn dims(&self) -> Option<&[Dim]> {
        self.0.as_deref()
    }

    /// The rank, if known.
    pub fn rank(&self) -> Option<usize> {
        self.0.as_ref().map(Vec::len)
    }

    /// The dimension `i`, or `None` when it (or the rank) is unknown.
    pub fn dim(&self, i: usize) -> Dim {
        self.0.as_ref().and_then(|d| d.get(i).copied().flatten())
    }

    /// Every dimension, if all are known.
    pub fn to_known(&self) -> Option<Vec<usize>> {
        self.0.as_ref()?.iter().copied().collect()
    }

    /// The number of elements, if every dimension is known.
    pub fn num_elements(&self) -> Option<usize> {
        self.to_known()?
            .iter()
            .try_fold(1usize, |a, &d| a.checked_mul(d))
    }

    /// Whether a concrete shape fits this one: same rank (when known), and equal sizes where
    /// this shape knows them.
    pub fn is_compatible_with(&self, concrete: &[usize]) -> bool {
        match &self.0 {
            None => true,
            Some(dims) => {
                dims.len() == concrete.len()
                    && dims
                        .iter()
                        .zip(concrete)
                        .all(|(d, c)| d.is_none_or(|d| d == *c))
            }
        }
    }

    /// Whether two static shapes could describe the same tensor.
    pub fn is_compatible(&self, other: &Shape) -> bool {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) => {
                a.len() == b.len()
                    && a.iter().zip(b).all(|(x, y)| match (x, y) {
                        (Some(x), Some(y)) => x == y,
                        _ => true,
                    })
            }
            _ => true,
        }
    }

    /// The most specific shape compatible with both, or `None` if they conflict.
    pub fn merge(&self, other: &Shape) -> Option<Shape> {
        match (&self.0, &other.0) {
            (None, _) => Some(other.clone()),
            (_, None) => Some(self.clone()),
            (Some(a), Some(b)) => {
                if a.len() != b.len() {
                    return None;
                }
                a.iter()
                    .zip(b)
                    .map(|(x, y)| match (x, y) {
                        (Some(x), Some(y)) if x != y => Err(()),
                        (Some(x), _) | (_, Some(x)) => Ok(Some(*x)),
                        _ => Ok(None),
                    })
                    .collect::<Result<Vec<_>, ()>>()
                    .ok()
                    .map(Shape::new)
            }
        }
    }
}

impl From<&[usize]> for Shape {
    fn from(d: &[usize]) -> Self {
        Shape::known(d)
    }
}

impl<const N: usize> From<[usize; N]> for Shape {
    fn from(d: [usize; N]) -> Self {
        Shape::known(&d)
    }
}

impl From<Vec<usize>> for Shape {
    fn from(d: Vec<usize>) -> Self {
        Shape::known(&d)
    }
}

impl From<Vec<Dim>> for Shape {
    fn from(d: Vec<Dim>) -> Self {
        Shape::new(d)
    }
}

impl fmt::Display for Shape {
    /// TensorFlow's notation: `[?,784]`, `[]`, `<unknown>`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            None => f.write_str("<unknown>"),
            Some(dims) => {
                f.write_str("[")?;
                for (i, d) in dims.iter().enumerate() {
                    if i > 0 {
                        f.write_str(",")?;
                    }
                    match d {
                        Some(d) => write!(f, "{d}")?,
                        None => f.write_str("?")?,
                    }
                }
                f.write_str("]")
            }
        }
    }
}

/// Formats a concrete shape as TensorFlow prints it: `[2,3]`.
pub fn fmt_dims(dims: &[usize]) -> String {
    Shape::known(dims).to_string()
}
