//! Feeds and fetches: what a run substitutes and what it returns.

use rustflow_graph::{Error, Operation, Result, Tensor, Value};
use rustflow_ops::Variable;

/// The values a run substitutes for tensors (TensorFlow's `feed_dict`). Any tensor may be
/// fed, not only a placeholder; the ops that would have produced it then do not run.
///
/// ```
/// use rustflow_runtime::{feed, FeedDict};
/// use rustflow_graph::{Graph, DType, shape};
/// let g = Graph::new();
/// let x = rustflow_ops::placeholder(&g, DType::F32, shape![?, 3], "x");
/// let feeds: FeedDict = feed! { &x => ndarray::array![[1.0f32, 2.0, 3.0]] };
/// assert_eq!(feeds.len(), 1);
/// ```
#[derive(Clone, Default, Debug)]
pub struct FeedDict {
    entries: Vec<(Tensor, Value)>,
}

impl FeedDict {
    /// An empty feed.
    pub fn new() -> Self {
        FeedDict::default()
    }

    /// Feeds `value` for `tensor` (replacing an earlier feed of the same tensor).
    pub fn insert(&mut self, tensor: impl AsRef<Tensor>, value: impl Into<Value>) -> &mut Self {
        let tensor = tensor.as_ref().clone();
        let value = value.into();
        match self.entries.iter_mut().find(|(t, _)| *t == tensor) {
            Some(e) => e.1 = value,
            None => self.entries.push((tensor, value)),
        }
        self
    }

    /// Builder form of [`FeedDict::insert`].
    pub fn with(mut self, tensor: impl AsRef<Tensor>, value: impl Into<Value>) -> Self {
        self.insert(tensor, value);
        self
    }

    /// Feeds the tensor named `name` (`"h:0"`) of `graph`.
    pub fn insert_by_name(
        &mut self,
        graph: &rustflow_graph::Graph,
        name: &str,
        value: impl Into<Value>,
    ) -> Result<&mut Self> {
        let t = graph.tensor_by_name(name)?;
        Ok(self.insert(t, value))
    }

    /// The fed (tensor, value) pairs.
    pub fn entries(&self) -> &[(Tensor, Value)] {
        &self.entries
    }

    /// The number of fed tensors.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether nothing is fed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// Builds a [`FeedDict`]: `feed! { &x => xs, &y_ => ys }`; `feed! {}` is empty.
#[macro_export]
macro_rules! feed {
    () => { $crate::FeedDict::new() };
    ($($t:expr => $v:expr),+ $(,)?) => {{
        let mut f = $crate::FeedDict::new();
        $( f.insert($t, $v); )+
        f
    }};
}

/// Something a run can fetch: a tensor (its value comes back) or an operation (it runs and
/// gives no value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fetch {
    /// Fetch a tensor's value.
    Tensor(Tensor),
    /// Run an operation.
    Operation(Operation),
}

impl From<&Tensor> for Fetch {
    fn from(t: &Tensor) -> Self {
        Fetch::Tensor(t.clone())
    }
}
impl From<Tensor> for Fetch {
    fn from(t: Tensor) -> Self {
        Fetch::Tensor(t)
    }
}
impl From<&Variable> for Fetch {
    fn from(v: &Variable) -> Self {
        Fetch::Tensor((**v).clone())
    }
}
impl From<&Operation> for Fetch {
    fn from(o: &Operation) -> Self {
        Fetch::Operation(o.clone())
    }
}
impl From<Operation> for Fetch {
    fn from(o: Operation) -> Self {
        Fetch::Operation(o)
    }
}

/// Builds an array of [`Fetch`]es from tensors, variables and operations, to pass to
/// [`crate::Session::run`] as a slice: `sess.run(&fetches![&train_step, &loss], &feeds)`.
#[macro_export]
macro_rules! fetches {
    () => { [] as [$crate::Fetch; 0] };
    ($($f:expr),+ $(,)?) => { [$($crate::Fetch::from($f)),+] };
}

/// What a run returns: one entry per fetch, in fetch order; `None` for an operation.
#[derive(Clone, Debug, PartialEq)]
pub struct Outputs(pub Vec<Option<Value>>);

impl Outputs {
    /// The value of fetch `i`; an error if fetch `i` was an operation or out of range.
    pub fn value(&self, i: usize) -> Result<&Value> {
        self.0.get(i).and_then(Option::as_ref).ok_or_else(|| {
            Error::Kernel(format!(
                "fetch {i} has no value (an operation, or out of range)"
            ))
        })
    }

    /// Takes the value of fetch `i` out.
    pub fn take(&mut self, i: usize) -> Result<Value> {
        self.0.get_mut(i).and_then(Option::take).ok_or_else(|| {
            Error::Kernel(format!(
                "fetch {i} has no value (an operation, or out of range)"
            ))
        })
    }

    /// The number of fetches.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there were no fetches.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
