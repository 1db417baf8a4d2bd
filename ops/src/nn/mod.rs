//! Neural-network ops (`tf.nn`): activations, convolution, pooling, dropout, losses.

pub(crate) mod padding;
pub use padding::Padding;

mod conv2d;
mod conv2d_backprop_filter;
mod conv2d_backprop_input;
pub use conv2d::conv2d;
pub use conv2d_backprop_filter::conv2d_backprop_filter;
pub use conv2d_backprop_input::conv2d_backprop_input;

mod avg_pool;
mod avg_pool_grad;
mod max_pool;
mod max_pool_grad;
pub(crate) mod pool;
pub use avg_pool::avg_pool;
pub use avg_pool_grad::avg_pool_grad;
pub use max_pool::max_pool;
pub use max_pool_grad::max_pool_grad;

mod bias_add;
mod bias_add_grad;
pub use bias_add::bias_add;
pub use bias_add_grad::bias_add_grad;

mod softmax_xent;
mod sparse_softmax_xent;
mod xent_grad;
pub use softmax_xent::{softmax_cross_entropy_with_logits, softmax_cross_entropy_with_logits_v2};
pub use sparse_softmax_xent::sparse_softmax_cross_entropy_with_logits;

mod dropout;
mod dropout_mask;
pub use dropout::{dropout, dropout_const, dropout_with};

mod add_relu;
mod add_relu_max_pool;
mod conv2d_add_relu_max_pool;
pub(crate) mod relu;
mod relu_grad;
pub use add_relu::AddRelu;
pub use add_relu_max_pool::AddReluMaxPool;
pub use conv2d_add_relu_max_pool::Conv2DAddReluMaxPool;
pub use relu::relu;
pub use relu_grad::relu_grad;

mod log_softmax;
pub(crate) mod softmax;
mod softmax_grad;
pub use log_softmax::log_softmax;
pub use softmax::{log_softmax_axis, softmax, softmax_axis};
pub use softmax_grad::{log_softmax_grad, softmax_grad};

mod rnn;
mod rnn_cell;
pub use rnn::{dynamic_rnn, static_rnn, RnnOptions};
pub use rnn_cell::{BasicLSTMCell, BasicRNNCell, GRUCell, LSTMCell, MultiRNNCell, RNNCell};
