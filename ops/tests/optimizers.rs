//! The optimizers against TensorFlow 1.x: every `optimizer_*.json` golden trajectory
//! (variables, slots, beta powers and loss after each step), plus the behaviours around a
//! step that TF1 pins down: the initializer order, pre-update fetches, pre-step gradients,
//! names and collections, and concurrent training.
//!
//! The first folder of `GOLDEN_DIR` (`:`-separated, as `tests/golden.rs` reads it; default
//! `../shared/golden/cases`) holds the first wave's cases; a relative path is taken from the
//! workspace root, where the README's command is typed. (`tests/golden.rs` runs every
//! optimizer case of every folder.)

use rustflow_graph::{DType, Error, Graph, Operation, Result, Tensor, Value};
use rustflow_ops::train::{AdamOptimizer, GradientDescentOptimizer, MomentumOptimizer, Optimizer};
use rustflow_ops::{
    constant, global_variables_initializer, matmul, mul, nn, reduce_mean, reduce_sum, square, sub,
    Variable,
};
use rustflow_runtime::{FeedDict, Fetch, Session};
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Tolerance of the optimizer trajectories (golden README): rtol, atol.
const TOL: (f64, f64) = (1e-5, 2e-6);

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn golden_dir() -> PathBuf {
    let d = std::env::var("GOLDEN_DIR")
        .ok()
        .and_then(|v| v.split(':').find(|s| !s.is_empty()).map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("../shared/golden/cases"));
    if d.is_relative() {
        workspace_root().join(d)
    } else {
        d
    }
}

fn no_feeds() -> FeedDict {
    FeedDict::new()
}

fn tensor_value(j: &Json) -> Value {
    let shape: Vec<usize> = j["shape"]
        .as_array()
        .expect("shape")
        .iter()
        .map(|d| d.as_u64().expect("dim") as usize)
        .collect();
    assert_eq!(
        j["dtype"], "float32",
        "optimizer cases hold float32 tensors"
    );
    let data = j["data"].as_array().expect("data");
    Value::new(
        &shape,
        data.iter()
            .map(|x| x.as_f64().expect("number") as f32)
            .collect(),
    )
    .expect("tensor")
}

/// Elementwise `|got - want| <= atol + rtol |want|` with equal shapes.
fn assert_close(what: &str, got: &Value, want: &Value, (rtol, atol): (f64, f64)) {
    assert_eq!(got.shape(), want.shape(), "{what}: shape");
    for (i, (a, b)) in got.to_f64_vec().iter().zip(want.to_f64_vec()).enumerate() {
        assert!(
            (a - b).abs() <= atol + rtol * b.abs(),
            "{what}[{i}]: got {a}, want {b} (rtol {rtol}, atol {atol})"
        );
    }
}

fn f32s(v: &Value) -> Vec<f32> {
    v.as_slice::<f32>().expect("f32").to_vec()
}

fn scalar(sess: &Session, t: &Tensor) -> f32 {
    sess.eval(t, &no_feeds())
        .expect("eval")
        .scalar_value::<f32>()
        .expect("scalar")
}

// ---------------------------------------------------------------------------------------------
// Golden trajectories

fn optimizer_of(attrs: &Json) -> Box<dyn Optimizer> {
    let f = |k: &str| attrs[k].as_f64().map(|v| v as f32);
    let lr = f("learning_rate").expect("learning_rate");
    match attrs["optimizer"].as_str().expect("optimizer") {
        "GradientDescent" => Box::new(GradientDescentOptimizer::new(lr)),
        "Momentum" => {
            assert_ne!(
                attrs["use_nesterov"], true,
                "Nesterov momentum is not recorded"
            );
            Box::new(MomentumOptimizer::new(lr, f("momentum").expect("momentum")))
        }
        "Adam" => Box::new(
            AdamOptimizer::new(lr)
                .with_beta1(f("beta1").expect("beta1"))
                .with_beta2(f("beta2").expect("beta2"))
                .with_epsilon(f("epsilon").expect("epsilon")),
        ),
        o => panic!("unknown optimizer {o}"),
    }
}

