//! `tensorflow/core/protobuf/meta_graph.proto` and `saver.proto`: what `model.ckpt.meta` holds.

use std::collections::BTreeMap;

use crate::framework::{GraphDef, OpList};

/// `google.protobuf.Any`: a type URL and the serialized message.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Any {
    #[prost(string, tag = "1")]
    pub type_url: String,
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

/// `MetaGraphDef`: a graph with its saver, collections and op definitions.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetaGraphDef {
    #[prost(message, optional, tag = "1")]
    pub meta_info_def: Option<MetaInfoDef>,
    #[prost(message, optional, tag = "2")]
    pub graph_def: Option<GraphDef>,
    #[prost(message, optional, tag = "3")]
    pub saver_def: Option<SaverDef>,
    #[prost(btree_map = "string, message", tag = "4")]
    pub collection_def: BTreeMap<String, CollectionDef>,
}

/// `MetaGraphDef.MetaInfoDef`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct MetaInfoDef {
    #[prost(string, tag = "1")]
    pub meta_graph_version: String,
    #[prost(message, optional, tag = "2")]
    pub stripped_op_list: Option<OpList>,
    #[prost(message, optional, tag = "3")]
    pub any_info: Option<Any>,
    #[prost(string, repeated, tag = "4")]
    pub tags: Vec<String>,
    #[prost(string, tag = "5")]
    pub tensorflow_version: String,
    #[prost(string, tag = "6")]
    pub tensorflow_git_version: String,
    #[prost(bool, tag = "7")]
    pub stripped_default_attrs: bool,
}

/// `SaverDef`: the names of a saver's filename tensor, save tensor and restore op.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SaverDef {
    #[prost(string, tag = "1")]
    pub filename_tensor_name: String,
    #[prost(string, tag = "2")]
    pub save_tensor_name: String,
    #[prost(string, tag = "3")]
    pub restore_op_name: String,
    #[prost(int32, tag = "4")]
    pub max_to_keep: i32,
    #[prost(bool, tag = "5")]
    pub sharded: bool,
    #[prost(float, tag = "6")]
    pub keep_checkpoint_every_n_hours: f32,
    #[prost(enumeration = "saver_def::CheckpointFormatVersion", tag = "7")]
    pub version: i32,
}

/// Nested types of [`SaverDef`].
pub mod saver_def {
    /// The checkpoint format a saver writes.
    #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
    #[repr(i32)]
    pub enum CheckpointFormatVersion {
        Legacy = 0,
        V1 = 1,
        V2 = 2,
    }
}

/// `CollectionDef`: one named collection (`variables`, `train_op`, ...).
#[derive(Clone, PartialEq, prost::Message)]
pub struct CollectionDef {
    #[prost(oneof = "collection_def::Kind", tags = "1, 2, 3, 4, 5")]
    pub kind: Option<collection_def::Kind>,
}

/// Nested messages of [`CollectionDef`].
pub mod collection_def {
    use super::Any;

    /// Node or tensor names.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct NodeList {
        #[prost(string, repeated, tag = "1")]
        pub value: Vec<String>,
    }

    /// Serialized messages (`VariableDef`s for `variables`).
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct BytesList {
        #[prost(bytes = "vec", repeated, tag = "1")]
        pub value: Vec<Vec<u8>>,
    }

    /// Integers.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Int64List {
        #[prost(int64, repeated, tag = "1")]
        pub value: Vec<i64>,
    }

    /// Floats.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct FloatList {
        #[prost(float, repeated, tag = "1")]
        pub value: Vec<f32>,
    }

    /// `Any` messages.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct AnyList {
        #[prost(message, repeated, tag = "1")]
        pub value: Vec<Any>,
    }

    /// The `oneof kind` of a collection.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Kind {
        #[prost(message, tag = "1")]
        NodeList(NodeList),
        #[prost(message, tag = "2")]
        BytesList(BytesList),
        #[prost(message, tag = "3")]
        Int64List(Int64List),
        #[prost(message, tag = "4")]
        FloatList(FloatList),
        #[prost(message, tag = "5")]
        AnyList(AnyList),
    }
}

/// `VariableDef` (`variable.proto`): an entry of the `variables` collection.
#[derive(Clone, PartialEq, prost::Message)]
pub struct VariableDef {
    #[prost(string, tag = "1")]
    pub variable_name: String,
    #[prost(string, tag = "2")]
    pub initializer_name: String,
    #[prost(string, tag = "3")]
    pub snapshot_name: String,
    #[prost(bool, tag = "5")]
    pub is_resource: bool,
    #[prost(string, tag = "6")]
    pub initial_value_name: String,
    #[prost(bool, tag = "7")]
    pub trainable: bool,
}
