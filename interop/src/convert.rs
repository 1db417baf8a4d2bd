//! Conversions between TensorFlow's protos and rustflow's values, shapes and dtypes.

use rustflow_graph::{fmt_dims, DType, Error, Result, Shape, Value};
use rustflow_proto::{tensor_shape_proto::Dim, TensorProto, TensorShapeProto};
pub use rustflow_runtime::bundle::{from_proto_dtype, proto_dtype};

fn bad(what: &str, msg: String) -> Error {
    Error::Kernel(format!("{what}: {msg}"))
}

/// A rustflow dtype from a wire `DataType`, or an error naming `what` and the type.
pub fn dtype(value: i32, what: &str) -> Result<DType> {
    from_proto_dtype(value).ok_or_else(|| {
        bad(
            what,
            format!(
                "dtype {} is not supported",
                rustflow_proto::text::data_type_name(value)
            ),
        )
    })
}

/// A partial shape from a `TensorShapeProto` (-1 = unknown dim).
pub fn shape(s: &TensorShapeProto) -> Shape {
    if s.unknown_rank {
        return Shape::unknown();
    }
    Shape::new(s.dim.iter().map(|d| usize::try_from(d.size).ok()).collect())
}

/// A `TensorShapeProto` of a partial shape.
pub fn shape_proto(s: &Shape) -> TensorShapeProto {
    match s.dims() {
        None => TensorShapeProto {
            unknown_rank: true,
            ..Default::default()
        },
        Some(dims) => TensorShapeProto {
            dim: dims
                .iter()
                .map(|d| Dim {
                    size: d.map_or(-1, |d| d as i64),
                    ..Default::default()
                })
                .collect(),
            unknown_rank: false,
        },
    }
}

/// Fills `n` elements from `vals`: all of them, or the last repeated (TensorFlow's rule: one
/// value fills the tensor), or zeros when there are none.
fn fill<T: Copy + Default>(vals: &[T], n: usize, what: &str) -> Result<Vec<T>> {
    match vals.len() {
        0 => Ok(vec![T::default(); n]),
        k if k == n => Ok(vals.to_vec()),
        k if k < n => {
            let mut v = vals.to_vec();
            v.resize(n, vals[k - 1]);
            Ok(v)
        }
        k => Err(bad(what, format!("{k} values for {n} elements"))),
    }
}

fn raw<T, const W: usize>(b: &[u8], n: usize, what: &str, f: fn([u8; W]) -> T) -> Result<Vec<T>> {
    if b.len() != n * W {
        return Err(bad(
            what,
            format!(
                "tensor_content has {} bytes, {n} elements need {}",
                b.len(),
                n * W
            ),
        ));
    }
    Ok(b.chunks_exact(W)
        .map(|c| f(c.try_into().expect("W bytes")))
        .collect())
}

/// The value of a `TensorProto` (a `Const` node's `value`); `what` names it in errors.
pub fn tensor(t: &TensorProto, what: &str) -> Result<Value> {
    let dt = dtype(t.dtype, what)?;
    let dims = t
        .tensor_shape
        .as_ref()
        .map(shape)
        .unwrap_or_else(Shape::scalar)
        .to_known()
        .ok_or_else(|| bad(what, "a tensor value needs a fully known shape".into()))?;
    let n = dims
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| bad(what, format!("shape {} is too large", fmt_dims(&dims))))?;
    let c = &t.tensor_content;
    let has_content = !c.is_empty();
    match dt {
        DType::F32 if has_content => Value::new(&dims, raw(c, n, what, f32::from_le_bytes)?),
        DType::F32 => Value::new(&dims, fill(&t.float_val, n, what)?),
        DType::I32 if has_content => Value::new(&dims, raw(c, n, what, i32::from_le_bytes)?),
        DType::I32 => Value::new(&dims, fill(&t.int_val, n, what)?),
        DType::I64 if has_content => Value::new(&dims, raw(c, n, what, i64::from_le_bytes)?),
        DType::I64 => Value::new(&dims, fill(&t.int64_val, n, what)?),
        DType::Bool if has_content => Value::new(&dims, raw(c, n, what, |[b]: [u8; 1]| b != 0)?),
        DType::Bool => Value::new(&dims, fill(&t.bool_val, n, what)?),
        DType::String => {
            let vals = &t.string_val;
            let v = match vals.len() {
                k if k == n => vals.clone(),
                1 => vec![vals[0].clone(); n],
                k => return Err(bad(what, format!("{k} strings for {n} elements"))),
            };
            Value::strings(&dims, v)
        }
    }
}

/// The one value every element of `d` has (bit for bit), if any.
fn uniform<T: Copy, B: PartialEq>(d: &[T], bits: fn(T) -> B) -> Option<T> {
    let first = *d.first()?;
    d.iter().all(|&x| bits(x) == bits(first)).then_some(first)
}

/// The `TensorProto` of a value: raw `tensor_content` bytes (or `string_val`), as
/// TensorFlow writes non-scalar constants; a value whose elements are all equal (a scalar,
/// a zero initializer) is its shape and one `*_val` entry, which TensorFlow repeats.
pub fn tensor_proto(v: &Value) -> TensorProto {
    use rustflow_graph::Buffer;
    let mut t = TensorProto {
        dtype: proto_dtype(v.dtype()) as i32,
        tensor_shape: Some(shape_proto(&Shape::known(v.shape()))),
        ..Default::default()
    };
    match v.buffer() {
        Buffer::F32(d) => match uniform(d, f32::to_bits) {
            Some(x) => t.float_val = vec![x],
            None => t.tensor_content = d.iter().flat_map(|x| x.to_le_bytes()).collect(),
        },
        Buffer::I32(d) => match uniform(d, |x| x) {
            Some(x) => t.int_val = vec![x],
            None => t.tensor_content = d.iter().flat_map(|x| x.to_le_bytes()).collect(),
        },
        Buffer::I64(d) => match uniform(d, |x| x) {
            Some(x) => t.int64_val = vec![x],
            None => t.tensor_content = d.iter().flat_map(|x| x.to_le_bytes()).collect(),
        },
        Buffer::Bool(d) => t.bool_val = uniform(d, |x| x).map_or_else(|| d.to_vec(), |x| vec![x]),
        Buffer::String(d) => t.string_val = d.to_vec(),
    }
    t
}