/// The case's loss, from the engine's own ops.
fn problem_loss(problem: &str, t: &BTreeMap<String, Tensor>) -> Result<Tensor> {
    match problem {
        // reduce_sum(a * square(w - c))
        "quad2" => reduce_sum(
            &mul(&t["a"], &square(&sub(&t["w"], &t["c"])?)?)?,
            None,
            false,
        ),
        // reduce_mean(square(matmul(X, W) + b - Y))
        "linreg" => {
            let pred = rustflow_ops::add(&matmul(&t["X"], &t["W"])?, &t["b"])?;
            reduce_mean(&square(&sub(&pred, &t["Y"])?)?, None, false)
        }
        // reduce_mean(softmax_cross_entropy_with_logits(labels, relu(X W1 + b1) W2 + b2))
        "mlp" => {
            let h = nn::relu(&rustflow_ops::add(&matmul(&t["X"], &t["W1"])?, &t["b1"])?)?;
            let logits = rustflow_ops::add(&matmul(&h, &t["W2"])?, &t["b2"])?;
            reduce_mean(
                &nn::softmax_cross_entropy_with_logits(&t["labels"], &logits)?,
                None,
                false,
            )
        }
        p => panic!("unknown problem {p}"),
    }
}

/// The graph tensor a trajectory key (`w`, `m/w`, `v/w`, `momentum/w`, `beta1_power`, `loss`)
/// names.
fn tracked(g: &Graph, key: &str, vars: &BTreeMap<String, Tensor>, loss: &Tensor) -> Tensor {
    let by_name = |n: String| {
        g.tensor_by_name(&n)
            .unwrap_or_else(|e| panic!("{key}: {e}"))
    };
    match key.split_once('/') {
        None if key == "loss" => loss.clone(),
        None if key.ends_with("_power") => by_name(format!("{key}:0")),
        None => vars
            .get(key)
            .unwrap_or_else(|| panic!("unknown variable {key}"))
            .clone(),
        Some(("m", v)) => by_name(format!("{v}/Adam:0")),
        Some(("v", v)) => by_name(format!("{v}/Adam_1:0")),
        Some(("momentum", v)) => by_name(format!("{v}/Momentum:0")),
        _ => panic!("unknown trajectory key {key}"),
    }
}

/// Runs one case: every recorded value at every step. Returns how many values it compared.
fn run_case(path: &Path) -> usize {
    let name = path
        .file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let case: Json = serde_json::from_str(&std::fs::read_to_string(path).expect("read case"))
        .expect("parse case");
    let attrs = &case["attrs"];
    let variables: Vec<&str> = case["variables"]
        .as_array()
        .expect("variables")
        .iter()
        .filter_map(Json::as_str)
        .collect();
    let g = Graph::new();
    let mut t = BTreeMap::new();
    for (k, v) in case["inputs"].as_object().expect("inputs") {
        let value = tensor_value(v);
        let node = if variables.contains(&k.as_str()) {
            (*Variable::new(&constant(&g, value, &format!("{k}/initial_value")), k).expect("var"))
                .clone()
        } else {
            constant(&g, value, k)
        };
        t.insert(k.clone(), node);
    }
    let loss = problem_loss(attrs["problem"].as_str().expect("problem"), &t).expect("loss");
    let step = optimizer_of(attrs).minimize(&loss).expect("minimize");
    let sess = Session::new(&g);
    sess.run_op(
        &global_variables_initializer(&g).expect("init"),
        &no_feeds(),
    )
    .expect("init run");

    // Group the recorded values by step.
    let mut by_step: BTreeMap<u64, Vec<(&str, Value)>> = BTreeMap::new();
    for (key, v) in case["outputs"].as_object().expect("outputs") {
        let (what, s) = key.rsplit_once('@').expect("key@step");
        by_step
            .entry(s.parse().expect("step"))
            .or_default()
            .push((what, tensor_value(v)));
    }
    let steps = attrs["steps"].as_u64().expect("steps");
    assert_eq!(
        by_step.keys().last(),
        Some(&steps),
        "{name}: last recorded step"
    );
    let mut compared = 0;
    for s in 0..=steps {
        if s > 0 {
            sess.run_op(&step, &no_feeds())
                .unwrap_or_else(|e| panic!("{name} step {s}: {e}"));
        }
        for (what, want) in by_step.get(&s).into_iter().flatten() {
            let got = sess
                .eval(&tracked(&g, what, &t, &loss), &no_feeds())
                .unwrap_or_else(|e| panic!("{name}: {what}@{s}: {e}"));
            assert_close(&format!("{name}: {what}@{s}"), &got, want, TOL);
            compared += got.len();
        }
    }
    compared
}

