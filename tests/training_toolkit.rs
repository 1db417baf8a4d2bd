//! TensorFlow 1.x's training toolkit: variable scopes and reuse, `get_variable` and its
//! initializers, collections, layers and their variable names, batch normalization and
//! dropout switched by a `training` tensor, hyper-parameters as tensors, the global step,
//! learning-rate schedules and moving averages. Expected values are computed here by hand.

use rustflow::layers::{self, BatchNormalization, Dense};
use rustflow::prelude::*;
use rustflow::train::{
    exponential_decay, get_or_create_global_step, piecewise_constant, polynomial_decay,
    AdamOptimizer, ExponentialMovingAverage, GradientDescentOptimizer, MomentumOptimizer,
};
use rustflow::{get_variable, get_variable_with, nn, GraphKeys, Initializer, Reuse};

fn vals(sess: &Session, t: &Tensor, feeds: &FeedDict) -> Vec<f32> {
    sess.eval(t, feeds)
        .unwrap()
        .as_slice::<f32>()
        .unwrap()
        .to_vec()
}

fn init(sess: &Session, g: &Graph) {
    sess.run_op(&g.global_variables_initializer().unwrap(), &feed! {})
        .unwrap();
}

#[test]
fn reuse_returns_the_same_variable() {
    let g = Graph::new();
    let w = g
        .variable_scope("foo", None, |g| {
            get_variable(g, "w", &[2, 3], Initializer::Zeros)
        })
        .unwrap();
    assert_eq!(w.name(), "foo/w:0");
    let same = g
        .variable_scope("foo", Some(Reuse::Yes), |g| {
            get_variable(g, "w", &[2, 3], Initializer::Ones)
        })
        .unwrap();
    assert_eq!(same.node(), w.node());
    // Nested scopes inherit reuse; AUTO_REUSE creates or returns.
    let (inner, again) = g
        .variable_scope("outer", Some(Reuse::Auto), |g| {
            let a = g.variable_scope("inner", None, |g| {
                get_variable(g, "v", &[1], Initializer::Zeros)
            })?;
            let b = g.variable_scope("inner", None, |g| {
                get_variable(g, "v", &[1], Initializer::Zeros)
            })?;
            Ok::<_, Error>((a, b))
        })
        .unwrap();
    assert_eq!(inner.name(), "outer/inner/v:0");
    assert_eq!(inner.node(), again.node());
    // reuse_variables() inside a scope.
    let shared = g
        .variable_scope("foo", None, |g| {
            g.reuse_variables();
            get_variable(g, "w", &[2, 3], Initializer::Zeros)
        })
        .unwrap();
    assert_eq!(shared.node(), w.node());
    assert_eq!(g.global_variables().len(), 2);
}

#[test]
fn a_second_variable_without_reuse_is_an_error_naming_it() {
    let g = Graph::new();
    g.variable_scope("layer1", None, |g| {
        get_variable(g, "weights", &[4], Initializer::Zeros)
    })
    .unwrap();
    let err = g
        .variable_scope("layer1", None, |g| {
            get_variable(g, "weights", &[4], Initializer::Zeros)
        })
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Variable layer1/weights already exists"),
        "{err}"
    );
    let err = g
        .variable_scope("layer1", Some(Reuse::Yes), |g| {
            get_variable(g, "biases", &[4], Initializer::Zeros)
        })
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Variable layer1/biases does not exist"),
        "{err}"
    );
    let err = g
        .variable_scope("layer1", Some(Reuse::Yes), |g| {
            get_variable(g, "weights", &[5], Initializer::Zeros)
        })
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("specified shape [5] and found shape [4]"),
        "{err}"
    );
    // Nothing was renamed `weights_1` and nothing was added.
    assert_eq!(g.global_variables().len(), 1);
    assert!(g.tensor_by_name("layer1/weights_1:0").is_err());
}

