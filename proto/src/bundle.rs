//! `tensorflow/core/protobuf/tensor_bundle.proto` and `checkpoint_state.proto`: the records of
//! a V2 checkpoint's `.index` table and the `checkpoint` state file.

use crate::framework::{DataType, TensorShapeProto, VersionDef};

/// `BundleHeaderProto`: the value of the empty key in a `.index` table.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BundleHeaderProto {
    #[prost(int32, tag = "1")]
    pub num_shards: i32,
    #[prost(enumeration = "bundle_header_proto::Endianness", tag = "2")]
    pub endianness: i32,
    #[prost(message, optional, tag = "3")]
    pub version: Option<VersionDef>,
}

/// Nested types of [`BundleHeaderProto`].
pub mod bundle_header_proto {
    /// Byte order of the data shards.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum Endianness {
        Little = 0,
        Big = 1,
    }
}

/// `BundleEntryProto`: where a tensor's bytes are (shard, offset, size) and their masked CRC32C.
#[derive(Clone, PartialEq, prost::Message)]
pub struct BundleEntryProto {
    #[prost(enumeration = "DataType", tag = "1")]
    pub dtype: i32,
    #[prost(message, optional, tag = "2")]
    pub shape: Option<TensorShapeProto>,
    #[prost(int32, tag = "3")]
    pub shard_id: i32,
    #[prost(int64, tag = "4")]
    pub offset: i64,
    #[prost(int64, tag = "5")]
    pub size: i64,
    #[prost(fixed32, tag = "6")]
    pub crc32c: u32,
    #[prost(message, repeated, tag = "7")]
    pub slices: Vec<TensorSliceProto>,
}

/// `TensorSliceProto`: a slice of a partitioned variable.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorSliceProto {
    #[prost(message, repeated, tag = "1")]
    pub extent: Vec<tensor_slice_proto::Extent>,
}

/// Nested messages of [`TensorSliceProto`].
pub mod tensor_slice_proto {
    /// The start and length of a slice in one dimension (no length: the whole dimension).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Extent {
        #[prost(int64, tag = "1")]
        pub start: i64,
        #[prost(int64, optional, tag = "2")]
        pub length: Option<i64>,
    }
}

/// `CheckpointState`: the `checkpoint` file, in text format in a checkpoint directory.
#[derive(Clone, PartialEq, prost::Message)]
pub struct CheckpointState {
    #[prost(string, tag = "1")]
    pub model_checkpoint_path: String,
    #[prost(string, repeated, tag = "2")]
    pub all_model_checkpoint_paths: Vec<String>,
    #[prost(double, repeated, tag = "3")]
    pub all_model_checkpoint_timestamps: Vec<f64>,
    #[prost(double, tag = "4")]
    pub last_preserved_timestamp: f64,
}
