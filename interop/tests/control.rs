//! GraphDefs with control flow written by TensorFlow (`scripts/tf_control_graphs.py`): each
//! program twice, as TF1 writes it (`Switch`/`Merge` conds, `Enter`/`Exit` loop frames) and
//! as TF2 does (`StatelessIf`/`StatelessWhile` with a function library). Both import and
//! give TensorFlow's outputs for each feed; so do the gradient ops of `gradient_ops.pb`, which
//! import through rustflow's own gradient rules.

use rustflow_graph::{Graph, Value};
use rustflow_interop::{import_graph_def, parse_graph_def, ImportOptions};
use rustflow_proto::{GraphDef, Message};
use rustflow_runtime::{FeedDict, Session};
use serde_json::Value as Json;
use std::path::PathBuf;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A tensor of `control.json` (`{"dtype", "shape", "data"}`).
fn value(j: &Json) -> Value {
    let shape: Vec<usize> = j["shape"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d.as_u64().unwrap() as usize)
        .collect();
    let data = j["data"].as_array().unwrap();
    match j["dtype"].as_str().unwrap() {
        "float32" => Value::new(
            &shape,
            data.iter().map(|x| x.as_f64().unwrap() as f32).collect(),
        ),
        "int32" => Value::new(
            &shape,
            data.iter().map(|x| x.as_i64().unwrap() as i32).collect(),
        ),
        "bool" => Value::new(&shape, data.iter().map(|x| x.as_bool().unwrap()).collect()),
        d => panic!("dtype {d}"),
    }
    .unwrap()
}

fn cases() -> serde_json::Map<String, Json> {
    let text = std::fs::read_to_string(fixture("control.json")).unwrap();
    let j: Json = serde_json::from_str(&text).unwrap();
    j["cases"].as_object().unwrap().clone()
}

fn graph_def(case: &Json) -> GraphDef {
    parse_graph_def(&std::fs::read(fixture(case["file"].as_str().unwrap())).unwrap()).unwrap()
}

/// TensorFlow's graphs rustflow does not import yet, with the op type the error names: TF1's
/// loop gradients keep each iteration's values on stacks (`StackV2`, `StackPushV2`,
/// `StackPopV2`) and TF2's on tensor lists (`EmptyTensorList`, `TensorListPushBack`,
/// `TensorListPopBack`); `TensorArrayGradV3`, `TensorArrayConcatV3`/`SplitV3` and
/// `TensorListConcatV2`/`TensorListSplit` have no import rows.
const PENDING: &[(&str, &str)] = &[
    ("while_grad_v1", "Stack"),
    ("while_grad_v2", "TensorList"),
    ("rnn_grad_v1", "Stack"),
    ("rnn_grad_v2", "TensorList"),
    ("ta_concat_split_v1", "TensorArray"),
    ("ta_concat_split_v2", "TensorList"),
];

#[test]
fn tensorflows_control_flow_graphs_give_tensorflows_outputs() {
    let cases = cases();
    assert_eq!(cases.len(), 17);
    for (name, case) in &cases {
        let def = graph_def(case);
        let g = Graph::new();
        let imported = import_graph_def(&g, &def, &ImportOptions::default());
        if let Some((_, op)) = PENDING.iter().find(|(c, _)| c == name) {
            // Not yet: the import is an error naming the op type, and adds nothing.
            let e = imported
                .err()
                .unwrap_or_else(|| panic!("{name} imports: off PENDING"));
            assert!(e.to_string().contains(op), "{name}: {e}");
            assert_eq!(g.len(), 0, "{name}");
            continue;
        }
        imported.unwrap_or_else(|e| panic!("{name}: {e}"));
        let sess = Session::new(&g);
        for run in case["runs"].as_array().unwrap() {
            let mut feed = FeedDict::new();
            for (k, v) in run["feeds"].as_object().unwrap() {
                feed = feed.with(g.tensor_by_name(k).unwrap(), value(v));
            }
            for (k, want) in run["fetches"].as_object().unwrap() {
                let got = sess
                    .eval(&g.tensor_by_name(k).unwrap(), &feed)
                    .unwrap_or_else(|e| panic!("{name} {k}: {e}"));
                let want = value(want);
                assert_eq!(got.dtype(), want.dtype(), "{name} {k}");
                assert_eq!(got.shape(), want.shape(), "{name} {k}");
                for (a, b) in got.to_f64_vec().iter().zip(want.to_f64_vec()) {
                    assert!(
                        (a - b).abs() <= 1e-5 * (1.0 + b.abs()),
                        "{name} {k}: {a} vs TensorFlow's {b} ({:?})",
                        run["feeds"]
                    );
                }
            }
        }
    }
}

