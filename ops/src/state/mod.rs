//! Placeholders, constants and variables.

mod constant;
mod placeholder;
mod variable;

pub use constant::{constant, fill, ones, ones_like, zeros, zeros_like, Const};
pub use placeholder::placeholder;
pub(crate) use variable::VariableOp;
pub use variable::{
    global_variables_initializer, group, variables_initializer, AssignMode, Variable,
};
