//! Tensors written by TensorFlow's scripts as JSON, `{"shape": [..], "dtype": "float32",
//! "data": [..]}` (float32 when `dtype` is absent), and the comparison with them: one reader
//! for every crate's tests, each including this file with `#[path]`.

// Each test crate uses part of it.
#![allow(dead_code)]

use rustflow_graph::Value;
use serde_json::Value as Json;

/// The numbers of a JSON array as float32 (NaN for anything else).
pub fn floats(j: &Json) -> Vec<f32> {
    let items = j.as_array().map(Vec::as_slice).unwrap_or_default();
    items
        .iter()
        .map(|x| x.as_f64().unwrap_or(f64::NAN) as f32)
        .collect()
}

/// The tensor `j` describes, or what is missing or unknown in it.
pub fn json_value(j: &Json) -> Result<Value, String> {
    let shape: Vec<usize> = j["shape"]
        .as_array()
        .ok_or("shape")?
        .iter()
        .map(|d| d.as_u64().map(|d| d as usize).ok_or("dim"))
        .collect::<Result<_, _>>()?;
    let data = j["data"].as_array().ok_or("data")?;
    let v = match j["dtype"].as_str().unwrap_or("float32") {
        "float32" => Value::new(&shape, floats(&j["data"])),
        "int32" => Value::new(
            &shape,
            data.iter()
                .map(|x| x.as_i64().unwrap_or(0) as i32)
                .collect(),
        ),
        "int64" => Value::new(
            &shape,
            data.iter().map(|x| x.as_i64().unwrap_or(0)).collect(),
        ),
        "bool" => Value::new(
            &shape,
            data.iter().map(|x| x.as_bool().unwrap_or(false)).collect(),
        ),
        d => return Err(format!("unknown dtype {d}")),
    };
    v.map_err(|e| e.to_string())
}

/// Asserts that float32 `got` has `want`'s shape and each element is within
/// `atol + rtol * |want|` of it.
pub fn assert_close(what: &str, got: &Value, want: &Value, rtol: f32, atol: f32) {
    assert_eq!(got.shape(), want.shape(), "{what}");
    let (got, want) = (
        got.as_slice::<f32>().unwrap(),
        want.as_slice::<f32>().unwrap(),
    );
    for (i, (a, b)) in got.iter().zip(want).enumerate() {
        assert!(
            (a - b).abs() <= atol + rtol * b.abs(),
            "{what}[{i}]: {a} vs TensorFlow's {b}"
        );
    }
}
