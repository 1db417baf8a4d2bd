//! rustflow-proto: the TensorFlow protocol buffer messages rustflow reads and writes, derived
//! with prost and TensorFlow's own field numbers (no `protoc` needed).

pub mod summary;

pub use prost::Message;
