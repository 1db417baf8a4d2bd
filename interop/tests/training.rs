//! TensorFlow's whole training graphs (`graph.pb`, `model.ckpt.meta`: forward pass,
//! gradients, optimizer, summaries, save/restore ops) imported and trained in rustflow, from
//! TensorFlow's initial values or its checkpoint, against TensorFlow's numbers: the small
//! net's trajectory in `expected.json`, and the tutorial CNN's continued training in
//! `tests/data/deep_mnist_continue.json` (`scripts/tf_continue_training.py`).

use rustflow_graph::{Graph, Operation, Tensor, Value};
use rustflow_interop::{import_graph_def, import_meta_graph, parse_graph_def, ImportOptions};
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

fn json(path: PathBuf) -> Json {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn close(got: &[f32], want: &[f32], tol: f32, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= tol * (1.0 + w.abs()),
            "{what}[{i}]: {g} vs TensorFlow's {w}"
        );
    }
}

fn op(g: &Graph, name: &str) -> Operation {
    let t = g.tensor_by_name(&format!("{name}:0")).map(|t| t.op()).ok();
    t.or_else(|| {
        g.node_ids()
            .into_iter()
            .map(|id| Operation::from_graph(g, id))
            .find(|o| o.name() == name)
    })
    .unwrap_or_else(|| panic!("no op {name}"))
}

fn string(s: &str) -> Value {
    Value::strings(&[], vec![s.as_bytes().to_vec()]).unwrap()
}

fn tensor(g: &Graph, name: &str) -> Tensor {
    g.tensor_by_name(name).unwrap()
}

