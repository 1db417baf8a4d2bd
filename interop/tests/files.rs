//! The files TensorFlow wrote (`../shared/interop`) imported into rustflow: frozen graphs give
//! `expected.json`'s outputs and test accuracy.

use rustflow_graph::{Graph, Value};
use rustflow_interop::{import_graph_def, parse_graph_def, Element, ImportOptions};
use rustflow_runtime::{FeedDict, Fetch, Session};
use serde_json::Value as Json;
use std::path::PathBuf;

mod common;
#[path = "../../tests/support/json.rs"]
mod json;
use common::{interop, root};
use json::floats;

fn value(j: &Json) -> Value {
    json::json_value(j).unwrap()
}

fn mnist_dir() -> PathBuf {
    std::env::var("MNIST_DATA_DIR")
        .map(|d| root().join(d))
        .unwrap_or_else(|_| root().join("../shared/mnist"))
}

fn expected(model: &str) -> Json {
    serde_json::from_str(
        &std::fs::read_to_string(interop(&format!("{model}/expected.json"))).unwrap(),
    )
    .unwrap()
}

fn close(got: &[f32], want: &[f32], what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-5 + 1e-4 * w.abs(),
            "{what}[{i}]: {g} vs {w}"
        );
    }
}

fn import(path: &str) -> Graph {
    let g = Graph::new();
    let def = parse_graph_def(&std::fs::read(interop(path)).unwrap()).unwrap();
    import_graph_def(&g, &def, &ImportOptions::default()).unwrap();
    g
}

#[test]
fn frozen_deep_mnist_gives_tensorflows_logits_and_accuracy() {
    let exp = expected("deep_mnist");
    let g = import("deep_mnist/frozen.pb");
    let x = g
        .tensor_by_name(exp["tensors"]["x"].as_str().unwrap())
        .unwrap();
    let keep = g
        .tensor_by_name(exp["tensors"]["keep_prob"].as_str().unwrap())
        .unwrap();
    let logits = g
        .tensor_by_name(exp["tensors"]["logits"].as_str().unwrap())
        .unwrap();
    let probs = g.tensor_by_name("probabilities:0").unwrap();
    let mnist = rustflow_mnist::read_data_sets(mnist_dir(), true).unwrap();
    let test = &mnist.test;
    let sess = Session::new(&g);
    let feed = FeedDict::new()
        .with(&x, test.images_rows(0..64))
        .with(&keep, Value::scalar(1.0f32));
    let out = sess
        .run(&[Fetch::from(&logits), Fetch::from(&probs)], &feed)
        .unwrap();
    close(
        out.value(0).unwrap().as_slice::<f32>().unwrap(),
        &floats(&exp["logits"]["data"]),
        "logits",
    );
    close(
        out.value(1).unwrap().as_slice::<f32>().unwrap(),
        &floats(&exp["probabilities"]["data"]),
        "probabilities",
    );
    // The whole test set, 1000 images a run.
    let mut correct = 0;
    for start in (0..test.num_examples()).step_by(1000) {
        let feed = FeedDict::new()
            .with(&x, test.images_rows(start..start + 1000))
            .with(&keep, Value::scalar(1.0f32));
        let l = sess.eval(&logits, &feed).unwrap();
        let l = l.as_slice::<f32>().unwrap();
        for (i, row) in l.chunks(10).enumerate() {
            let arg = (0..10).fold(0, |b, k| if row[k] > row[b] { k } else { b });
            correct += usize::from(arg == usize::from(test.class_ids()[start + i]));
        }
    }
    assert_eq!(correct as u64, exp["test_correct"].as_u64().unwrap());
}

#[test]
fn frozen_small_gives_tensorflows_output() {
    let exp = expected("small");
    for file in ["small/frozen.pb", "small/frozen.pbtxt"] {
        let g = import(file);
        let x = g.tensor_by_name("x:0").unwrap();
        let y = g.tensor_by_name("output:0").unwrap();
        let v = value(&exp["data"]["x"]);
        let out = Session::new(&g)
            .eval(&y, &FeedDict::new().with(&x, v))
            .unwrap();
        let want = floats(&exp["final_output"]["data"]);
        close(out.as_slice::<f32>().unwrap(), &want, file);
    }
}

