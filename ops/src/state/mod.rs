//! Placeholders, constants and variables.

mod constant;
mod get_variable;
mod initializers;
mod placeholder;
mod scatter;
mod variable;

pub use constant::{constant, fill, ones, ones_like, zeros, zeros_like, Const};
pub use get_variable::{
    get_variable, get_variable_with, global_variables, trainable_variables,
    variables_of_collection, VariableOptions,
};
pub use initializers::{Distribution, FanMode, Initializer};
pub use placeholder::placeholder;
pub use scatter::{scatter_add, scatter_update};
pub(crate) use variable::VariableOp;
pub use variable::{
    global_variables_initializer, group, no_op, variables_initializer, AssignMode, Variable,
};
