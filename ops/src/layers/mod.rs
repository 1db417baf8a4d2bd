//! Layers, as TensorFlow 1.x's `tf.compat.v1.layers`: each call creates its variables with
//! [`crate::get_variable`] in a variable scope named after the layer (`dense`, `dense_1`,
//! ..., or the name given), so they have TensorFlow's names (`dense/kernel`, `dense/bias`,
//! `batch_normalization/moving_mean`) and can be shared with `reuse`.

pub use batch_normalization::{batch_normalization, BatchNormalization};
pub use conv2d::{conv2d, Conv2D};
pub use core::{dropout, flatten, Training};
pub use dense::{dense, Dense};
pub use pooling::{average_pooling2d, max_pooling2d};

use crate::{get_variable_with, nn, Initializer, VariableOptions};
use rustflow_graph::{Graph, Result, Reuse, Tensor};

/// An activation function applied to a layer's output (`nn::relu`, `tanh`, ...).
pub type Activation = fn(&Tensor) -> Result<Tensor>;

/// The options every layer has: its name (variable scope), reuse, and whether its
/// variables are trainable.
#[derive(Clone, Debug)]
pub(crate) struct Scope {
    pub(crate) trainable: bool,
    pub(crate) name: Option<String>,
    pub(crate) reuse: Option<Reuse>,
}

impl Default for Scope {
    fn default() -> Self {
        Scope {
            trainable: true,
            name: None,
            reuse: None,
        }
    }
}

impl Scope {
    /// Runs `f` in the layer's variable scope (see [`layer_scope`]).
    pub(crate) fn enter<R>(
        &self,
        g: &Graph,
        base: &str,
        f: impl FnOnce(&Graph) -> Result<R>,
    ) -> Result<R> {
        layer_scope(g, base, self.name.as_deref(), self.reuse, f)
    }

    /// A variable of the layer's scope.
    pub(crate) fn variable(
        &self,
        g: &Graph,
        name: &str,
        shape: &[usize],
        initializer: Initializer,
    ) -> Result<crate::Variable> {
        let opts = VariableOptions {
            initializer,
            trainable: self.trainable,
            collections: vec![],
        };
        get_variable_with(g, name, shape, &opts)
    }
}

/// The options of a layer with a kernel: bias, initializers, activation.
#[derive(Clone, Debug)]
pub(crate) struct Affine {
    pub(crate) activation: Option<Activation>,
    pub(crate) use_bias: bool,
    pub(crate) kernel_initializer: Initializer,
    pub(crate) bias_initializer: Initializer,
}

impl Default for Affine {
    fn default() -> Self {
        Affine {
            activation: None,
            use_bias: true,
            kernel_initializer: Initializer::default(),
            bias_initializer: Initializer::Zeros,
        }
    }
}

impl Affine {
    /// In `scope`'s variable scope (default name `base`): the kernel of `kernel_shape`,
    /// `product(kernel)`, plus a bias of `units` if the layer has one, then the activation.
    pub(crate) fn build(
        &self,
        scope: &Scope,
        g: &Graph,
        base: &str,
        kernel_shape: &[usize],
        product: impl FnOnce(&Tensor) -> Result<Tensor>,
    ) -> Result<Tensor> {
        scope.enter(g, base, |g| {
            let kernel = scope.variable(g, "kernel", kernel_shape, self.kernel_initializer)?;
            let mut y = product(&kernel)?;
            if self.use_bias {
                let units = kernel_shape.last().copied().unwrap_or(0);
                let bias = scope.variable(g, "bias", &[units], self.bias_initializer)?;
                y = nn::bias_add(&y, &bias)?;
            }
            match self.activation {
                Some(f) => f(&y),
                None => Ok(y),
            }
        })
    }
}

/// The builder methods of [`Scope`] (the layer's field `scope`); `$default` names the
/// default scope in the docs.
macro_rules! scope_setters {
    ($default:literal) => {
        /// Whether its variables are trainable (default true).
        pub fn trainable(mut self, trainable: bool) -> Self {
            self.scope.trainable = trainable;
            self
        }

        #[doc = concat!("The layer's name (its variable scope); default `", $default, "`, `", $default, "_1`, ...")]
        pub fn name(mut self, name: &str) -> Self {
            self.scope.name = Some(name.to_string());
            self
        }

        /// Reuse the variables of the layer with the same name.
        pub fn reuse(mut self, reuse: rustflow_graph::Reuse) -> Self {
            self.scope.reuse = Some(reuse);
            self
        }
    };
}

/// The builder methods of [`Affine`] (the layer's field `affine`).
macro_rules! affine_setters {
    () => {
        /// Applies `f` to the output.
        pub fn activation(mut self, f: super::Activation) -> Self {
            self.affine.activation = Some(f);
            self
        }

        /// Whether the layer adds a bias (default true).
        pub fn use_bias(mut self, use_bias: bool) -> Self {
            self.affine.use_bias = use_bias;
            self
        }

        /// The kernel's initializer (default Glorot uniform).
        pub fn kernel_initializer(mut self, init: crate::Initializer) -> Self {
            self.affine.kernel_initializer = init;
            self
        }

        /// The bias's initializer (default zeros).
        pub fn bias_initializer(mut self, init: crate::Initializer) -> Self {
            self.affine.bias_initializer = init;
            self
        }
    };
}
// The layers' files come after the macros, which they use by textual scope.
mod batch_normalization;
mod conv2d;
mod core;
mod dense;
mod pooling;

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
