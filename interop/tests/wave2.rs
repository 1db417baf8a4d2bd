//! A GraphDef written by TensorFlow with the wave-2 ops (`scripts/tf_wave2_graph.py`:
//! concat, gather, slice, strided_slice, pad, mirror pad, one_hot, comparisons, select,
//! cumsum, dilated and depthwise convolutions, LRN, FusedBatchNormV3, tile, split, ...)
//! imports, and every output equals TensorFlow's.

use rustflow_graph::{Graph, Value};
use rustflow_interop::{import_graph_def, parse_graph_def, ImportOptions};
use rustflow_runtime::{FeedDict, Session};
use serde_json::Value as Json;
use std::path::PathBuf;

#[path = "../../tests/support/json.rs"]
mod json;

fn value(j: &Json) -> Value {
    json::json_value(j).unwrap()
}

fn data(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../tests/data")
        .join(name)
}

#[test]
fn tensorflows_wave2_graph_gives_tensorflows_values() {
    let exp: Json =
        serde_json::from_str(&std::fs::read_to_string(data("wave2_graph.json")).unwrap()).unwrap();
    let def = parse_graph_def(&std::fs::read(data("wave2_graph.pb")).unwrap()).unwrap();
    let g = Graph::new();
    import_graph_def(&g, &def, &ImportOptions::default()).unwrap();
    let x = g.tensor_by_name("x:0").unwrap();
    let sess = Session::new(&g);
    let feed = FeedDict::new().with(&x, value(&exp["x"]));
    let outputs = exp["outputs"].as_object().unwrap();
    assert!(outputs.len() >= 30);
    for (name, want) in outputs {
        let t = g.tensor_by_name(name).unwrap();
        let got = sess.eval(&t, &feed).unwrap();
        let got = match got.dtype() {
            rustflow_graph::DType::F32 => got,
            _ => Value::new(
                got.shape(),
                got.to_f64_vec().iter().map(|&v| v as f32).collect(),
            )
            .unwrap(),
        };
        let want = value(want);
        json::assert_close(name, &got, &want, 1e-4, 1e-5);
    }
}
