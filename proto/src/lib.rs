//! TensorFlow's protocol buffer messages, derived by hand with `prost` and TensorFlow's field
//! numbers (no `protoc` needed): graphs (`GraphDef`, `NodeDef`, `AttrValue`, `TensorProto`,
//! ...), `MetaGraphDef` with its `SaverDef` and collections, the V2 checkpoint's
//! `BundleHeaderProto` / `BundleEntryProto`, and the `checkpoint` state file. [`text`] reads and
//! writes the text format of these messages; [`masked_crc32c`] is the checksum of checkpoints
//! and event files.
//!
//! ```
//! use prost::Message;
//! use rustflow_proto::{GraphDef, NodeDef};
//! let g = GraphDef { node: vec![NodeDef { name: "a".into(), op: "NoOp".into(), ..Default::default() }], ..Default::default() };
//! assert_eq!(GraphDef::decode(g.encode_to_vec().as_slice()).unwrap(), g);
//! ```

mod bundle;
mod framework;
mod meta;
pub mod text;

pub use bundle::*;
pub use framework::*;
pub use meta::*;
pub use prost::{DecodeError, Message};

/// TensorFlow's masked CRC-32C (`crc32c::Mask`): `((c >> 15) | (c << 17)) + 0xa282ead8`, the
/// checksum stored in tensor bundles, table blocks and event records.
///
/// ```
/// assert_eq!(rustflow_proto::masked_crc32c(b""), 0xa282ead8);
/// ```
pub fn masked_crc32c(bytes: &[u8]) -> u32 {
    mask_crc(crc32c::crc32c(bytes))
}

/// Masks a raw CRC-32C as TensorFlow stores it.
pub fn mask_crc(crc: u32) -> u32 {
    crc.rotate_right(15).wrapping_add(0xa282_ead8)
}

/// Undoes [`mask_crc`].
pub fn unmask_crc(masked: u32) -> u32 {
    masked.wrapping_sub(0xa282_ead8).rotate_left(15)
}
