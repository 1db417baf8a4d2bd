//! rustflow → TensorFlow's files → rustflow: the tutorial CNN's GraphDef and V2 checkpoint,
//! written by rustflow, import and restore to the same logits. With `RUSTFLOW_EXPORT_DIR`
//! set, the files are left there for `scripts/tf_reads_rustflow.py`, which checks them in
//! TensorFlow.

#[path = "../examples/deep_mnist/tutorial.rs"]
#[allow(dead_code)]
mod tutorial;

use rustflow::interop::{
    import_graph_def, parse_graph_def, sub_graph_def, write_graph, ImportOptions,
};
use rustflow::prelude::*;
use rustflow::train::{CheckpointFormat, Saver};
use std::path::PathBuf;

fn mnist_dir() -> PathBuf {
    std::env::var("MNIST_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("../shared/mnist"))
}

/// `y_conv`: the first input of the `ArgMax` that does not read `y_`.
fn y_conv(net: &tutorial::Cnn) -> Tensor {
    let g = &net.g;
    g.node_ids()
        .into_iter()
        .map(|id| rustflow::Operation::from_graph(g, id))
        .filter(|op| op.op_type() == "ArgMax")
        .map(|op| op.inputs()[0].clone())
        .find(|t| *t != net.y_)
        .expect("the accuracy's argmax of y_conv")
}

#[test]
fn deep_mnist_graph_and_checkpoint_round_trip() {
    let net = tutorial::build_cnn(1).unwrap();
    let logits = y_conv(&net);
    let sess = Session::new(&net.g);
    sess.run_op(&net.g.global_variables_initializer().unwrap(), &feed! {})
        .unwrap();
    let mnist = rustflow::mnist::read_data_sets(mnist_dir(), true).unwrap();
    let xs = mnist.test.images_rows(0..64);
    // A few training steps, so the variables are not their initial values.
    let mut train = mnist.train;
    for _ in 0..3 {
        let (bx, by) = train.next_batch(50);
        sess.run_op(
            &net.train_step,
            &feed! { &net.x => bx, &net.y_ => by, &net.keep_prob => 0.5f32 },
        )
        .unwrap();
    }
    let want = sess
        .eval(
            &logits,
            &feed! { &net.x => xs.clone(), &net.keep_prob => 1.0f32 },
        )
        .unwrap();

    let dir = std::env::var("RUSTFLOW_EXPORT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            std::env::temp_dir().join(format!("rustflow-interop-{}", std::process::id()))
        });
    let def = sub_graph_def(&net.g, &[&logits]).unwrap();
    write_graph(&def, &dir, "graph.pb", false).unwrap();
    write_graph(&def, &dir, "graph.pbtxt", true).unwrap();
    let prefix = Saver::new(&net.g)
        .format(CheckpointFormat::TensorFlowV2)
        .save(&sess, dir.join("model.ckpt"), None)
        .unwrap();
    let names = format!(
        "{{\"x\": \"{}\", \"keep_prob\": \"{}\", \"logits\": \"{}\", \"logits_data\": {:?}}}",
        net.x.name(),
        net.keep_prob.name(),
        logits.name(),
        want.as_slice::<f32>().unwrap()
    );
    std::fs::write(dir.join("expected.json"), names).unwrap();

    // Back into a fresh rustflow graph, from both forms, restored from the V2 checkpoint.
    for file in ["graph.pb", "graph.pbtxt"] {
        let g = Graph::new();
        let def = parse_graph_def(&std::fs::read(dir.join(file)).unwrap()).unwrap();
        import_graph_def(&g, &def, &ImportOptions::default()).unwrap();
        let s = Session::new(&g);
        Saver::new(&g).restore(&s, &prefix).unwrap();
        let x = g.tensor_by_name(&net.x.name()).unwrap();
        let kp = g.tensor_by_name(&net.keep_prob.name()).unwrap();
        let got = s
            .eval(
                &g.tensor_by_name(&logits.name()).unwrap(),
                &feed! { &x => xs.clone(), &kp => 1.0f32 },
            )
            .unwrap();
        assert_eq!(
            got.as_slice::<f32>().unwrap(),
            want.as_slice::<f32>().unwrap(),
            "{file}"
        );
    }
    if std::env::var("RUSTFLOW_EXPORT_DIR").is_err() {
        std::fs::remove_dir_all(&dir).ok();
    }
}
