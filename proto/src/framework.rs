//! `tensorflow/core/framework`: graphs, nodes, attributes, tensors and shapes, with
//! TensorFlow's field numbers (`graph.proto`, `node_def.proto`, `attr_value.proto`,
//! `tensor.proto`, `tensor_shape.proto`, `types.proto`, `versions.proto`, `function.proto`,
//! `op_def.proto`).

use std::collections::BTreeMap;

/// TensorFlow's `DataType` enum (`types.proto`). A reference type is the value plus 100
/// (`DT_FLOAT_REF` = 101); see [`DataType::base`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, prost::Enumeration)]
#[repr(i32)]
pub enum DataType {
    DtInvalid = 0,
    DtFloat = 1,
    DtDouble = 2,
    DtInt32 = 3,
    DtUint8 = 4,
    DtInt16 = 5,
    DtInt8 = 6,
    DtString = 7,
    DtComplex64 = 8,
    DtInt64 = 9,
    DtBool = 10,
    DtQint8 = 11,
    DtQuint8 = 12,
    DtQint32 = 13,
    DtBfloat16 = 14,
    DtQint16 = 15,
    DtQuint16 = 16,
    DtUint16 = 17,
    DtComplex128 = 18,
    DtHalf = 19,
    DtResource = 20,
    DtVariant = 21,
    DtUint32 = 22,
    DtUint64 = 23,
}

impl DataType {
    /// The enum value of a wire integer, reference types (`+ 100`) mapped to their base type.
    ///
    /// ```
    /// use rustflow_proto::DataType;
    /// assert_eq!(DataType::base(101), Some(DataType::DtFloat));
    /// ```
    pub fn base(value: i32) -> Option<DataType> {
        let v = if value > 100 { value - 100 } else { value };
        DataType::try_from(v).ok()
    }

    /// TensorFlow's name of the type (`DT_FLOAT`).
    pub fn as_str_name(self) -> &'static str {
        NAMES[self as usize]
    }

    /// The type of a TensorFlow name (`DT_FLOAT`).
    pub fn from_str_name(name: &str) -> Option<DataType> {
        let i = NAMES.iter().position(|n| *n == name)?;
        DataType::try_from(i as i32).ok()
    }
}

const NAMES: [&str; 24] = [
    "DT_INVALID",
    "DT_FLOAT",
    "DT_DOUBLE",
    "DT_INT32",
    "DT_UINT8",
    "DT_INT16",
    "DT_INT8",
    "DT_STRING",
    "DT_COMPLEX64",
    "DT_INT64",
    "DT_BOOL",
    "DT_QINT8",
    "DT_QUINT8",
    "DT_QINT32",
    "DT_BFLOAT16",
    "DT_QINT16",
    "DT_QUINT16",
    "DT_UINT16",
    "DT_COMPLEX128",
    "DT_HALF",
    "DT_RESOURCE",
    "DT_VARIANT",
    "DT_UINT32",
    "DT_UINT64",
];

/// `TensorShapeProto`: dims (-1 = unknown size) or an unknown rank. A scalar is an empty shape.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorShapeProto {
    #[prost(message, repeated, tag = "2")]
    pub dim: Vec<tensor_shape_proto::Dim>,
    #[prost(bool, tag = "3")]
    pub unknown_rank: bool,
}

/// Nested messages of [`TensorShapeProto`].
pub mod tensor_shape_proto {
    /// One dimension: its size (-1 = unknown) and an optional name.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Dim {
        #[prost(int64, tag = "1")]
        pub size: i64,
        #[prost(string, tag = "2")]
        pub name: String,
    }
}

