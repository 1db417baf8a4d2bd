//! Element types of tensors.

use std::fmt;

/// The element type of a tensor, as in TensorFlow (`tf.float32`, `tf.int64`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    /// 32-bit float (`tf.float32`).
    F32,
    /// 32-bit signed integer (`tf.int32`).
    I32,
    /// 64-bit signed integer (`tf.int64`); the type of `argmax`.
    I64,
    /// Boolean (`tf.bool`); the type of `equal`.
    Bool,
    /// Byte strings (`tf.string`): serialized summaries, file names. Not a numeric type:
    /// element-wise kernels refuse it.
    String,
}

impl DType {
    /// TensorFlow's short name of the type, as its error messages print it (`float`, `int64`).
    pub fn tf_name(self) -> &'static str {
        match self {
            DType::F32 => "float",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::Bool => "bool",
            DType::String => "string",
        }
    }

    /// Whether the type is a floating-point type (and so can carry a gradient).
    pub fn is_float(self) -> bool {
        matches!(self, DType::F32)
    }
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DType::F32 => "float32",
            DType::I32 => "int32",
            DType::I64 => "int64",
            DType::Bool => "bool",
            DType::String => "string",
        })
    }
}