#[test]
fn golden_optimizer_trajectories() {
    let dir = golden_dir();
    let entries = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("golden directory {}: {e} (set GOLDEN_DIR)", dir.display()));
    let mut files: Vec<PathBuf> = entries
        .map(|e| e.expect("dir entry").path())
        .filter(|p| {
            let n = p.file_name().unwrap_or_default().to_string_lossy();
            n.starts_with("optimizer_") && n.ends_with(".json")
        })
        .collect();
    files.sort();
    assert!(
        files.len() >= 6,
        "expected the optimizer cases in {}",
        dir.display()
    );
    let mut seen = std::collections::BTreeSet::new();
    for path in &files {
        let case: Json =
            serde_json::from_str(&std::fs::read_to_string(path).expect("read")).expect("json");
        seen.insert(
            case["attrs"]["optimizer"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
        );
        let n = run_case(path);
        assert!(n > 0, "{}: nothing compared", path.display());
    }
    for o in ["GradientDescent", "Momentum", "Adam"] {
        assert!(seen.contains(o), "no golden case for {o}");
    }
}

// ---------------------------------------------------------------------------------------------
// Small problems with hand-computed answers

/// `loss = sum(a * (w - c)^2)` on a 2-vector, `w` a variable.
struct Quad {
    g: Graph,
    w: Variable,
    loss: Tensor,
}

fn quad(w0: [f32; 2], a: [f32; 2], c: [f32; 2]) -> Quad {
    let g = Graph::new();
    let w = Variable::new(&constant(&g, w0, "w/initial_value"), "w").expect("w");
    let d = sub(&w, &constant(&g, c, "c")).expect("sub");
    let loss = reduce_sum(
        &mul(&constant(&g, a, "a"), &square(&d).expect("sq")).expect("mul"),
        None,
        false,
    )
    .expect("sum");
    Quad { g, w, loss }
}

fn optimizers() -> Vec<(&'static str, Box<dyn Optimizer>)> {
    vec![
        (
            "GradientDescent",
            Box::new(GradientDescentOptimizer::new(0.1)),
        ),
        ("Momentum", Box::new(MomentumOptimizer::new(0.1, 0.9))),
        ("Adam", Box::new(AdamOptimizer::new(0.1))),
    ]
}

fn init(sess: &Session, g: &Graph) {
    sess.run_op(&global_variables_initializer(g).expect("init"), &no_feeds())
        .expect("init run");
}

/// TF1's documented example of its epsilon placement: lr 0.1, epsilon 0.1,
/// loss = w0^2 + 0.5 w1^2 from w = [1, -2] gives [0.961258, -1.961258] after one step
/// (the paper's formula would give [0.904762, -1.904762]).
#[test]
fn adam_epsilon_is_added_to_the_uncorrected_sqrt_v() {
    let q = quad([1.0, -2.0], [1.0, 0.5], [0.0, 0.0]);
    let step = AdamOptimizer::new(0.1)
        .with_epsilon(0.1)
        .minimize(&q.loss)
        .expect("minimize");
    let sess = Session::new(&q.g);
    init(&sess, &q.g);
    sess.run_op(&step, &no_feeds()).expect("step");
    let w = sess.eval(&q.w, &no_feeds()).expect("w");
    let want = Value::new(&[2], vec![0.961258f32, -1.961258]).expect("want");
    assert_close("w", &w, &want, (1e-6, 1e-6));
}

