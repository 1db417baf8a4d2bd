//! Optimizers (`tf.train`).

mod gradient_descent;
mod optimizer;

pub use gradient_descent::GradientDescentOptimizer;
pub use optimizer::Optimizer;