/// `TensorProto`: a tensor value. Either `tensor_content` (raw little-endian bytes,
/// row-major) or the typed `*_val` fields; a single `*_val` value fills the whole shape.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorProto {
    #[prost(enumeration = "DataType", tag = "1")]
    pub dtype: i32,
    #[prost(message, optional, tag = "2")]
    pub tensor_shape: Option<TensorShapeProto>,
    #[prost(int32, tag = "3")]
    pub version_number: i32,
    #[prost(bytes = "vec", tag = "4")]
    pub tensor_content: Vec<u8>,
    #[prost(float, repeated, tag = "5")]
    pub float_val: Vec<f32>,
    #[prost(double, repeated, tag = "6")]
    pub double_val: Vec<f64>,
    #[prost(int32, repeated, tag = "7")]
    pub int_val: Vec<i32>,
    #[prost(bytes = "vec", repeated, tag = "8")]
    pub string_val: Vec<Vec<u8>>,
    #[prost(float, repeated, tag = "9")]
    pub scomplex_val: Vec<f32>,
    #[prost(int64, repeated, tag = "10")]
    pub int64_val: Vec<i64>,
    #[prost(bool, repeated, tag = "11")]
    pub bool_val: Vec<bool>,
    #[prost(double, repeated, tag = "12")]
    pub dcomplex_val: Vec<f64>,
    #[prost(int32, repeated, tag = "13")]
    pub half_val: Vec<i32>,
    #[prost(uint32, repeated, tag = "16")]
    pub uint32_val: Vec<u32>,
    #[prost(uint64, repeated, tag = "17")]
    pub uint64_val: Vec<u64>,
}

/// `AttrValue`: the value of one node attribute.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AttrValue {
    #[prost(oneof = "attr_value::Value", tags = "1, 2, 3, 4, 5, 6, 7, 8, 9, 10")]
    pub value: Option<attr_value::Value>,
}

/// Nested messages of [`AttrValue`].
pub mod attr_value {
    use super::{DataType, NameAttrList, TensorProto, TensorShapeProto};

    /// `AttrValue.ListValue`: the value of a `list(...)` attribute.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ListValue {
        #[prost(bytes = "vec", repeated, tag = "2")]
        pub s: Vec<Vec<u8>>,
        #[prost(int64, repeated, tag = "3")]
        pub i: Vec<i64>,
        #[prost(float, repeated, tag = "4")]
        pub f: Vec<f32>,
        #[prost(bool, repeated, tag = "5")]
        pub b: Vec<bool>,
        #[prost(enumeration = "DataType", repeated, tag = "6")]
        pub r#type: Vec<i32>,
        #[prost(message, repeated, tag = "7")]
        pub shape: Vec<TensorShapeProto>,
        #[prost(message, repeated, tag = "8")]
        pub tensor: Vec<TensorProto>,
        #[prost(message, repeated, tag = "9")]
        pub func: Vec<NameAttrList>,
    }

    /// The `oneof value` of an [`AttrValue`](super::AttrValue).
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum Value {
        #[prost(message, tag = "1")]
        List(ListValue),
        #[prost(bytes, tag = "2")]
        S(Vec<u8>),
        #[prost(int64, tag = "3")]
        I(i64),
        #[prost(float, tag = "4")]
        F(f32),
        #[prost(bool, tag = "5")]
        B(bool),
        #[prost(enumeration = "DataType", tag = "6")]
        Type(i32),
        #[prost(message, tag = "7")]
        Shape(TensorShapeProto),
        #[prost(message, tag = "8")]
        Tensor(TensorProto),
        #[prost(string, tag = "9")]
        Placeholder(String),
        #[prost(message, tag = "10")]
        Func(NameAttrList),
    }
}

/// `NameAttrList`: a function name with attributes (`func` attributes).
#[derive(Clone, PartialEq, prost::Message)]
pub struct NameAttrList {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(btree_map = "string, message", tag = "2")]
    pub attr: BTreeMap<String, AttrValue>,
}

/// `NodeDef`: one node. `input` entries are `"node"`, `"node:k"` or `"^node"` (control).
#[derive(Clone, PartialEq, prost::Message)]
pub struct NodeDef {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(string, tag = "2")]
    pub op: String,
    #[prost(string, repeated, tag = "3")]
    pub input: Vec<String>,
    #[prost(string, tag = "4")]
    pub device: String,
    #[prost(btree_map = "string, message", tag = "5")]
    pub attr: BTreeMap<String, AttrValue>,
}