#[test]
fn adam_beta_powers_advance_once_per_step() {
    let q = quad([1.0, -2.0], [1.0, 1.0], [0.5, 0.5]);
    let step = AdamOptimizer::new(0.01)
        .minimize(&q.loss)
        .expect("minimize");
    let sess = Session::new(&q.g);
    init(&sess, &q.g);
    let b1 = q.g.tensor_by_name("beta1_power:0").expect("beta1_power");
    let b2 = q.g.tensor_by_name("beta2_power:0").expect("beta2_power");
    assert_eq!((scalar(&sess, &b1), scalar(&sess, &b2)), (0.9, 0.999));
    let (mut p1, mut p2) = (0.9f32, 0.999f32);
    for _ in 0..3 {
        sess.run_op(&step, &no_feeds()).expect("step");
        p1 *= 0.9;
        p2 *= 0.999;
        assert_eq!((scalar(&sess, &b1), scalar(&sess, &b2)), (p1, p2));
    }
    assert!((p1 - 0.6561).abs() < 1e-6);
}

/// Two variables updated in one step: both gradients come from the values before the step.
#[test]
fn every_update_uses_pre_step_values() {
    for (name, opt) in optimizers() {
        // loss = (u * v - 1)^2: du = 2 (uv - 1) v, dv = 2 (uv - 1) u.
        let g = Graph::new();
        let u = Variable::new(&constant(&g, 2.0f32, ""), "u").expect("u");
        let v = Variable::new(&constant(&g, 3.0f32, ""), "v").expect("v");
        let r = sub(&mul(&u, &v).expect("mul"), &constant(&g, 1.0f32, "one")).expect("sub");
        let loss = square(&r).expect("square");
        let step = opt.minimize(&loss).expect("minimize");
        let sess = Session::new(&g);
        init(&sess, &g);
        sess.run_op(&step, &no_feeds()).expect("step");
        let (du, dv) = (2.0f32 * 5.0 * 3.0, 2.0f32 * 5.0 * 2.0);
        let (want_u, want_v) = match name {
            // GD and Momentum's first step: w -= lr * g.
            "GradientDescent" | "Momentum" => (2.0 - 0.1 * du, 3.0 - 0.1 * dv),
            // Adam's first step moves every element with a nonzero gradient by about lr.
            _ => (2.0 - 0.1, 3.0 - 0.1),
        };
        let (got_u, got_v) = (scalar(&sess, &u), scalar(&sess, &v));
        assert!(
            (got_u - want_u).abs() < 1e-5,
            "{name}: u = {got_u}, want {want_u}"
        );
        assert!(
            (got_v - want_v).abs() < 1e-5,
            "{name}: v = {got_v}, want {want_v}"
        );
    }
}

#[test]
fn momentum_accumulates() {
    // loss = w^2 from w = 1: g = 2w. lr 0.1, momentum 0.5.
    let g = Graph::new();
    let w = Variable::new(&constant(&g, 1.0f32, ""), "w").expect("w");
    let step = MomentumOptimizer::new(0.1, 0.5)
        .minimize(&square(&w).expect("sq"))
        .expect("min");
    let sess = Session::new(&g);
    init(&sess, &g);
    let acc = g.tensor_by_name("w/Momentum:0").expect("slot");
    let (mut wv, mut av) = (1.0f32, 0.0f32);
    for _ in 0..4 {
        sess.run_op(&step, &no_feeds()).expect("step");
        av = 0.5 * av + 2.0 * wv;
        wv -= 0.1 * av;
        assert!((scalar(&sess, &acc) - av).abs() < 1e-6);
        assert!((scalar(&sess, &w) - wv).abs() < 1e-6);
    }
}