/// The op types of the rustflow graph that `case` imports as.
fn imported_op_types(case: &Json) -> Vec<String> {
    let g = Graph::new();
    import_graph_def(&g, &graph_def(case), &ImportOptions::default()).unwrap();
    g.node_ids()
        .into_iter()
        .map(|id| g.node(id).op.op_type().to_string())
        .collect()
}

/// TF1's loops and conds become rustflow's `While` and `If`: no frame op is left.
#[test]
fn tf1_control_flow_imports_as_functional_ops() {
    let importing = |n: &String| n.ends_with("_v1") && !PENDING.iter().any(|(p, _)| p == n);
    for (name, case) in cases().iter().filter(|(n, _)| importing(n)) {
        let types = imported_op_types(case);
        assert!(
            types.iter().any(|t| t == "If" || t == "While"),
            "{name}: {types:?}"
        );
    }
}

/// TF1 control flow that is not a cond or a loop (a `Merge` of three branches) is an error
/// naming the node and its op type, and nothing is added to the graph.
#[test]
fn unsupported_control_flow_is_an_error_before_anything_is_added() {
    let mut def = graph_def(&cases()["cond_v1"]);
    let merge = def
        .node
        .iter_mut()
        .find(|n| n.name == "cond/Merge")
        .unwrap();
    merge.input.push("x".into());
    let g = Graph::new();
    let e = import_graph_def(&g, &def, &ImportOptions::default())
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("{{node cond/Merge}} = Merge") && e.contains("3 inputs"),
        "{e}"
    );
    assert_eq!(g.len(), 0);

    // A functional op whose function the library lacks.
    let mut def = graph_def(&cases()["cond_v2"]);
    def.library = None;
    let bytes = def.encode_to_vec();
    let def = parse_graph_def(&bytes).unwrap();
    let e = import_graph_def(&g, &def, &ImportOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("StatelessIf") && e.contains("library"), "{e}");
    assert_eq!(g.len(), 0);
}

/// TensorFlow's TensorArrays become rustflow's: TF1's handle and flow, TF2's `TensorList`,
/// with no TensorFlow array op left; an array whose element shape nothing names (its stack's
/// `element_shape` removed) and that a loop writes is an error naming a node, not a panic.
#[test]
fn tensor_arrays_import_as_rustflow_tensor_arrays() {
    for name in ["tensor_array_v1", "tensor_array_v2"] {
        let types = imported_op_types(&cases()[name]);
        assert!(
            types.iter().any(|t| t == "TensorArrayV3")
                && !types.iter().any(|t| t.starts_with("TensorList")),
            "{name}: {types:?}"
        );
    }
    let mut def = graph_def(&cases()["tensor_array_v1"]);
    for n in def
        .node
        .iter_mut()
        .filter(|n| n.op == "TensorArrayGatherV3")
    {
        n.attr.remove("element_shape");
    }
    let g = Graph::new();
    let run = import_graph_def(&g, &def, &ImportOptions::default()).and_then(|_| {
        let x = Value::new(&[2, 3], vec![1.0f32; 6]).unwrap();
        let feed = FeedDict::new().with(g.tensor_by_name("x:0").unwrap(), x);
        Session::new(&g).eval(&g.tensor_by_name("stacked:0").unwrap(), &feed)
    });
    let e = run.unwrap_err().to_string();
    assert!(
        e.contains("TensorArrayWriteV3") && e.contains("element shape"),
        "{e}"
    );
}

/// The TF2 graphs as `tf.io.write_graph(as_text=True)` writes them (`*_v2.pbtxt`, with
/// `library { function { ... } }`) parse to the same GraphDef as their binary form, and the
/// text form rustflow writes parses back to it too.
#[test]
fn text_format_function_libraries_parse() {
    let mut checked = 0;
    for (name, case) in &cases() {
        let file = case["file"].as_str().unwrap();
        let Some(stem) = file.strip_suffix("_v2.pb") else {
            continue;
        };
        let binary = graph_def(case);
        assert!(binary
            .library
            .as_ref()
            .is_some_and(|l| !l.function.is_empty()));
        let text = std::fs::read(fixture(&format!("{stem}_v2.pbtxt"))).unwrap();
        let parsed = parse_graph_def(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(parsed == binary, "{name}: the text form differs");
        let ours = rustflow_proto::text::print(&binary);
        assert!(
            parse_graph_def(ours.as_bytes()).unwrap() == binary,
            "{name}"
        );
        checked += 1;
    }
    assert_eq!(checked, 8);
    // A function field rustflow does not know is an error naming it.
    let bad = br#"library { function { signature { name: "f" } frobnicate: 1 } }"#;
    let e = parse_graph_def(bad).unwrap_err().to_string();
    assert!(e.contains("byte offset"), "{e}");
}
