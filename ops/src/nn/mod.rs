//! Neural-network ops (`tf.nn`): activations, convolution, pooling, dropout, losses.

pub(crate) mod padding;
pub use padding::Padding;

pub(crate) mod conv2d;
mod conv2d_backprop_filter;
mod conv2d_backprop_input;
mod conv2d_transpose;
pub use conv2d::conv2d;
pub use conv2d_backprop_filter::conv2d_backprop_filter;
pub use conv2d_backprop_input::conv2d_backprop_input;
pub use conv2d_transpose::conv2d_transpose;

mod avg_pool;
mod avg_pool_grad;
mod max_pool;
mod max_pool_grad;
mod max_pool_grad_grad;
pub(crate) mod pool;
pub use avg_pool::avg_pool;
pub use avg_pool_grad::avg_pool_grad;
pub use max_pool::max_pool;
pub use max_pool_grad::max_pool_grad;
pub use max_pool_grad_grad::max_pool_grad_grad;

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

pub(crate) mod relu;
mod relu_grad;
pub use relu::relu;
pub use relu_grad::relu_grad;

mod lstm_gates;
pub use lstm_gates::lstm_gates;

mod log_softmax;
pub(crate) mod softmax;
mod softmax_grad;
pub use log_softmax::log_softmax;
pub use softmax::{log_softmax_axis, softmax, softmax_axis};
pub use softmax_grad::{log_softmax_grad, softmax_grad};

/// The `tf.nn` names of activations, losses and ranking ops that are rows and files of
/// [`crate::math`].
pub use crate::math::{
    elu, in_top_k, l2_loss, l2_normalize, leaky_relu, relu6, selu, sigmoid, softplus, softsign,
    tanh, top_k,
};
mod sigmoid_xent;
pub use sigmoid_xent::{sigmoid_cross_entropy_with_logits, weighted_cross_entropy_with_logits};

mod moments;
pub use moments::{batch_normalization, moments};

mod lrn;
mod lrn_grad;
pub use lrn::local_response_normalization;

pub(crate) mod fused_batch_norm;
mod fused_batch_norm_grad;
pub use fused_batch_norm::fused_batch_norm;

mod direct_conv;
pub use direct_conv::{conv2d_dilated, depthwise_conv2d};
mod embedding_lookup;
pub use embedding_lookup::{embedding_lookup, PartitionStrategy};
mod rnn;
mod rnn_cell;
pub use rnn::{dynamic_rnn, static_rnn, RnnOptions};
pub use rnn_cell::{BasicLSTMCell, BasicRNNCell, GRUCell, LSTMCell, MultiRNNCell, RNNCell};
