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

/// A binary float32 function `y = f(a, b)` element by element, as a fused kernel applies it
/// to the value it computes (one operand) and another input broadcast along it: a scalar, a
/// vector along the last dimension, or a tensor of the value's shape.
#[derive(Clone, Copy, Debug)]
pub struct ElementwiseBinary {
    /// `out[i] = f(out[i], other[i % other.len()])` in place, or `f(other[..], out[i])` when
    /// `swapped` (the value is the second operand); `out` starts at a multiple of
    /// `other.len()`.
    pub apply: fn(out: &mut [f32], other: &[f32], swapped: bool),
    /// Whether `f` never decreases in its first, second argument when the other is fixed and
    /// gives no NaN from finite numbers (`Add`, `Maximum`; `Sub` in its first): max pooling
    /// then commutes with it when the other operand is the same across a window.
    pub monotone: [bool; 2],
}

/// An op's part in fusion.
#[derive(Default)]
pub enum Capability {
    /// Runs on its own.
    #[default]
    None,
    /// `y = f(x)` element by element on its one float32 input.
    Elementwise(Elementwise),
    /// `y = f(a, b)` element by element on its two float32 inputs (`Add`, `Mul`, `Maximum`,
    /// `BiasAdd`, ...), broadcasting as NumPy does.
    Binary(ElementwiseBinary),
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