#[test]
fn variable_names_follow_variable_scopes_and_ops_follow_name_scopes() {
    let g = Graph::new();
    let (w, op) = g
        .name_scope("ns", |g| {
            g.variable_scope("vs", None, |g| {
                let w = get_variable(g, "w", &[2], Initializer::Constant(3.0))?;
                Ok::<_, Error>((w.clone(), w.mul(&w)?))
            })
        })
        .unwrap();
    assert_eq!(w.name(), "vs/w:0");
    assert_eq!(op.op().name(), "ns/vs/mul");
    // At the top, the name scope is `vs`; entered again, `vs_1` (the variable stays `vs/w`).
    for want in ["vs/mul", "vs_1/mul"] {
        let op = g
            .variable_scope("vs", Some(Reuse::Yes), |g| {
                let again = get_variable(g, "w", &[2], Initializer::Zeros)?;
                assert_eq!(again.node(), w.node());
                again.mul(&again)
            })
            .unwrap();
        assert_eq!(op.op().name(), want);
    }
    let sess = Session::new(&g);
    init(&sess, &g);
    assert_eq!(vals(&sess, &w, &feed! {}), [3.0, 3.0]);
}

#[test]
fn initializers_draw_from_their_distributions() {
    let g = Graph::new();
    g.set_random_seed(7);
    let glorot = get_variable(&g, "glorot", &[200, 100], Initializer::default()).unwrap();
    let trunc = get_variable(
        &g,
        "trunc",
        &[20000],
        Initializer::TruncatedNormal {
            mean: 1.0,
            stddev: 0.5,
            seed: None,
        },
    )
    .unwrap();
    let he = get_variable(
        &g,
        "he",
        &[5, 5, 8, 16],
        Initializer::VarianceScaling {
            scale: 2.0,
            mode: rustflow::FanMode::FanIn,
            distribution: rustflow::Distribution::UntruncatedNormal,
            seed: None,
        },
    )
    .unwrap();
    let c = get_variable(&g, "c", &[3], Initializer::Constant(0.25)).unwrap();
    let sess = Session::new(&g);
    init(&sess, &g);
    let limit = (6.0f32 / 300.0).sqrt();
    let gv = vals(&sess, &glorot, &feed! {});
    assert!(gv.iter().all(|x| x.abs() <= limit));
    assert!(gv.iter().any(|x| x.abs() > 0.9 * limit), "spans the range");
    let tv = vals(&sess, &trunc, &feed! {});
    assert!(tv.iter().all(|x| (x - 1.0).abs() <= 1.0), "within 2 stddev");
    let mean = tv.iter().sum::<f32>() / tv.len() as f32;
    assert!((mean - 1.0).abs() < 0.02, "{mean}");
    let hv = vals(&sess, &he, &feed! {});
    let var = hv.iter().map(|x| x * x).sum::<f32>() / hv.len() as f32;
    let want = 2.0 / (5.0 * 5.0 * 8.0);
    assert!(
        (var / want - 1.0).abs() < 0.1,
        "variance {var}, want {want}"
    );
    assert_eq!(vals(&sess, &c, &feed! {}), [0.25; 3]);
}

