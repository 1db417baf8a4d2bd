//! `get_variable`: variables named by their variable scope, shared with `reuse`.

use super::Initializer;
use crate::Variable;
use rustflow_graph::{fmt_dims, Error, Graph, GraphKeys, Result, Reuse, Tensor};

/// The options of [`get_variable_with`] beyond name and shape.
#[derive(Clone, Debug)]
pub struct VariableOptions {
    /// The initializer (default Glorot uniform, as TensorFlow 1.x's `get_variable`).
    pub initializer: Initializer,
    /// Whether optimizers train it (`TRAINABLE_VARIABLES`; default true).
    pub trainable: bool,
    /// Further collections to add it to (every variable is in `GLOBAL_VARIABLES`).
    pub collections: Vec<String>,
}

impl Default for VariableOptions {
    fn default() -> Self {
        VariableOptions {
            initializer: Initializer::default(),
            trainable: true,
            collections: vec![],
        }
    }
}

impl VariableOptions {
    /// The default options with this initializer.
    pub fn initializer(initializer: Initializer) -> Self {
        VariableOptions {
            initializer,
            ..VariableOptions::default()
        }
    }
}

/// The float32 variable `name` of the current variable scope (`tf.get_variable(name, shape,
/// initializer=...)`). Its full name is `<variable scopes>/name`, whatever name scope is
/// open. In a scope without reuse the name must be new; with `Reuse::Yes` the variable must
/// exist (and have this shape) and is returned; `Reuse::Auto` does either.
///
/// ```
/// use rustflow_graph::{Graph, Reuse};
/// use rustflow_ops::{get_variable, Initializer};
/// let g = Graph::new();
/// let w = g.variable_scope("layer", None, |g| get_variable(g, "w", &[3, 2], Initializer::Zeros)).unwrap();
/// assert_eq!(w.name(), "layer/w:0");
/// let again = g.variable_scope("layer", Some(Reuse::Yes), |g| get_variable(g, "w", &[3, 2], Initializer::Zeros)).unwrap();
/// assert_eq!(again.node(), w.node());
/// let err = g.variable_scope("layer", None, |g| get_variable(g, "w", &[3, 2], Initializer::Zeros)).unwrap_err();
/// assert!(err.to_string().contains("Variable layer/w already exists"));
/// ```
pub fn get_variable(
    g: &Graph,
    name: &str,
    shape: &[usize],
    initializer: Initializer,
) -> Result<Variable> {
    get_variable_with(g, name, shape, &VariableOptions::initializer(initializer))
}

/// [`get_variable`] with all the options.
pub fn get_variable_with(
    g: &Graph,
    name: &str,
    shape: &[usize],
    options: &VariableOptions,
) -> Result<Variable> {
    let scope = g.current_variable_scope();
    let full = if scope.name.is_empty() {
        name.to_string()
    } else {
        format!("{}/{name}", scope.name)
    };
    let error = |msg: String| Error::InvalidArgument {
        node: full.clone(),
        op: "VariableV2".into(),
        msg,
    };
    match (g.stored_variable(&full), scope.reuse) {
        (Some(info), Reuse::Yes | Reuse::Auto) => {
            let var = Variable::from_info(g, &info)?;
            let found = var.shape().to_known().unwrap_or_default();
            if found != shape {
                return Err(error(format!(
                    "Trying to share variable {full}, but specified shape {} and found shape {}.",
                    fmt_dims(shape),
                    fmt_dims(&found)
                )));
            }
            Ok(var)
        }
        (Some(_), Reuse::No) => Err(error(format!(
            "Variable {full} already exists, disallowed. Did you mean to set reuse=True or reuse=tf.AUTO_REUSE in VarScope?"
        ))),
        (None, Reuse::Yes) => Err(error(format!(
            "Variable {full} does not exist, or was not created with tf.get_variable(). Did you mean to set reuse=tf.AUTO_REUSE in VarScope?"
        ))),
        (None, Reuse::No | Reuse::Auto) => {
            // Variables are named by the variable scopes alone: build at the top level,
            // outside control dependencies.
            g.without_control_dependencies(|g| g.name_scope("", |g| {
                let init = g.name_scope(&format!("{full}/Initializer/"), |g| {
                    options.initializer.build(g, shape)
                })?;
                let var = if options.trainable {
                    Variable::new(&init, &full)?
                } else {
                    Variable::non_trainable(&init, &full)?
                };
                let info = g
                    .global_variables()
                    .into_iter()
                    .find(|v| v.node == var.node())
                    .ok_or_else(|| error("the variable was not registered".into()))?;
                g.store_variable(&full, info);
                for c in &options.collections {
                    g.add_to_collection(c, &*var);
                }
                Ok(var)
            }))
        }
    }
}

/// The variables of a collection (`tf.get_collection(GraphKeys.GLOBAL_VARIABLES)`, or a
/// user-named one): its members that are variables, in order.
pub fn variables_of_collection(g: &Graph, name: &str) -> Result<Vec<Variable>> {
    let vars = g.global_variables();
    g.get_collection(name)
        .iter()
        .filter_map(|item| item.tensor().cloned())
        .filter_map(|t: Tensor| vars.iter().find(|v| v.node == t.node()).cloned())
        .map(|info| Variable::from_info(g, &info))
        .collect()
}

/// Every variable (`tf.global_variables()`).
pub fn global_variables(g: &Graph) -> Result<Vec<Variable>> {
    variables_of_collection(g, GraphKeys::GLOBAL_VARIABLES)
}

/// The trainable variables (`tf.trainable_variables()`).
pub fn trainable_variables(g: &Graph) -> Result<Vec<Variable>> {
    variables_of_collection(g, GraphKeys::TRAINABLE_VARIABLES)
}