// ---------------------------------------------------------------------------------------------
// The step as TF1 builds and runs it

/// `sess.run([train_step, loss])` returns the loss at the variables before the step.
#[test]
fn run_train_and_loss_returns_the_pre_update_loss() {
    let small_steps: [(&str, Box<dyn Optimizer>); 3] = [
        (
            "GradientDescent",
            Box::new(GradientDescentOptimizer::new(0.05)),
        ),
        ("Momentum", Box::new(MomentumOptimizer::new(0.05, 0.5))),
        ("Adam", Box::new(AdamOptimizer::new(0.05))),
    ];
    for (name, opt) in small_steps {
        let q = quad([1.0, -2.0], [1.0, 2.0], [0.5, 0.25]);
        let step = opt.minimize(&q.loss).expect("minimize");
        let sess = Session::new(&q.g);
        init(&sess, &q.g);
        let mut before = scalar(&sess, &q.loss);
        assert_eq!(before, 0.25 + 2.0 * 2.25f32 * 2.25);
        for s in 0..3 {
            let out = sess
                .run(&[Fetch::from(&step), Fetch::from(&q.loss)], &no_feeds())
                .expect("run");
            let fetched = out
                .value(1)
                .expect("loss")
                .scalar_value::<f32>()
                .expect("scalar");
            assert_eq!(
                fetched, before,
                "{name} step {s}: the fetched loss is the pre-step one"
            );
            let after = scalar(&sess, &q.loss);
            assert!(after < before, "{name} step {s}: {after} !< {before}");
            before = after;
        }
    }
}

/// `global_variables_initializer()` called before `minimize()` does not cover the slots and
/// beta powers: the step fails before anything runs, and nothing changes.
#[test]
fn initializer_before_minimize_fails_like_tf_and_changes_nothing() {
    let cases: [(&str, Box<dyn Optimizer>, &[&str]); 2] = [
        (
            "Adam",
            Box::new(AdamOptimizer::new(0.1)),
            &["beta1_power", "beta2_power", "w/Adam", "w/Adam_1"],
        ),
        (
            "Momentum",
            Box::new(MomentumOptimizer::new(0.1, 0.9)),
            &["w/Momentum"],
        ),
    ];
    for (name, opt, created) in cases {
        let q = quad([1.0, -2.0], [1.0, 1.0], [0.0, 0.0]);
        let early_init = global_variables_initializer(&q.g).expect("init");
        let step = opt.minimize(&q.loss).expect("minimize");
        let sess = Session::new(&q.g);
        sess.run_op(&early_init, &no_feeds()).expect("init run");
        let w0 = f32s(&sess.eval(&q.w, &no_feeds()).expect("w"));

        let err = sess
            .run_op(&step, &no_feeds())
            .expect_err("the step must fail");
        let msg = err.to_string();
        assert!(
            matches!(err, Error::Uninitialized { .. })
                || msg.contains("Attempting to use uninitialized value"),
            "{name}: {msg}"
        );
        assert!(
            created.iter().any(|v| msg.contains(v)),
            "{name}: {msg} names none of {created:?}"
        );
        // Nothing ran: the variable is as it was, the new variables are still empty.
        assert_eq!(
            f32s(&sess.eval(&q.w, &no_feeds()).expect("w")),
            w0,
            "{name}: w changed"
        );
        for v in created {
            let t =
                q.g.tensor_by_name(&format!("{v}:0"))
                    .expect("created variable");
            assert!(!sess.is_initialized(&t), "{name}: {v} was initialized");
        }
        // The same again fails the same way (no partial state).
        let again = sess
            .run_op(&step, &no_feeds())
            .expect_err("still failing")
            .to_string();
        assert_eq!(again, msg);
        // A new initializer, after minimize, covers everything.
        init(&sess, &q.g);
        sess.run_op(&step, &no_feeds())
            .expect("the step after a full init");
        assert_ne!(
            f32s(&sess.eval(&q.w, &no_feeds()).expect("w")),
            w0,
            "{name}: w did not move"
        );
    }
}

