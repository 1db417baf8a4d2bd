//! Ops that move, cut, glue or relabel values: identity, reshape, transpose, concat, split,
//! stack, unstack, slice, strided_slice, gather, pad, tile, squeeze, expand_dims, ...

pub(crate) mod common;

mod concat;
mod expand_dims;
mod gather;
mod gather_grad;
mod gather_nd;
mod identity;
mod index_map;
mod pad;
mod reshape;
mod reshape_like;
mod reverse;
mod scatter_nd;
mod slice;
mod split;
mod squeeze;
mod stack;
mod strided_slice;
mod tile;
mod transpose;
mod unstack;

pub use concat::concat;
pub use expand_dims::expand_dims;
pub use gather::gather;
pub use gather_nd::gather_nd;
pub use identity::{identity, stop_gradient};
pub use pad::{pad, PadMode};
pub use reshape::reshape;
pub use reshape_like::reshape_like;
pub use reverse::reverse;
pub use slice::slice;
pub use split::{split, split_v};
pub use squeeze::squeeze;
pub use stack::stack;
pub use strided_slice::{strided_slice, SliceMasks};
pub use tile::tile;
pub use transpose::transpose;
pub use unstack::unstack;