#[test]
fn import_scope_input_map_and_return_elements() {
    let def = parse_graph_def(&std::fs::read(interop("small/frozen.pb")).unwrap()).unwrap();
    let g = Graph::new();
    let mine = rustflow_ops::placeholder(
        &g,
        rustflow_graph::DType::F32,
        rustflow_graph::shape![?, 4],
        "mine",
    );
    let opts = ImportOptions {
        input_map: [("x:0".to_string(), mine.clone())].into(),
        return_elements: vec!["output:0".into(), "output".into()],
        name: "import".into(),
    };
    let out = import_graph_def(&g, &def, &opts).unwrap();
    let Element::Tensor(y) = &out[0] else {
        panic!()
    };
    assert_eq!(y.name(), "import/output:0");
    assert!(matches!(&out[1], Element::Op(op) if op.name() == "import/output"));
    // A second import gets its own scope.
    import_graph_def(&g, &def, &opts).unwrap();
    assert!(g.tensor_by_name("import_1/output:0").is_ok());
}

#[test]
fn unknown_op_is_an_error_before_anything_is_added() {
    let mut def = parse_graph_def(&std::fs::read(interop("small/frozen.pb")).unwrap()).unwrap();
    def.node.last_mut().unwrap().op = "Frobnicate".into();
    let name = def.node.last().unwrap().name.clone();
    let g = Graph::new();
    let e = import_graph_def(&g, &def, &ImportOptions::default())
        .unwrap_err()
        .to_string();
    assert!(e.contains("Frobnicate") && e.contains(&name), "{e}");
    assert_eq!(g.len(), 0);
}

/// Truncated and bit-flipped `.pb` and `.meta` files (every truncation point of the small
/// graph's first kilobyte, bytes flipped across the file): an error, never a panic, naming the
/// file and a byte offset inside it.
#[test]
fn corrupt_graph_files_name_the_file_and_byte_offset() {
    let dir = std::env::temp_dir().join(format!("rustflow-corrupt-pb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for src in ["small/graph.pb", "small/model.ckpt.meta"] {
        let good = std::fs::read(interop(src)).unwrap();
        let path = dir.join(src.replace('/', "_"));
        let read = |bytes: &[u8]| {
            std::fs::write(&path, bytes).unwrap();
            if src.ends_with(".meta") {
                rustflow_interop::import_meta_graph(&Graph::new(), &path, &Default::default())
                    .map(|_| ())
            } else {
                rustflow_interop::read_graph_def(&path).map(|_| ())
            }
        };
        let check = |bytes: &[u8], what: &str| match read(bytes) {
            Ok(()) => false,
            // A flip that leaves a well-formed message with another value (a dtype, an op
            // type) is found by the import, which names the node.
            Err(e) if !what.contains("trunc") && e.to_string().contains("{{node ") => true,
            Err(e) => {
                let msg = e.to_string();
                let Some(at) = msg
                    .split("at byte offset ")
                    .nth(1)
                    .and_then(|s| s.parse::<usize>().ok())
                else {
                    panic!("{src} {what}: no byte offset in: {msg}");
                };
                assert!(msg.contains(path.to_str().unwrap()), "{src} {what}: {msg}");
                assert!(
                    at <= bytes.len(),
                    "{src} {what}: offset {at} of {}",
                    bytes.len()
                );
                true
            }
        };
        let mut failed = 0;
        for n in (1..good.len().min(1024)).chain([good.len() - 1]) {
            failed += usize::from(check(&good[..n], &format!("truncated to {n}")));
        }
        assert!(failed > 900, "{src}: only {failed} truncations refused");
        for at in (0..good.len()).step_by(97) {
            let mut bytes = good.clone();
            bytes[at] ^= 0xa5;
            check(&bytes, &format!("byte {at} flipped"));
        }
        // A length that runs past the end is found where it is.
        let mut bytes = good.clone();
        bytes[1] = 0xff;
        bytes[2] = 0x7f;
        assert!(check(&bytes, "huge first length"));
    }
    std::fs::remove_dir_all(&dir).ok();
}

/// An op type rustflow does not have: the error names the node, the op type and (through
/// the tool) the file.
#[test]
fn unsupported_op_names_node_op_and_file() {
    let mut def = rustflow_interop::read_graph_def(interop("small/graph.pb")).unwrap();
    let k = def.node.len() / 2;
    def.node[k].op = "FrobnicateV7".into();
    let name = def.node[k].name.clone();
    let dir = std::env::temp_dir().join(format!("rustflow-unsupported-{}", std::process::id()));
    let path = rustflow_interop::write_graph(&def, &dir, "graph.pb", false).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rustflow"))
        .args([
            "run",
            "--graph",
            path.to_str().unwrap(),
            "--fetch",
            "loss:0",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for part in ["FrobnicateV7", name.as_str(), path.to_str().unwrap()] {
        assert!(err.contains(part), "{part} missing from: {err}");
    }
    std::fs::remove_dir_all(&dir).ok();
}