#[test]
fn names_and_collections_are_tf1s() {
    let q = quad([1.0, -2.0], [1.0, 1.0], [0.0, 0.0]);
    let step = AdamOptimizer::new(1e-3)
        .minimize(&q.loss)
        .expect("minimize");
    assert_eq!(step.name(), "Adam");
    let update =
        q.g.operation_by_name("Adam/update_w/ApplyAdam")
            .expect("update op");
    assert_eq!(update.op_type(), "ApplyAdam");
    let names = |infos: Vec<rustflow_graph::VariableInfo>| -> Vec<String> {
        infos.iter().map(|i| q.g.node(i.node).name).collect()
    };
    assert_eq!(names(q.g.trainable_variables()), ["w"]);
    let all = names(q.g.global_variables());
    for v in ["w", "w/Adam", "w/Adam_1", "beta1_power", "beta2_power"] {
        assert!(all.iter().any(|n| n == v), "{v} missing from {all:?}");
    }
    for t in ["w/Adam:0", "w/Adam_1:0"] {
        let slot = q.g.tensor_by_name(t).expect("slot");
        assert_eq!(
            (slot.dtype(), slot.shape()),
            (DType::F32, q.w.shape()),
            "{t}"
        );
    }
    let b1 = q.g.tensor_by_name("beta1_power:0").expect("beta1_power");
    assert_eq!(b1.shape().to_known(), Some(vec![]));

    let g = Graph::new();
    let w = Variable::new(&constant(&g, [1.0f32, 2.0], ""), "w").expect("w");
    let m = MomentumOptimizer::new(0.1, 0.9)
        .minimize(&square(&w).expect("sq"))
        .expect("min");
    assert_eq!(m.name(), "Momentum");
    assert_eq!(
        g.operation_by_name("Momentum/update_w/ApplyMomentum")
            .expect("op")
            .op_type(),
        "ApplyMomentum"
    );
    assert!(g.tensor_by_name("w/Momentum:0").is_ok());
    assert_eq!(g.trainable_variables().len(), 1);
}

/// A loss that depends on no variable: `minimize` refuses, as TF's ValueError.
#[test]
fn minimize_without_gradients_is_an_error() {
    let g = Graph::new();
    let _w = Variable::new(&constant(&g, 1.0f32, ""), "w").expect("w");
    let loss = square(&constant(&g, 3.0f32, "c")).expect("sq");
    for (name, opt) in optimizers() {
        let err = opt.minimize(&loss).expect_err(name);
        assert!(
            err.to_string().contains("No gradients provided"),
            "{name}: {err}"
        );
    }
}

/// Several threads run Adam steps on one session: no deadlock, and every value stays finite.
#[test]
fn concurrent_adam_steps_finish() {
    let g = Graph::new();
    let shape = [64usize, 32];
    let n = shape[0] * shape[1];
    let init_w = Value::new(
        &shape,
        (0..n).map(|i| ((i % 11) as f32 - 5.0) / 10.0).collect(),
    )
    .expect("w0");
    let w = Variable::new(&constant(&g, init_w, ""), "w").expect("w");
    let w2 = Variable::new(&constant(&g, 0.5f32, ""), "w2").expect("w2");
    let loss = reduce_mean(
        &square(&mul(&w, &w2).expect("mul")).expect("sq"),
        None,
        false,
    )
    .expect("mean");
    let step: Operation = AdamOptimizer::new(1e-3).minimize(&loss).expect("minimize");
    let sess = Session::new(&g);
    init(&sess, &g);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..25 {
                    sess.run(&[Fetch::from(&step), Fetch::from(&loss)], &no_feeds())
                        .expect("step");
                }
            });
        }
    });
    let w_now = f32s(&sess.eval(&w, &no_feeds()).expect("w"));
    assert!(w_now.iter().all(|x| x.is_finite()));
    assert!(scalar(&sess, &loss) < 0.25 * 0.1, "loss did not fall");
}

