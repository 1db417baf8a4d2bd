//! Optimizers (`tf.train`).

mod adam;
mod gradient_descent;
mod momentum;
mod optimizer;
mod slots;
mod update;

pub use adam::AdamOptimizer;
pub use gradient_descent::GradientDescentOptimizer;
pub use momentum::MomentumOptimizer;
pub use optimizer::Optimizer;
