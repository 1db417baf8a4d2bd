//! The global step: the int64 variable `global_step` that training steps increment.

use crate::{constant, Variable};
use rustflow_graph::{Graph, GraphKeys, Result};

/// The graph's global step (`tf.train.get_global_step()`): the variable of the
/// `GLOBAL_STEP` collection, if one was created.
pub fn get_global_step(g: &Graph) -> Result<Option<Variable>> {
    Ok(crate::variables_of_collection(g, GraphKeys::GLOBAL_STEP)?
        .into_iter()
        .next())
}

/// The graph's global step, created if needed (`tf.train.get_or_create_global_step()`): a
/// non-trainable int64 scalar variable named `global_step`, starting at 0, in the
/// `GLOBAL_STEP` collection. Pass it to `minimize_with` / `apply_gradients` to count steps.
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::train::get_or_create_global_step;
/// let g = Graph::new();
/// let step = get_or_create_global_step(&g).unwrap();
/// assert_eq!(step.name(), "global_step:0");
/// assert_eq!(get_or_create_global_step(&g).unwrap().node(), step.node());
/// ```
pub fn get_or_create_global_step(g: &Graph) -> Result<Variable> {
    if let Some(step) = get_global_step(g)? {
        return Ok(step);
    }
    g.name_scope("", |g| {
        let zero = constant(g, 0i64, "global_step/Initializer/zeros");
        let step = Variable::non_trainable(&zero, "global_step")?;
        g.add_to_collection(GraphKeys::GLOBAL_STEP, &*step);
        Ok(step)
    })
}