/// The small net imported from `graph.pb`, `graph.pbtxt` and `model.ckpt.meta`: `init`, then
/// five steps of its `train` op on its batch give TensorFlow's loss and variables at every
/// step; `save/restore_all` fed the checkpoint's prefix gives its variables bit for bit; and
/// the graph's own `SaveV2` writes a checkpoint that restores the same.
#[test]
fn small_training_graph_follows_tensorflows_trajectory() {
    let exp = json(interop("small/expected.json"));
    let nodes = &exp["nodes"];
    let n = |k: &str| nodes[k].as_str().unwrap().to_string();
    for source in ["graph.pb", "graph.pbtxt", "model.ckpt.meta"] {
        let g = Graph::new();
        if source.ends_with(".meta") {
            let (meta, _) =
                import_meta_graph(&g, interop("small/model.ckpt.meta"), &Default::default())
                    .unwrap();
            assert_eq!(meta.collections["train_op"], vec![n("train")]);
        } else {
            let def = parse_graph_def(&std::fs::read(interop(&format!("small/{source}"))).unwrap())
                .unwrap();
            import_graph_def(&g, &def, &ImportOptions::default()).unwrap();
        }
        let (x, y) = (tensor(&g, "x:0"), tensor(&g, "y:0"));
        let loss = tensor(&g, &format!("{}:0", n("loss")));
        let feed = FeedDict::new()
            .with(&x, value(&exp["data"]["x"]))
            .with(&y, value(&exp["data"]["y"]));
        let sess = Session::new(&g);
        sess.run_op(&op(&g, &n("init")), &FeedDict::new()).unwrap();
        let train = op(&g, &n("train"));
        for (t, want) in exp["trajectory"].as_array().unwrap().iter().enumerate() {
            let got = sess
                .eval(&loss, &feed)
                .unwrap()
                .scalar_value::<f32>()
                .unwrap();
            let w = want["loss"].as_f64().unwrap() as f32;
            close(
                &[got],
                &[w],
                1e-5,
                &format!("{source} loss after {t} steps"),
            );
            for (name, v) in want["variables"].as_object().unwrap() {
                let got = sess.eval(&tensor(&g, &format!("{name}:0")), &feed).unwrap();
                let what = format!("{source} {name} after {t} steps");
                close(
                    got.as_slice::<f32>().unwrap(),
                    &floats(&v["data"]),
                    1e-5,
                    &what,
                );
            }
            sess.run_op(&train, &feed).unwrap();
        }

        // The saver's own ops: restore TensorFlow's checkpoint, then save and restore ours.
        let filename = tensor(&g, &n("saver_filename"));
        let restore = op(&g, &n("saver_restore"));
        let prefix = interop("small/model.ckpt");
        let restore_from = |p: &std::path::Path| {
            let feed = FeedDict::new().with(&filename, string(p.to_str().unwrap()));
            sess.run_op(&restore, &feed).unwrap();
            for (name, v) in exp["final_variables"].as_object().unwrap() {
                let got = sess.eval(&tensor(&g, &format!("{name}:0")), &feed).unwrap();
                let bits = |x: &[f32]| x.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                assert_eq!(
                    bits(got.as_slice::<f32>().unwrap()),
                    bits(&floats(&v["data"])),
                    "{name} restored from {}",
                    p.display()
                );
            }
        };
        restore_from(&prefix);
        let dir =
            std::env::temp_dir().join(format!("rustflow-small-{}-{source}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ours = dir.join("model.ckpt");
        let save = tensor(&g, &n("saver_save"));
        let feed = FeedDict::new().with(&filename, string(ours.to_str().unwrap()));
        let written = sess.run(&[Fetch::from(&save)], &feed).unwrap();
        assert_eq!(
            written.value(0).unwrap().as_strings().unwrap()[0],
            ours.to_str().unwrap().as_bytes()
        );
        sess.run_op(
            &train,
            &FeedDict::new()
                .with(&x, value(&exp["data"]["x"]))
                .with(&y, value(&exp["data"]["y"])),
        )
        .unwrap();
        restore_from(&ours);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

/// The tutorial CNN's training graph from `model.ckpt.meta` (and `graph.pb`), restored from
/// TensorFlow's checkpoint by its own `save/restore_all`, continues training by running its
/// `Adam` op: the first steps' losses match TensorFlow's on the same batches, the loss goes
/// down, and the test accuracy rises from TensorFlow's 9309/10000.
#[test]
fn deep_mnist_training_graph_continues_from_tensorflows_checkpoint() {
    let exp = json(interop("deep_mnist/expected.json"));
    let want = json(root().join("tests/data/deep_mnist_continue.json"));
    let nodes = &exp["nodes"];
    let n = |k: &str| nodes[k].as_str().unwrap().to_string();
    let mnist_dir = std::env::var("MNIST_DATA_DIR")
        .map(|d| root().join(d))
        .unwrap_or_else(|_| root().join("../shared/mnist"));
    let mnist = rustflow_mnist::read_data_sets(mnist_dir, true).unwrap();

    // graph.pb imports too, with the same node names.
    let def = parse_graph_def(&std::fs::read(interop("deep_mnist/graph.pb")).unwrap()).unwrap();
    let g = Graph::new();
    import_graph_def(&g, &def, &ImportOptions::default()).unwrap();
    assert!(g
        .tensor_by_name("gradients/Conv2D_grad/Conv2DBackpropFilter:0")
        .is_ok());

    let g = Graph::new();
    import_meta_graph(
        &g,
        interop("deep_mnist/model.ckpt.meta"),
        &Default::default(),
    )
    .unwrap();
    let sess = Session::new(&g);
    let filename = tensor(&g, &n("saver_filename"));
    let prefix = interop("deep_mnist/model.ckpt");
    sess.run_op(
        &op(&g, &n("saver_restore")),
        &FeedDict::new().with(&filename, string(prefix.to_str().unwrap())),
    )
    .unwrap();
    let tensors = &exp["tensors"];
    let t = |k: &str| tensor(&g, tensors[k].as_str().unwrap());
    let (x, y_, keep, loss, logits) = (
        t("x"),
        t("y_"),
        t("keep_prob"),
        t("cross_entropy"),
        t("logits"),
    );
    let test_correct = |sess: &Session| {
        let test = &mnist.test;
        let mut correct = 0u64;
        for start in (0..test.num_examples()).step_by(1000) {
            let feed = FeedDict::new()
                .with(&x, test.images_rows(start..start + 1000))
                .with(&keep, Value::scalar(1.0f32));
            let l = sess.eval(&logits, &feed).unwrap();
            for (i, row) in l.as_slice::<f32>().unwrap().chunks(10).enumerate() {
                let arg = (0..10).fold(0, |b, k| if row[k] > row[b] { k } else { b });
                correct += u64::from(arg == usize::from(test.class_ids()[start + i]));
            }
        }
        correct
    };
    assert_eq!(test_correct(&sess), exp["test_correct"].as_u64().unwrap());

    let train = op(&g, &n("train_step"));
    let batch = want["batch"].as_u64().unwrap() as usize;
    let first = want["first_train_example"].as_u64().unwrap() as usize - 5000;
    let tf_losses = floats(&want["losses"]);
    let labels = mnist.train.labels();
    let mut losses = vec![];
    for s in 0..tf_losses.len() {
        let rows = first + s * batch..first + (s + 1) * batch;
        let ys = labels
            .slice(ndarray::s![rows.clone(), ..])
            .to_owned()
            .into_dyn();
        let feed = FeedDict::new()
            .with(&x, mnist.train.images_rows(rows))
            .with(&y_, ys)
            .with(&keep, Value::scalar(1.0f32));
        let out = sess
            .run(&[Fetch::from(&loss), Fetch::from(&train)], &feed)
            .unwrap();
        losses.push(out.value(0).unwrap().scalar_value::<f32>().unwrap());
    }
    // The first steps from the same state agree closely; later ones drift with rounding.
    close(&losses[..5], &tf_losses[..5], 2e-3, "loss");
    close(&losses, &tf_losses, 5e-2, "loss");
    let mean = |l: &[f32]| l.iter().sum::<f32>() / l.len() as f32;
    let half = losses.len() / 2;
    assert!(mean(&losses[half..]) < mean(&losses[..half]), "{losses:?}");
    let after = test_correct(&sess);
    let tf_after = want["test_correct_after"].as_u64().unwrap();
    assert!(after > exp["test_correct"].as_u64().unwrap(), "{after}");
    assert!(
        after.abs_diff(tf_after) <= 10,
        "{after} vs TensorFlow's {tf_after}"
    );
}