/// `VersionDef`: producer and consumer versions of a graph or bundle.
#[derive(Clone, PartialEq, prost::Message)]
pub struct VersionDef {
    #[prost(int32, tag = "1")]
    pub producer: i32,
    #[prost(int32, tag = "2")]
    pub min_consumer: i32,
    #[prost(int32, repeated, tag = "3")]
    pub bad_consumers: Vec<i32>,
}

/// `FunctionDefLibrary`: the functions of a graph.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FunctionDefLibrary {
    #[prost(message, repeated, tag = "1")]
    pub function: Vec<FunctionDef>,
}

/// `FunctionDef`: a function's signature, body and return mapping.
#[derive(Clone, PartialEq, prost::Message)]
pub struct FunctionDef {
    #[prost(message, optional, tag = "1")]
    pub signature: Option<OpDef>,
    #[prost(message, repeated, tag = "3")]
    pub node_def: Vec<NodeDef>,
    #[prost(btree_map = "string, string", tag = "4")]
    pub ret: BTreeMap<String, String>,
    #[prost(btree_map = "string, message", tag = "5")]
    pub attr: BTreeMap<String, AttrValue>,
}

/// `GraphDef`: the nodes of a graph, its versions and function library.
#[derive(Clone, PartialEq, prost::Message)]
pub struct GraphDef {
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeDef>,
    #[prost(message, optional, tag = "2")]
    pub library: Option<FunctionDefLibrary>,
    #[prost(int32, tag = "3")]
    pub version: i32,
    #[prost(message, optional, tag = "4")]
    pub versions: Option<VersionDef>,
}

/// `OpDef`: an op's declared signature (as in `MetaInfoDef.stripped_op_list`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct OpDef {
    #[prost(string, tag = "1")]
    pub name: String,
    #[prost(message, repeated, tag = "2")]
    pub input_arg: Vec<op_def::ArgDef>,
    #[prost(message, repeated, tag = "3")]
    pub output_arg: Vec<op_def::ArgDef>,
    #[prost(message, repeated, tag = "4")]
    pub attr: Vec<op_def::AttrDef>,
    #[prost(string, tag = "5")]
    pub summary: String,
    #[prost(string, tag = "6")]
    pub description: String,
    #[prost(bool, tag = "16")]
    pub is_aggregate: bool,
    #[prost(bool, tag = "17")]
    pub is_stateful: bool,
    #[prost(bool, tag = "18")]
    pub is_commutative: bool,
    #[prost(bool, tag = "19")]
    pub allows_uninitialized_input: bool,
    #[prost(string, repeated, tag = "20")]
    pub control_output: Vec<String>,
}

/// Nested messages of [`OpDef`].
pub mod op_def {
    use super::{AttrValue, DataType};

    /// `OpDef.ArgDef`: one input or output argument.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ArgDef {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(string, tag = "2")]
        pub description: String,
        #[prost(enumeration = "DataType", tag = "3")]
        pub r#type: i32,
        #[prost(string, tag = "4")]
        pub type_attr: String,
        #[prost(string, tag = "5")]
        pub number_attr: String,
        #[prost(string, tag = "6")]
        pub type_list_attr: String,
        #[prost(bool, tag = "16")]
        pub is_ref: bool,
    }

    /// `OpDef.AttrDef`: one attribute, with its default value.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct AttrDef {
        #[prost(string, tag = "1")]
        pub name: String,
        #[prost(string, tag = "2")]
        pub r#type: String,
        #[prost(message, optional, tag = "3")]
        pub default_value: Option<AttrValue>,
        #[prost(string, tag = "4")]
        pub description: String,
        #[prost(bool, tag = "5")]
        pub has_minimum: bool,
        #[prost(int64, tag = "6")]
        pub minimum: i64,
        #[prost(message, optional, tag = "7")]
        pub allowed_values: Option<AttrValue>,
    }
}

/// `OpList`: a list of op definitions.
#[derive(Clone, PartialEq, prost::Message)]
pub struct OpList {
    #[prost(message, repeated, tag = "1")]
    pub op: Vec<OpDef>,
}
