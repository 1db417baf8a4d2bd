//! TensorBoard's messages: `Event` (`tensorflow/core/util/event.proto`), `Summary` and
//! `HistogramProto` (`framework/summary.proto`), and the step statistics of a traced run
//! (`framework/step_stats.proto`, `RunMetadata` of `protobuf/config.proto`).

/// One record of an event file.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Event {
    /// Seconds since the Unix epoch.
    #[prost(double, tag = "1")]
    pub wall_time: f64,
    /// The global step.
    #[prost(int64, tag = "2")]
    pub step: i64,
    /// What happened.
    #[prost(oneof = "event::What", tags = "3, 4, 5, 8, 9")]
    pub what: Option<event::What>,
}

/// The cases of [`Event::what`].
pub mod event {
    /// What an [`Event`](super::Event) records.
    #[derive(Clone, PartialEq, prost::Oneof)]
    pub enum What {
        /// The file's format version, `brain.Event:2`, in the first record.
        #[prost(string, tag = "3")]
        FileVersion(String),
        /// A serialized `GraphDef`.
        #[prost(bytes, tag = "4")]
        GraphDef(Vec<u8>),
        /// Summary values.
        #[prost(message, tag = "5")]
        Summary(super::Summary),
        /// A traced run's statistics.
        #[prost(message, tag = "8")]
        TaggedRunMetadata(super::TaggedRunMetadata),
        /// A serialized `MetaGraphDef`.
        #[prost(bytes, tag = "9")]
        MetaGraphDef(Vec<u8>),
    }
}

/// A traced run's `RunMetadata`, under a tag (`step_100`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct TaggedRunMetadata {
    /// The tag TensorBoard lists the run under.
    #[prost(string, tag = "1")]
    pub tag: String,
    /// A serialized [`RunMetadata`].
    #[prost(bytes = "vec", tag = "2")]
    pub run_metadata: Vec<u8>,
}

/// A set of named values.
#[derive(Clone, PartialEq, prost::Message)]
pub struct Summary {
    /// The values.
    #[prost(message, repeated, tag = "1")]
    pub value: Vec<summary::Value>,
}

/// The parts of a [`Summary`].
pub mod summary {
    /// One named value.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Value {
        /// The node that made it (tensor summaries).
        #[prost(string, tag = "7")]
        pub node_name: String,
        /// The tag (`cross_entropy`, `input/image/0`).
        #[prost(string, tag = "1")]
        pub tag: String,
        /// Which plugin shows it (the text plugin for text summaries).
        #[prost(message, optional, tag = "9")]
        pub metadata: Option<super::SummaryMetadata>,
        /// The value.
        #[prost(oneof = "value::Value", tags = "2, 4, 5, 8")]
        pub value: Option<value::Value>,
    }

    /// The cases of [`Value::value`].
    pub mod value {
        /// A summary value.
        #[derive(Clone, PartialEq, prost::Oneof)]
        pub enum Value {
            /// A scalar.
            #[prost(float, tag = "2")]
            SimpleValue(f32),
            /// An encoded image.
            #[prost(message, tag = "4")]
            Image(super::Image),
            /// A histogram.
            #[prost(message, tag = "5")]
            Histo(super::super::HistogramProto),
            /// A tensor, serialized as a `TensorProto` (text summaries).
            #[prost(bytes, tag = "8")]
            Tensor(Vec<u8>),
        }
    }

    /// An encoded image.
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Image {
        /// Height in pixels.
        #[prost(int32, tag = "1")]
        pub height: i32,
        /// Width in pixels.
        #[prost(int32, tag = "2")]
        pub width: i32,
        /// 1 grayscale, 2 grayscale + alpha, 3 RGB, 4 RGBA.
        #[prost(int32, tag = "3")]
        pub colorspace: i32,
        /// The PNG bytes.
        #[prost(bytes = "vec", tag = "4")]
        pub encoded_image_string: Vec<u8>,
    }
}

/// Which TensorBoard plugin reads a summary value.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SummaryMetadata {
    /// The plugin and its data.
    #[prost(message, optional, tag = "1")]
    pub plugin_data: Option<PluginData>,
    /// The name shown.
    #[prost(string, tag = "2")]
    pub display_name: String,
    /// A description.
    #[prost(string, tag = "3")]
    pub summary_description: String,
}

/// A plugin's name and its own data.
#[derive(Clone, PartialEq, prost::Message)]
pub struct PluginData {
    /// `text`, `scalars`, ...
    #[prost(string, tag = "1")]
    pub plugin_name: String,
    /// The plugin's serialized settings.
    #[prost(bytes = "vec", tag = "2")]
    pub content: Vec<u8>,
}

/// A histogram: statistics and bucket counts (bucket `i` counts values in
/// `[bucket_limit[i-1], bucket_limit[i])`).
#[derive(Clone, PartialEq, prost::Message)]
pub struct HistogramProto {
    /// The smallest value.
    #[prost(double, tag = "1")]
    pub min: f64,
    /// The largest value.
    #[prost(double, tag = "2")]
    pub max: f64,
    /// How many values.
    #[prost(double, tag = "3")]
    pub num: f64,
    /// Their sum.
    #[prost(double, tag = "4")]
    pub sum: f64,
    /// The sum of their squares.
    #[prost(double, tag = "5")]
    pub sum_squares: f64,
    /// Each bucket's right edge.
    #[prost(double, repeated, tag = "6")]
    pub bucket_limit: Vec<f64>,
    /// Each bucket's count.
    #[prost(double, repeated, tag = "7")]
    pub bucket: Vec<f64>,
}

/// What a traced `Session::run` recorded.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RunMetadata {
    /// Per-device node statistics.
    #[prost(message, optional, tag = "1")]
    pub step_stats: Option<StepStats>,
}

/// Node statistics, per device.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StepStats {
    /// One entry per device.
    #[prost(message, repeated, tag = "1")]
    pub dev_stats: Vec<DeviceStepStats>,
}

/// The nodes one device ran.
#[derive(Clone, PartialEq, prost::Message)]
pub struct DeviceStepStats {
    /// `/job:localhost/replica:0/task:0/device:CPU:0`.
    #[prost(string, tag = "1")]
    pub device: String,
    /// One entry per node execution.
    #[prost(message, repeated, tag = "2")]
    pub node_stats: Vec<NodeExecStats>,
}

/// One node's execution.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NodeExecStats {
    /// The node's name.
    #[prost(string, tag = "1")]
    pub node_name: String,
    /// Start, in microseconds since the Unix epoch.
    #[prost(int64, tag = "2")]
    pub all_start_micros: i64,
    /// The kernel's start, relative to `all_start_micros`.
    #[prost(int64, tag = "3")]
    pub op_start_rel_micros: i64,
    /// The kernel's end, relative to `all_start_micros`.
    #[prost(int64, tag = "4")]
    pub op_end_rel_micros: i64,
    /// The end, relative to `all_start_micros`.
    #[prost(int64, tag = "5")]
    pub all_end_rel_micros: i64,
    /// `name = Op(inputs)`, as TensorFlow's timeline shows it.
    #[prost(string, tag = "8")]
    pub timeline_label: String,
    /// The thread that ran it.
    #[prost(uint32, tag = "10")]
    pub thread_id: u32,
}