#[test]
fn collections_hold_variables_updates_and_user_items() {
    let g = Graph::new();
    let w = get_variable(&g, "w", &[2], Initializer::Zeros).unwrap();
    let opts = rustflow::VariableOptions {
        initializer: Initializer::Ones,
        trainable: false,
        collections: vec!["my_vars".into()],
    };
    let counter = get_variable_with(&g, "counter", &[1], &opts).unwrap();
    let names = |key: &str| -> Vec<String> {
        g.get_collection(key)
            .iter()
            .map(|i| i.op().name())
            .collect()
    };
    assert_eq!(names(GraphKeys::GLOBAL_VARIABLES), ["w", "counter"]);
    assert_eq!(names(GraphKeys::TRAINABLE_VARIABLES), ["w"]);
    assert_eq!(names("my_vars"), ["counter"]);
    assert_eq!(
        rustflow::variables_of_collection(&g, "my_vars").unwrap()[0].node(),
        counter.node()
    );
    let loss = w.mul(&w).unwrap();
    g.add_to_collection(GraphKeys::LOSSES, &loss);
    let dec = counter.assign_sub(&g.constant([0.5f32])).unwrap();
    g.add_to_collection(GraphKeys::UPDATE_OPS, dec.op());
    assert_eq!(g.get_collection(GraphKeys::LOSSES)[0].tensor(), Some(&loss));
    assert_eq!(names(GraphKeys::UPDATE_OPS), ["AssignSub"]);
    assert!(g.get_collection("nothing").is_empty());
    // group / no_op run the update ops.
    let updates: Vec<Operation> = g
        .get_collection(GraphKeys::UPDATE_OPS)
        .iter()
        .map(|i| i.op())
        .collect();
    let all = rustflow::group(&g, &updates.iter().collect::<Vec<_>>(), "updates").unwrap();
    let nothing = rustflow::no_op(&g, "").unwrap();
    assert_eq!(nothing.op_type(), "NoOp");
    let sess = Session::new(&g);
    init(&sess, &g);
    sess.run_op(&nothing, &feed! {}).unwrap();
    sess.run_op(&all, &feed! {}).unwrap();
    sess.run_op(&all, &feed! {}).unwrap();
    assert_eq!(vals(&sess, &counter, &feed! {}), [0.0]);
}

#[test]
fn layers_name_their_variables_as_tensorflow() {
    let g = Graph::new();
    let x = g.placeholder(F32, shape![?, 6, 6, 1]);
    let c = layers::conv2d(&x, 4, [3, 3], [1, 1], nn::Padding::Same, Some(nn::relu)).unwrap();
    let p = layers::max_pooling2d(&c, [2, 2], [2, 2], nn::Padding::Valid).unwrap();
    let a = layers::average_pooling2d(&p, [1, 1], [1, 1], nn::Padding::Valid).unwrap();
    let f = layers::flatten(&a).unwrap();
    assert_eq!(f.shape().to_string(), "[?,36]");
    let h = layers::dense(&f, 8, Some(nn::relu)).unwrap();
    let bn = layers::batch_normalization(&h, true).unwrap();
    let d = layers::dropout(&bn, 0.5, false).unwrap();
    let logits = Dense::new(3).name("logits").apply(&d).unwrap();
    let _ = layers::dense(&logits, 2, None).unwrap();
    let names: Vec<String> = g
        .global_variables()
        .iter()
        .map(|v| g.node(v.node).name)
        .collect();
    assert_eq!(
        names,
        [
            "conv2d/kernel",
            "conv2d/bias",
            "dense/kernel",
            "dense/bias",
            "batch_normalization/gamma",
            "batch_normalization/beta",
            "batch_normalization/moving_mean",
            "batch_normalization/moving_variance",
            "logits/kernel",
            "logits/bias",
            "dense_1/kernel",
            "dense_1/bias",
        ]
    );
    assert_eq!(g.trainable_variables().len(), 10);
    assert_eq!(g.get_collection(GraphKeys::UPDATE_OPS).len(), 2);
    // A named layer with reuse shares its variables.
    let again = Dense::new(3)
        .name("logits")
        .reuse(Reuse::Yes)
        .apply(&d)
        .unwrap();
    assert_eq!(g.global_variables().len(), 12);
    let sess = Session::new(&g);
    init(&sess, &g);
    let xs = Value::new(&[2, 6, 6, 1], (0..72).map(|i| i as f32 / 72.0).collect()).unwrap();
    let feeds = feed! { &x => xs };
    assert_eq!(vals(&sess, &again, &feeds), vals(&sess, &logits, &feeds));
}

