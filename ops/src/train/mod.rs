//! Optimizers, learning-rate schedules and moving averages (`tf.train`).

mod adadelta;
mod adagrad;
mod adam;
mod apply;
mod global_step;
mod gradient_descent;
mod hyper;
mod learning_rate_decay;
mod momentum;
mod moving_averages;
mod optimizer;
mod rmsprop;
mod slots;
mod update;

pub use adadelta::AdadeltaOptimizer;
pub use adagrad::AdagradOptimizer;
pub use adam::AdamOptimizer;
pub use apply::apply_update;
pub use global_step::{get_global_step, get_or_create_global_step};
pub use gradient_descent::GradientDescentOptimizer;
pub use hyper::Hyper;
pub use learning_rate_decay::{exponential_decay, piecewise_constant, polynomial_decay};
pub use momentum::MomentumOptimizer;
pub use moving_averages::ExponentialMovingAverage;
pub use optimizer::Optimizer;
pub use rmsprop::RMSPropOptimizer;
