//! Neural-network ops (`tf.nn`): activations, convolution, pooling, dropout, losses.