/// A dense layer computes `x W + b` with the kernel `[in, units]`.
/// `layers.max_pooling2d`, `average_pooling2d` and `flatten` on a 1x4x4x1 ramp, worked out by
/// hand (2x2 windows, stride 2).
#[test]
fn pooling_layers_and_flatten_by_hand() {
    let g = Graph::new();
    let x = g.placeholder(F32, shape![?, 4, 4, 1]);
    let max = layers::max_pooling2d(&x, [2, 2], [2, 2], nn::Padding::Valid).unwrap();
    let avg = layers::average_pooling2d(&x, [2, 2], [2, 2], nn::Padding::Valid).unwrap();
    let flat = layers::flatten(&max).unwrap();
    assert_eq!(flat.shape().to_string(), "[?,4]");
    let sess = Session::new(&g);
    let ramp = Value::new(&[1, 4, 4, 1], (0..16).map(|v| v as f32).collect()).unwrap();
    let feeds = feed! { &x => ramp };
    assert_eq!(vals(&sess, &max, &feeds), [5.0, 7.0, 13.0, 15.0]);
    assert_eq!(vals(&sess, &avg, &feeds), [2.5, 4.5, 10.5, 12.5]);
    assert_eq!(vals(&sess, &flat, &feeds), [5.0, 7.0, 13.0, 15.0]);
}

#[test]
fn dense_matches_a_hand_product() {
    let g = Graph::new();
    let x = g.constant([[1.0f32, 2.0], [3.0, 4.0]]);
    let y = Dense::new(3)
        .kernel_initializer(Initializer::Constant(0.5))
        .bias_initializer(Initializer::Constant(1.0))
        .apply(&x)
        .unwrap();
    let x3 = g.constant(Value::new(&[1, 2, 2], vec![1.0f32, 2.0, 3.0, 4.0]).unwrap());
    let y3 = Dense::new(3)
        .kernel_initializer(Initializer::Constant(0.5))
        .use_bias(false)
        .apply(&x3)
        .unwrap();
    assert_eq!(y3.shape().to_string(), "[1,2,3]");
    let sess = Session::new(&g);
    init(&sess, &g);
    assert_eq!(vals(&sess, &y, &feed! {}), [2.5, 2.5, 2.5, 4.5, 4.5, 4.5]);
    assert_eq!(vals(&sess, &y3, &feed! {}), [1.5, 1.5, 1.5, 3.5, 3.5, 3.5]);
}

#[test]
fn batch_normalization_follows_the_training_tensor() {
    let g = Graph::new();
    let x = g.placeholder(F32, shape![?, 2]);
    let training = g.placeholder(Bool, shape![]);
    let y = BatchNormalization::new()
        .momentum(0.9)
        .apply(&x, &training)
        .unwrap();
    let updates: Vec<Operation> = g
        .get_collection(GraphKeys::UPDATE_OPS)
        .iter()
        .map(|i| i.op())
        .collect();
    let step = rustflow::group(&g, &updates.iter().collect::<Vec<_>>(), "").unwrap();
    let mean = g
        .tensor_by_name("batch_normalization/moving_mean:0")
        .unwrap();
    let var = g
        .tensor_by_name("batch_normalization/moving_variance:0")
        .unwrap();
    let sess = Session::new(&g);
    init(&sess, &g);
    let xs = [[1.0f32, 10.0], [3.0, 10.0], [5.0, 16.0], [7.0, 16.0]];
    // Batch statistics: means 4, 13; population variances 5, 9.
    let on = feed! { &x => xs, &training => true };
    let got = vals(&sess, &y, &on);
    let eps = 1e-3f32;
    for (i, row) in xs.iter().enumerate() {
        let want = [
            (row[0] - 4.0) / (5.0 + eps).sqrt(),
            (row[1] - 13.0) / (9.0 + eps).sqrt(),
        ];
        for k in 0..2 {
            assert!((got[2 * i + k] - want[k]).abs() < 1e-5, "{got:?}");
        }
    }
    sess.run_op(&step, &on).unwrap();
    let m = vals(&sess, &mean, &feed! {});
    let v = vals(&sess, &var, &feed! {});
    assert!(
        (m[0] - 0.4).abs() < 1e-6 && (m[1] - 1.3).abs() < 1e-6,
        "{m:?}"
    );
    assert!(
        (v[0] - 1.4).abs() < 1e-6 && (v[1] - 1.8).abs() < 1e-6,
        "{v:?}"
    );
    // Evaluation uses the moving statistics and leaves them alone.
    let off = feed! { &x => xs, &training => false };
    let got = vals(&sess, &y, &off);
    let want = (1.0 - 0.4) / (1.4f32 + eps).sqrt();
    assert!((got[0] - want).abs() < 1e-5, "{got:?}");
    sess.run_op(&step, &off).unwrap();
    assert_eq!(vals(&sess, &mean, &feed! {}), m);
    // The gradient reaches gamma and beta.
    let loss = y.mul(&y).unwrap().reduce_sum(None).unwrap();
    let gamma = g.tensor_by_name("batch_normalization/gamma:0").unwrap();
    let beta = g.tensor_by_name("batch_normalization/beta:0").unwrap();
    let grads = rustflow::gradients(&[&loss], &[&gamma, &beta], None).unwrap();
    assert!(grads.iter().all(Option::is_some));
}

