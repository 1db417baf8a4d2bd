//! Layers, as TensorFlow 1.x's `tf.compat.v1.layers`: each call creates its variables with
//! [`crate::get_variable`] in a variable scope named after the layer (`dense`, `dense_1`,
//! ..., or the name given), so they have TensorFlow's names (`dense/kernel`, `dense/bias`,
//! `batch_normalization/moving_mean`) and can be shared with `reuse`.

mod batch_normalization;
mod conv2d;
mod core;
mod dense;
mod pooling;

pub use batch_normalization::{batch_normalization, BatchNormalization};
pub use conv2d::{conv2d, Conv2D};
pub use core::{dropout, flatten, Training};
pub use dense::{dense, Dense};
pub use pooling::{average_pooling2d, max_pooling2d};

use rustflow_graph::{Graph, Result, Reuse, Tensor};

/// An activation function applied to a layer's output (`nn::relu`, `tanh`, ...).
pub type Activation = fn(&Tensor) -> Result<Tensor>;

/// Runs `f` in the variable scope of a layer: `name`, or the first of `base`, `base_1`, ...
/// that no variable of the current scope uses yet (a new layer, as TensorFlow numbers them).
pub(crate) fn layer_scope<R>(
    g: &Graph,
    base: &str,
    name: Option<&str>,
    reuse: Option<Reuse>,
    f: impl FnOnce(&Graph) -> Result<R>,
) -> Result<R> {
    let name = match name {
        Some(n) => n.to_string(),
        None => {
            let outer = g.current_variable_scope().name;
            let prefix = if outer.is_empty() {
                String::new()
            } else {
                format!("{outer}/")
            };
            let taken = |n: &str| g.has_stored_variable_under(&format!("{prefix}{n}/"));
            std::iter::once(base.to_string())
                .chain((1..).map(|i| format!("{base}_{i}")))
                .find(|n| !taken(n))
                .unwrap_or_default()
        }
    };
    g.variable_scope(&name, reuse, f)
}
