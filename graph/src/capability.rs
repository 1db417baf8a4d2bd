//! What an op offers a plan's fusion pass (`rustflow_ops::fusion`): ops declare what they
//! compute, never which neighbours they fuse with, and the pass's pattern table matches
//! chains of capabilities.

use crate::{NodeId, Op};
use std::any::Any;
use std::sync::Arc;

/// An element-wise float32 function, as a fused kernel applies it.
#[derive(Clone, Copy, Debug)]
pub struct Elementwise {
    /// Maps a slice in place, element by element (a loop the compiler vectorizes).
    pub apply: fn(&mut [f32]),
    /// The function never decreases (`Relu`, `Tanh`, `Sigmoid`): max pooling then commutes
    /// with it, so a fused kernel may pool first.
    pub monotone: bool,
}

/// An op's part in fusion.
#[derive(Default)]
pub enum Capability {
    /// Runs on its own.
    #[default]
    None,
    /// `y = f(x)` element by element on its one float32 input.
    Elementwise(Elementwise),
    /// `y = x + b` with `b` added along the last dimension. `commutes`: `x` may be either
    /// input (`Add`); otherwise it is the first (`BiasAdd`).
    BiasAdd {
        /// Whether the inputs may swap.
        commutes: bool,
    },
    /// Pools windows of its one NHWC input; the description is the ops crate's.
    Pool(Box<dyn Any + Send + Sync>),
    /// A product (convolution, matrix product) whose kernel can finish its output with an
    /// epilogue; the description is the ops crate's.
    Producer(Box<dyn Any + Send + Sync>),
    /// An optimizer's update of variable `var` from the gradient at input 0;
    /// `with_product` is the same update taking inputs `(a, dy, rest...)` and computing the
    /// gradient `aᵀ · dy` itself, block by block.
    Update {
        /// The variable updated.
        var: NodeId,
        /// The update computing its gradient from the factors.
        with_product: Arc<dyn Op>,
    },
}