#[test]
fn dropout_follows_the_training_tensor() {
    let g = Graph::new();
    let x = g.placeholder(F32, shape![1000]);
    let training = g.placeholder(Bool, shape![]);
    let y = layers::dropout(&x, 0.25, &training).unwrap();
    let sess = Session::new(&g);
    let ones = vec![1.0f32; 1000];
    let off = vals(&sess, &y, &feed! { &x => ones.clone(), &training => false });
    assert_eq!(off, ones);
    let on = vals(&sess, &y, &feed! { &x => ones, &training => true });
    let kept = on.iter().filter(|&&v| v != 0.0).count();
    assert!((650..850).contains(&kept), "{kept}");
    assert!(on
        .iter()
        .all(|&v| v == 0.0 || (v - 1.0 / 0.75).abs() < 1e-6));
}

#[test]
fn a_fed_learning_rate_and_the_global_step_drive_training() {
    let g = Graph::new();
    let w = g.variable(&g.constant([1.0f32, -2.0]), "w").unwrap();
    let loss = w.mul(&w).unwrap().reduce_sum(None).unwrap();
    let lr = g.placeholder(F32, shape![]);
    let step = get_or_create_global_step(&g).unwrap();
    let gv = GradientDescentOptimizer::new(&lr)
        .compute_gradients(&loss, None)
        .unwrap();
    // A clip between compute_gradients and apply_gradients is one line.
    let gv: Vec<_> = gv
        .into_iter()
        .map(|(d, v)| {
            (
                d.map(|d| rustflow::minimum(&d, &g.constant(1.0f32)).unwrap()),
                v,
            )
        })
        .collect();
    let train = GradientDescentOptimizer::new(&lr)
        .apply_gradients(&gv, Some(&step))
        .unwrap();
    let sess = Session::new(&g);
    init(&sess, &g);
    sess.run_op(&train, &feed! { &lr => 0.5f32 }).unwrap();
    // grads (2, -4) clipped above at 1: w = (1 - 0.5, -2 + 2).
    assert_eq!(vals(&sess, &w, &feed! {}), [0.5, 0.0]);
    sess.run_op(&train, &feed! { &lr => 0.0f32 }).unwrap();
    assert_eq!(vals(&sess, &w, &feed! {}), [0.5, 0.0]);
    let s = sess.eval(&step, &feed! {}).unwrap();
    assert_eq!(s.scalar_value::<i64>().unwrap(), 2);
    // A non-scalar learning rate is refused when the graph is built.
    let bad = g.constant([0.1f32, 0.2]);
    assert!(GradientDescentOptimizer::new(&bad).minimize(&loss).is_err());
}

#[test]
fn schedules_are_tensors_of_the_global_step() {
    let g = Graph::new();
    let step = get_or_create_global_step(&g).unwrap();
    let smooth = exponential_decay(0.1, &step, 10.0, 0.5, false).unwrap();
    let stairs = exponential_decay(0.1, &step, 10.0, 0.5, true).unwrap();
    let poly = polynomial_decay(0.1, &step, 10.0, 0.01, 2.0, false).unwrap();
    let sess = Session::new(&g);
    init(&sess, &g);
    let set = step
        .assign(&g.placeholder_named(I64, shape![], "s"))
        .unwrap();
    let s_in = g.tensor_by_name("s:0").unwrap();
    for s in [0i64, 5, 10, 15, 25] {
        sess.eval(&set, &feed! { &s_in => s }).unwrap();
        let close = |t: &Tensor, want: f64| {
            let got = vals(&sess, t, &feed! {})[0] as f64;
            assert!(
                (got - want).abs() <= 1e-6 + 1e-5 * want,
                "step {s}: {got} vs {want}"
            );
        };
        close(&smooth, 0.1 * 0.5f64.powf(s as f64 / 10.0));
        close(&stairs, 0.1 * 0.5f64.powf((s / 10) as f64));
        let p = (s.min(10) as f64) / 10.0;
        close(&poly, (0.1 - 0.01) * (1.0 - p).powi(2) + 0.01);
    }
}