/// A plan fuses Adam's update with a `MatMul`'s weight gradient, which the update computes
/// block by block (`x·W`'s gradient `xᵀ·dy` is never stored): the trajectory equals the
/// one from the stored gradient (the same gradient passed through `identity`, which the
/// fusion does not recognise), on shapes for both product kernels and rows that are not a
/// multiple of the block.
#[test]
fn adam_from_the_matmul_factors_matches_the_stored_gradient() {
    for &(k, rows, cols) in &[(150usize, 70usize, 100usize), (3, 5, 4), (50, 33, 1024)] {
        let run = |fused: bool| -> (Vec<f32>, Vec<f32>, usize) {
            let g = Graph::new();
            let data = |n: usize, s: u32| -> Vec<f32> {
                (0..n)
                    .map(|i| ((i as u32 * 2654435761 + s) >> 8) as f32 / (1u32 << 24) as f32 - 0.5)
                    .collect()
            };
            let x = constant(&g, Value::new(&[k, rows], data(k * rows, 1)).unwrap(), "x");
            let w0 = constant(
                &g,
                Value::new(&[rows, cols], data(rows * cols, 2)).unwrap(),
                "w0",
            );
            let w = Variable::new(&w0, "w").unwrap();
            let h = Variable::new(
                &constant(&g, Value::new(&[k, rows], data(k * rows, 3)).unwrap(), "h0"),
                "h",
            )
            .unwrap();
            // The input h*x also has a gradient, so the graph holds dy·Wᵀ.
            let y = matmul(&mul(&h, &x).unwrap(), &w).unwrap();
            let loss = reduce_sum(&square(&y).unwrap(), None, false).unwrap();
            let opt = AdamOptimizer::new(0.01);
            let gv = opt.compute_gradients(&loss, None).unwrap();
            let gv: Vec<_> = gv
                .into_iter()
                .map(|(gr, v)| match gr {
                    Some(gr) if !fused => (Some(rustflow_ops::identity(&gr).unwrap()), v),
                    other => (other, v),
                })
                .collect();
            let step = opt.apply_gradients(&gv, None).unwrap();
            let sess = Session::new(&g);
            init(&sess, &g);
            let opts = rustflow_runtime::RunOptions {
                trace: true,
                ..Default::default()
            };
            let mut matmuls = 0;
            for _ in 0..3 {
                let (_, meta) = sess
                    .run_with(&[Fetch::from(&step)], &no_feeds(), &opts)
                    .unwrap();
                let by_type = meta.by_op_type();
                matmuls = by_type.iter().find(|t| t.0 == "MatMul").map_or(0, |t| t.2);
            }
            let mut out = sess
                .run(&[Fetch::from(&*w), Fetch::from(&*h)], &no_feeds())
                .unwrap();
            let (w, h) = (out.take(0).unwrap(), out.take(1).unwrap());
            assert_ne!(f32s(&w), data(rows * cols, 2), "W moved");
            (f32s(&w), f32s(&h), matmuls)
        };
        let (w1, h1, matmuls) = run(true);
        let (w2, h2, matmuls2) = run(false);
        assert_eq!(
            matmuls + 1,
            matmuls2,
            "({k},{rows},{cols}): the update computes W's gradient"
        );
        for (a, b) in w1.iter().zip(&w2).chain(h1.iter().zip(&h2)) {
            assert!(
                (a - b).abs() <= 1e-6 * (1.0 + b.abs()),
                "({k},{rows},{cols}): {a} vs {b}"
            );
        }
    }
}
