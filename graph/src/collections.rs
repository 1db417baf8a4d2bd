//! Collections (`tf.add_to_collection`) and variable scopes (`tf.variable_scope`): the
//! types; the graph keeps them.

use crate::{Operation, Tensor};

/// The standard collection names (`tf.GraphKeys`).
#[derive(Debug)]
pub struct GraphKeys;

impl GraphKeys {
    /// Every variable (`tf.global_variables()`).
    pub const GLOBAL_VARIABLES: &'static str = "variables";
    /// The variables optimizers train by default (`tf.trainable_variables()`).
    pub const TRAINABLE_VARIABLES: &'static str = "trainable_variables";
    /// Ops to run with each training step (batch normalization's moving averages).
    pub const UPDATE_OPS: &'static str = "update_ops";
    /// The global step variable.
    pub const GLOBAL_STEP: &'static str = "global_step";
    /// Losses added by `tf.losses`.
    pub const LOSSES: &'static str = "losses";
    /// Regularization losses.
    pub const REGULARIZATION_LOSSES: &'static str = "regularization_losses";
    /// The variables an `ExponentialMovingAverage` tracks.
    pub const MOVING_AVERAGE_VARIABLES: &'static str = "moving_average_variables";
    /// The summary ops `summary::merge_all` merges.
    pub const SUMMARIES: &'static str = "summaries";
}

/// A member of a collection: a tensor (a variable, a loss) or an operation (an update).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CollectionItem {
    /// A tensor, such as a variable's value.
    Tensor(Tensor),
    /// An operation, such as an assignment to run with each step.
    Operation(Operation),
}

impl CollectionItem {
    /// The operation: itself, or the tensor's producer.
    pub fn op(&self) -> Operation {
        match self {
            CollectionItem::Tensor(t) => t.op(),
            CollectionItem::Operation(o) => o.clone(),
        }
    }

    /// The tensor, when the item is one.
    pub fn tensor(&self) -> Option<&Tensor> {
        match self {
            CollectionItem::Tensor(t) => Some(t),
            CollectionItem::Operation(_) => None,
        }
    }
}

impl From<Tensor> for CollectionItem {
    fn from(t: Tensor) -> Self {
        CollectionItem::Tensor(t)
    }
}

impl From<&Tensor> for CollectionItem {
    fn from(t: &Tensor) -> Self {
        CollectionItem::Tensor(t.clone())
    }
}

impl From<Operation> for CollectionItem {
    fn from(o: Operation) -> Self {
        CollectionItem::Operation(o)
    }
}

impl From<&Operation> for CollectionItem {
    fn from(o: &Operation) -> Self {
        CollectionItem::Operation(o.clone())
    }
}

/// Whether `get_variable` inside a variable scope creates variables or returns existing ones
/// (`reuse=` of `tf.variable_scope`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Reuse {
    /// Create: asking for an existing name is an error (`reuse=None`/`False`).
    #[default]
    No,
    /// Return existing variables: asking for a missing one is an error (`reuse=True`).
    Yes,
    /// Return the variable if it exists, create it otherwise (`tf.AUTO_REUSE`).
    Auto,
}

/// One open variable scope: its full name (`outer/inner`) and reuse mode.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VariableScope {
    /// The scope's full name, the prefix of its variables' names (`""` at the top).
    pub name: String,
    /// Its reuse mode (inherited: once `Yes` or `Auto`, nested scopes keep it).
    pub reuse: Reuse,
}