/// `polynomial_decay(0.1, step, 10, 0.01, power 2, cycle=True)` and
/// `piecewise_constant(step, [10, 20], [1.0, 0.5, 0.1])` at and around their boundaries;
/// the expected rates are worked out by hand from TensorFlow 1.x's formulas.
#[test]
fn cyclic_and_piecewise_schedules_at_their_boundaries() {
    let g = Graph::new();
    let step = get_or_create_global_step(&g).unwrap();
    let cyclic = polynomial_decay(0.1, &step, 10.0, 0.01, 2.0, true).unwrap();
    let piecewise = piecewise_constant(&step, &[10.0, 20.0], &[1.0, 0.5, 0.1]).unwrap();
    let sess = Session::new(&g);
    init(&sess, &g);
    let s_in = g.placeholder_named(I64, shape![], "s");
    let set = step.assign(&s_in).unwrap();
    // (step, cyclic rate, piecewise rate). At 0 the multiplier is 1; at 11 the decay runs
    // over 20 steps (p = 0.55), at 25 over 30 (p = 5/6).
    let table: [(i64, f32, f32); 9] = [
        (0, 0.1, 1.0),
        (5, 0.0325, 1.0),
        (9, 0.0109, 1.0),
        (10, 0.01, 1.0),
        (11, 0.028225, 0.5),
        (20, 0.01, 0.5),
        (21, 0.0181, 0.1),
        (25, 0.0125, 0.1),
        (1000, 0.01, 0.1),
    ];
    for (s, want_cyclic, want_piecewise) in table {
        sess.eval(&set, &feed! { &s_in => s }).unwrap();
        let got = vals(&sess, &cyclic, &feed! {})[0];
        assert!(
            (got - want_cyclic).abs() <= 1e-6 + 1e-5 * want_cyclic,
            "cyclic at {s}: {got} vs {want_cyclic}"
        );
        assert_eq!(
            vals(&sess, &piecewise, &feed! {}),
            [want_piecewise],
            "piecewise at {s}"
        );
    }
    // A float32 x, boundaries compared in its dtype; an int32 x.
    let xf = g.placeholder_named(F32, shape![], "xf");
    let pf = piecewise_constant(&xf, &[0.5, 1.5], &[3.0, 2.0, 1.0]).unwrap();
    for (x, want) in [
        (0.5f32, 3.0),
        (0.500_001, 2.0),
        (1.5, 2.0),
        (1.500_001, 1.0),
    ] {
        assert_eq!(vals(&sess, &pf, &feed! { &xf => x }), [want], "x = {x}");
    }
    let xi = g.placeholder_named(I32, shape![], "xi");
    let pi = piecewise_constant(&xi, &[-1.0], &[7.0, 8.0]).unwrap();
    assert_eq!(vals(&sess, &pi, &feed! { &xi => -1i32 }), [7.0]);
    assert_eq!(vals(&sess, &pi, &feed! { &xi => 0i32 }), [8.0]);
    // Build-time errors: value count, decreasing boundaries, a fraction for an int x.
    let err = |r: rustflow::Result<Tensor>| r.expect_err("an error").to_string();
    assert!(err(piecewise_constant(&step, &[1.0], &[1.0])).contains("one value more"));
    assert!(err(piecewise_constant(&step, &[2.0, 1.0], &[1.0, 2.0, 3.0])).contains("decrease"));
    assert!(err(piecewise_constant(&xi, &[0.5], &[1.0, 2.0])).contains("int32"));
}

