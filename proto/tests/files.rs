//! The messages decode the files TensorFlow wrote (`../shared/interop`), and the text format
//! reads TensorFlow's `.pbtxt` to the same message as its `.pb`.

use std::path::PathBuf;

use rustflow_proto::{
    collection_def::Kind, text, BundleEntryProto, CheckpointState, GraphDef, Message, MetaGraphDef,
};

fn interop(path: &str) -> PathBuf {
    let root = std::env::var("INTEROP_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/interop"));
    root.join(path)
}

fn read(path: &str) -> Vec<u8> {
    std::fs::read(interop(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn text_and_binary_graphs_are_equal() {
    for (pb, pbtxt) in [
        ("deep_mnist/graph.pb", "deep_mnist/graph.pbtxt"),
        ("small/graph.pb", "small/graph.pbtxt"),
        ("small/frozen.pb", "small/frozen.pbtxt"),
    ] {
        let binary = GraphDef::decode(read(pb).as_slice()).unwrap();
        let text: GraphDef = text::parse(&String::from_utf8(read(pbtxt)).unwrap()).unwrap();
        assert_eq!(binary, text, "{pb} vs {pbtxt}");
        // Printing and parsing again gives the same message.
        assert_eq!(
            text::parse::<GraphDef>(&text::print(&binary)).unwrap(),
            binary,
            "{pb}"
        );
        // Encoding and decoding again gives the same message.
        assert_eq!(
            GraphDef::decode(binary.encode_to_vec().as_slice()).unwrap(),
            binary
        );
    }
}

#[test]
fn deep_mnist_graph_counts_match_the_readme() {
    let g = GraphDef::decode(read("deep_mnist/graph.pb").as_slice()).unwrap();
    assert_eq!(g.node.len(), 403);
    assert_eq!(g.versions.as_ref().unwrap().producer, 2474);
    assert_eq!(g.node.iter().filter(|n| n.op == "ApplyAdam").count(), 8);
    let frozen = GraphDef::decode(read("deep_mnist/frozen.pb").as_slice()).unwrap();
    assert_eq!(frozen.node.len(), 47);
    assert!(frozen.library.is_some());
    let keep_prob = g.node.iter().find(|n| n.name == "Placeholder_2").unwrap();
    let shape = match &keep_prob.attr["shape"].value {
        Some(rustflow_proto::attr_value::Value::Shape(s)) => s.clone(),
        other => panic!("{other:?}"),
    };
    assert!(shape.unknown_rank);
}

#[test]
fn meta_graph_has_graph_saver_and_collections() {
    let meta = MetaGraphDef::decode(read("deep_mnist/model.ckpt.meta").as_slice()).unwrap();
    let saver = meta.saver_def.as_ref().unwrap();
    assert_eq!(saver.filename_tensor_name, "save/Const:0");
    assert_eq!(saver.restore_op_name, "save/restore_all");
    assert_eq!(saver.version, 2);
    assert_eq!(meta.graph_def.as_ref().unwrap().node.len(), 403);
    let ops = &meta
        .meta_info_def
        .as_ref()
        .unwrap()
        .stripped_op_list
        .as_ref()
        .unwrap()
        .op;
    assert_eq!(ops.len(), 54);
    match &meta.collection_def["variables"].kind {
        Some(Kind::BytesList(b)) => assert_eq!(b.value.len(), 26),
        other => panic!("{other:?}"),
    }
    match &meta.collection_def["train_op"].kind {
        Some(Kind::NodeList(n)) => assert_eq!(n.value, ["Adam"]),
        other => panic!("{other:?}"),
    }
}

#[test]
fn checkpoint_state_parses() {
    let state: CheckpointState =
        text::parse(&String::from_utf8(read("small/checkpoint")).unwrap()).unwrap();
    assert_eq!(state.model_checkpoint_path, "model.ckpt");
    assert_eq!(state.all_model_checkpoint_paths, ["model.ckpt"]);
}

#[test]
fn bundle_entry_fields() {
    // `Variable` in deep_mnist: dtype 1, shape [5,5,1,32], offset 0 (absent), crc fixed32.
    let e = BundleEntryProto {
        dtype: 1,
        size: 3200,
        crc32c: 0xdead_beef,
        ..Default::default()
    };
    let bytes = e.encode_to_vec();
    assert_eq!(
        bytes,
        [0x08, 0x01, 0x28, 0x80, 0x19, 0x35, 0xef, 0xbe, 0xad, 0xde]
    );
}

#[test]
fn crc32c_is_castagnoli() {
    assert_eq!(crc32c::crc32c(b"123456789"), 0xE306_9283);
    let m = rustflow_proto::masked_crc32c(b"123456789");
    assert_eq!(rustflow_proto::unmask_crc(m), 0xE306_9283);
}

#[test]
fn text_errors_name_line_and_field() {
    let e = text::parse::<GraphDef>("node {\n  name: \"a\"\n  bogus: 1\n}").unwrap_err();
    assert!(e.to_string().contains("bogus"), "{e}");
    let e = text::parse::<GraphDef>("node {\n  name: \"a\n}").unwrap_err();
    assert!(e.to_string().contains("line 2"), "{e}");
    let e = text::parse::<GraphDef>("node { name: \"a\" ").unwrap_err();
    assert!(e.to_string().contains("missing"), "{e}");
}
