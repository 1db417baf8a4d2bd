//! Neural-network ops (`tf.nn`): activations, convolution, pooling, dropout, losses.

pub(crate) mod padding;
pub use padding::Padding;

mod conv2d;
mod conv2d_backprop_filter;
mod conv2d_backprop_input;
pub use conv2d::conv2d;
pub use conv2d_backprop_filter::conv2d_backprop_filter;
pub use conv2d_backprop_input::conv2d_backprop_input;