#[test]
fn moving_averages_follow_the_trained_variables() {
    let g = Graph::new();
    let w = g.variable(&g.constant(4.0f32), "w").unwrap();
    let loss = w.mul(&w).unwrap();
    let train = MomentumOptimizer::new(0.25, 0.0).minimize(&loss).unwrap();
    let ema = ExponentialMovingAverage::new(0.5);
    let step = g
        .control_dependencies(&[&train], |_| ema.apply(&[&w]))
        .unwrap()
        .unwrap();
    let shadow = ema.average(&w).unwrap();
    assert_eq!(shadow.name(), "w/ExponentialMovingAverage:0");
    assert!(!g
        .trainable_variables()
        .iter()
        .any(|v| v.node == shadow.node()));
    let sess = Session::new(&g);
    init(&sess, &g);
    sess.run_op(&step, &feed! {}).unwrap();
    // w: 4 - 0.25 * 8 = 2; shadow: 4 - 0.5 * (4 - 2) = 3.
    assert_eq!(vals(&sess, &w, &feed! {}), [2.0]);
    assert_eq!(vals(&sess, &shadow, &feed! {}), [3.0]);
}

#[test]
fn adam_takes_its_hyper_parameters_as_tensors() {
    let run = |fed: bool| {
        let g = Graph::new();
        let w = g.variable(&g.constant([1.0f32, 2.0]), "w").unwrap();
        let loss = w.mul(&w).unwrap().reduce_sum(None).unwrap();
        let lr = g.placeholder(F32, shape![]);
        let b1 = g.placeholder(F32, shape![]);
        let opt = if fed {
            AdamOptimizer::new(&lr).with_beta1(&b1)
        } else {
            AdamOptimizer::new(0.1).with_beta1(0.5)
        };
        let train = opt.minimize(&loss).unwrap();
        let sess = Session::new(&g);
        sess.run_op(
            &g.global_variables_initializer().unwrap(),
            &feed! { &b1 => 0.5f32 },
        )
        .unwrap();
        for _ in 0..3 {
            sess.run_op(&train, &feed! { &lr => 0.1f32, &b1 => 0.5f32 })
                .unwrap();
        }
        vals(&sess, &w, &feed! {})
    };
    assert_eq!(run(true), run(false));
}

#[test]
fn scatter_update_and_add_write_rows_in_place() {
    let g = Graph::new();
    let v = g
        .variable(&g.constant([[1.0f32, 1.0], [2.0, 2.0], [3.0, 3.0]]), "v")
        .unwrap();
    let set =
        rustflow::scatter_update(&v, &g.constant([2i32]), &g.constant([[7.0f32, 8.0]])).unwrap();
    let add = rustflow::scatter_add(
        &v,
        &g.constant([0i64, 0]),
        &g.constant([[0.5f32, 0.5], [1.0, 1.0]]),
    )
    .unwrap();
    let bad = rustflow::scatter_add(&v, &g.constant([3i32]), &g.constant([[1.0f32, 1.0]])).unwrap();
    let sess = Session::new(&g);
    init(&sess, &g);
    assert_eq!(vals(&sess, &set, &feed! {}), [1.0, 1.0, 2.0, 2.0, 7.0, 8.0]);
    assert_eq!(vals(&sess, &add, &feed! {}), [2.5, 2.5, 2.0, 2.0, 7.0, 8.0]);
    let err = sess.eval(&bad, &feed! {}).unwrap_err().to_string();
    assert!(
        err.contains("not in [0, 3)") && err.contains("ScatterAdd"),
        "{err}"
    );
    assert_eq!(vals(&sess, &v, &feed! {}), [2.5, 2.5, 2.0, 2.0, 7.0, 8.0]);
    // No gradient flows through a scatter.
    let loss = add.reduce_sum(None).unwrap();
    let d = rustflow::gradients(&[&loss], &[&v], None);
    assert!(!matches!(d.as_deref(), Ok([Some(_)])));
}
