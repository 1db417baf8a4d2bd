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

fn interop(path: &str) -> PathBuf {
    std::env::var("INTEROP_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from("../shared/interop"))
        .join(path)
}

fn expected_logits() -> Vec<f32> {
    let text = std::fs::read_to_string(interop("deep_mnist/expected.json")).unwrap();
    let j: serde_json::Value = serde_json::from_str(&text).unwrap();
    j["logits"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap() as f32)
        .collect()
}

#[test]
fn tensorflows_checkpoint_restores_into_the_tutorial_graph() {
    // rustflow's tutorial names its variables as TensorFlow does (Variable, Variable/Adam, ...
    // beta1_power), so tf.train.Saver's checkpoint restores into it by name.
    let net = tutorial::build_cnn(1).unwrap();
    let logits = y_conv(&net);
    let sess = Session::new(&net.g);
    let saver = Saver::new(&net.g);
    saver
        .restore(&sess, interop("deep_mnist/model.ckpt"))
        .unwrap();
    let mnist = rustflow::mnist::read_data_sets(mnist_dir(), true).unwrap();
    let feed = feed! { &net.x => mnist.test.images_rows(0..64), &net.keep_prob => 1.0f32 };
    let got = sess.eval(&logits, &feed).unwrap();
    for (g, w) in got.as_slice::<f32>().unwrap().iter().zip(expected_logits()) {
        assert!((g - w).abs() <= 1e-5 + 1e-4 * w.abs(), "{g} vs {w}");
    }

    // A corrupt copy fails naming the file, tensor and offset, and changes no variable.
    let dir = std::env::temp_dir().join(format!("rustflow-corrupt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let src = interop("deep_mnist/model.ckpt");
    let prefix = dir.join("model.ckpt");
    std::fs::copy(
        rustflow_runtime::bundle::index_path(&src),
        rustflow_runtime::bundle::index_path(&prefix),
    )
    .unwrap();
    let mut data = std::fs::read(rustflow_runtime::bundle::data_path(&src)).unwrap();
    let n = data.len();
    data[n - 1] ^= 0x10; // inside beta2_power, the last tensor
    std::fs::write(rustflow_runtime::bundle::data_path(&prefix), data).unwrap();
    let before = sess.eval(&logits, &feed).unwrap();
    let e = saver.restore(&sess, &prefix).unwrap_err().to_string();
    assert!(
        e.contains("data-00000-of-00001") && e.contains("beta2_power") && e.contains("byte"),
        "{e}"
    );
    let after = sess.eval(&logits, &feed).unwrap();
    assert_eq!(
        before.as_slice::<f32>().unwrap(),
        after.as_slice::<f32>().unwrap()
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn var_list_maps_checkpoint_names_to_variables() {
    // The small net of ../shared/interop/small, built with rustflow's own names, restored from
    // TensorFlow's checkpoint through a name map, gives TensorFlow's final output.
    let text = std::fs::read_to_string(interop("small/expected.json")).unwrap();
    let j: serde_json::Value = serde_json::from_str(&text).unwrap();
    let floats = |v: &serde_json::Value| -> Vec<f32> {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
            .collect()
    };
    let g = Graph::new();
    let x = g.placeholder(F32, shape![?, 4]);
    let w1 = g.variable(&g.zeros(&[4, 3]).unwrap(), "w1").unwrap();
    let b1 = g.variable(&g.zeros(&[3]).unwrap(), "b1").unwrap();
    let w2 = g.variable(&g.zeros(&[3, 2]).unwrap(), "w2").unwrap();
    let b2 = g.variable(&g.zeros(&[2]).unwrap(), "b2").unwrap();
    let h = x.matmul(&w1).unwrap().add(&b1).unwrap().tanh().unwrap();
    let y = h.matmul(&w2).unwrap().add(&b2).unwrap();
    let saver = Saver::with_var_map(&[
        ("layer1/weights", &*w1),
        ("layer1/biases", &*b1),
        ("layer2/weights", &*w2),
        ("layer2/biases", &*b2),
    ]);
    let sess = Session::new(&g);
    saver.restore(&sess, interop("small/model.ckpt")).unwrap();
    let xv = Value::new(&[4, 4], floats(&j["data"]["x"])).unwrap();
    let got = sess.eval(&y, &feed! { &x => xv }).unwrap();
    for (g, w) in got
        .as_slice::<f32>()
        .unwrap()
        .iter()
        .zip(floats(&j["final_output"]))
    {
        assert!((g - w).abs() <= 1e-5 + 1e-4 * w.abs(), "{g} vs {w}");
    }
    // A name the checkpoint lacks is an error naming it, before anything changes.
    let bad = Saver::with_var_map(&[("layer1/weights", &*w1), ("layer9/nothing", &*b1)]);
    let e = bad
        .restore(&sess, interop("small/model.ckpt"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("layer9/nothing") && e.contains(".index"), "{e}");
}

/// The tutorial's whole training graph (its gradients and Adam) written as a GraphDef and
/// imported into a fresh graph: restored from the same variable values, one training step
/// on the same batch gives the same variables (within 1e-6) as the original graph's step.
/// With `RUSTFLOW_EXPORT_DIR`, leaves `train.pb`, the checkpoints before (`train.ckpt`) and
/// after (`trained.ckpt`) the step and the batch for `scripts/tf_reads_rustflow.py`.
#[test]
fn deep_mnist_training_graph_round_trips() {
    let net = tutorial::build_cnn(1).unwrap();
    let sess = Session::new(&net.g);
    sess.run_op(&net.g.global_variables_initializer().unwrap(), &feed! {})
        .unwrap();
    let mut mnist = rustflow::mnist::read_data_sets(mnist_dir(), true).unwrap();
    let (bx, by) = mnist.train.next_batch(50);
    let feed = feed! { &net.x => bx.clone(), &net.y_ => by.clone(), &net.keep_prob => 1.0f32 };
    // One step first, so Adam's slots and powers are not their initial values.
    sess.run_op(&net.train_step, &feed).unwrap();

    let dir = std::env::var("RUSTFLOW_EXPORT_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            std::env::temp_dir().join(format!("rustflow-train-{}", std::process::id()))
        });
    let def = rustflow::interop::to_graph_def(&net.g).unwrap();
    write_graph(&def, &dir, "train.pb", false).unwrap();
    let saver = Saver::new(&net.g).format(CheckpointFormat::TensorFlowV2);
    let before = saver.save(&sess, dir.join("train.ckpt"), None).unwrap();
    sess.run_op(&net.train_step, &feed).unwrap();
    saver.save(&sess, dir.join("trained.ckpt"), None).unwrap();
    let json = |v: &[f32]| format!("{v:?}");
    let names = format!(
        "{{\"x\": \"{}\", \"y_\": \"{}\", \"keep_prob\": \"{}\", \"train_op\": \"{}\", \
         \"x_data\": {}, \"y_data\": {}}}",
        net.x.name(),
        net.y_.name(),
        net.keep_prob.name(),
        net.train_step.name(),
        json(bx.as_slice().unwrap()),
        json(&by.iter().copied().collect::<Vec<f32>>())
    );
    std::fs::write(dir.join("train.json"), names).unwrap();

    let g = Graph::new();
    let def = parse_graph_def(&std::fs::read(dir.join("train.pb")).unwrap()).unwrap();
    import_graph_def(&g, &def, &ImportOptions::default()).unwrap();
    let s = Session::new(&g);
    Saver::new(&g).restore(&s, &before).unwrap();
    let t = |name: &Tensor| g.tensor_by_name(&name.name()).unwrap();
    s.run_op(
        &g.operation_by_name(&net.train_step.name()).unwrap(),
        &feed! { &t(&net.x) => bx, &t(&net.y_) => by, &t(&net.keep_prob) => 1.0f32 },
    )
    .unwrap();
    let vars = net.g.global_variables();
    assert!(vars.len() >= 8 * 3 + 2, "{} variables", vars.len());
    for v in vars {
        let name = format!("{}:0", net.g.node(v.node).name);
        let want = sess.eval(&net.g.tensor_by_name(&name).unwrap(), &feed! {});
        let got = s.eval(&g.tensor_by_name(&name).unwrap(), &feed! {});
        let (want, got) = (want.unwrap(), got.unwrap());
        assert_eq!(got.shape(), want.shape(), "{name}");
        let (w, gv) = (
            want.as_slice::<f32>().unwrap(),
            got.as_slice::<f32>().unwrap(),
        );
        let err = w
            .iter()
            .zip(gv)
            .map(|(a, b)| (a - b).abs() / (1.0 + a.abs()))
            .fold(0f32, f32::max);
        assert!(err <= 1e-6, "{name}: max error {err}");
    }
    if std::env::var("RUSTFLOW_EXPORT_DIR").is_err() {
        std::fs::remove_dir_all(&dir).ok();
    }
}
