//! Ops that move, cut, glue or relabel values: identity, reshape, transpose, concat, split,
//! stack, unstack, slice, strided_slice, gather, gather_nd, pad, tile, reverse, select,
//! one_hot, fill, range, shape, cumsum, boolean_mask, squeeze, expand_dims

pub(crate) mod common;

mod broadcast_gradient_args;
mod concat;
mod cumsum;
mod expand_dims;
mod fill;
mod gather;
mod gather_grad;
mod gather_nd;
mod identity;
mod index_map;
mod one_hot;
mod pad;
mod range;
mod reshape;
mod reshape_like;
mod reverse;
mod scatter_nd;
mod select;
mod select_v2;
mod shape_of;
mod slice;
mod split;
mod squeeze;
mod stack;
mod strided_slice;
mod tile;
mod transpose;
mod unstack;
mod where_indices;

pub use broadcast_gradient_args::broadcast_gradient_args;
pub use concat::concat;
pub use cumsum::cumsum;
pub use expand_dims::expand_dims;
pub use fill::fill_tensor;
pub use gather::gather;
pub use gather_nd::gather_nd;
pub use identity::{identity, stop_gradient};
pub use one_hot::one_hot;
pub use pad::{pad, PadMode};
pub use range::range;
pub use reshape::reshape;
pub use reshape_like::reshape_like;
pub use reverse::reverse;
pub use select::select;
pub use select_v2::select_v2;
pub use shape_of::{rank, shape, size};
pub use slice::slice;
pub use split::{split, split_v};
pub use squeeze::squeeze;
pub use stack::stack;
pub use strided_slice::{strided_slice, SliceMasks};
pub use tile::tile;
pub use transpose::transpose;
pub use unstack::unstack;
pub use where_indices::{boolean_mask, where_indices};
