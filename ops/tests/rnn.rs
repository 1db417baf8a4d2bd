//! Recurrent cells, static_rnn and dynamic_rnn: TensorFlow's lstm_tiny case through both,
//! the two forms against each other, sequence lengths, and numeric gradient checks.

#[path = "../../tests/support/json.rs"]
mod json;
mod support;

use json::assert_close as close;
use rustflow_graph::{shape, DType, Graph, Tensor, Value};
use rustflow_ops::nn::{
    dynamic_rnn, sparse_softmax_cross_entropy_with_logits, static_rnn, BasicLSTMCell, BasicRNNCell,
    GRUCell, LSTMCell, MultiRNNCell, RNNCell, RnnOptions,
};
use rustflow_ops::*;
use rustflow_runtime::{FeedDict, Fetch, Session};
use support::{check_gradients, random_value};

fn value(j: &serde_json::Value) -> Value {
    json::json_value(j).unwrap()
}

/// TensorFlow's `lstm_tiny` (wave 2): forward values and gradients at the initial variables,
/// with the LSTM unrolled by `static_rnn` (as the case was made) and run by `dynamic_rnn`.
#[test]
fn lstm_tiny_matches_tensorflow_through_static_and_dynamic_rnn() {
    let dir = std::env::var("GOLDEN_WAVE2").unwrap_or("../../shared/golden/wave2".into());
    let path = format!("{dir}/lstm_tiny_T4_B3_clip5_3steps.json");
    let case: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect(&path)).unwrap();
    let input = |k: &str| value(&case["inputs"][k]);
    let want = |k: &str| value(&case["outputs"][k]);
    for dynamic in [false, true] {
        let g = Graph::new();
        let x = placeholder(&g, DType::F32, shape![4, 3, 5], "x");
        let labels = placeholder(&g, DType::I32, shape![3], "labels");
        let cell = BasicLSTMCell::new(8, 1.0);
        let (h_1, state) = if dynamic {
            let (outs, state) = dynamic_rnn(
                &cell,
                &x,
                RnnOptions {
                    time_major: true,
                    ..RnnOptions::default()
                },
            )
            .unwrap();
            (unstack(&outs, 0, None).unwrap().remove(0), state)
        } else {
            let xs = unstack(&x, 0, None).unwrap();
            let (outs, state) = static_rnn(&cell, &xs, RnnOptions::default()).unwrap();
            (outs[0].clone(), state)
        };
        let vars = cell.variables();
        assert_eq!(vars[0].op_name(), "rnn/basic_lstm_cell/kernel");
        assert_eq!(vars[1].op_name(), "rnn/basic_lstm_cell/bias");
        let w = Variable::new(&zeros(&g, &[8, 4]).unwrap(), "W").unwrap();
        let b = Variable::new(&zeros(&g, &[4]).unwrap(), "b").unwrap();
        let logits = add(&matmul(&state[1], &w).unwrap(), &b).unwrap();
        let loss = reduce_mean(
            &sparse_softmax_cross_entropy_with_logits(&labels, &logits).unwrap(),
            None,
            false,
        )
        .unwrap();
        let wrt: Vec<&Tensor> = vec![&vars[0], &vars[1], &w, &b];
        let grads = gradients(&[&loss], &wrt, None).unwrap();
        let mut feeds = FeedDict::new();
        feeds.insert(&x, input("x"));
        feeds.insert(&labels, input("labels"));
        for (t, k) in wrt.iter().zip(["kernel", "bias", "W", "b"]) {
            feeds.insert(t, input(k));
        }
        let mut fetch: Vec<Fetch> = vec![(&loss).into(), (&logits).into(), (&h_1).into()];
        fetch.push((&state[1]).into());
        fetch.push((&state[0]).into());
        fetch.extend(grads.iter().map(|d| Fetch::from(d.as_ref().unwrap())));
        let r = Session::new(&g).run(&fetch, &feeds).unwrap();
        for (k, name) in ["loss", "logits", "h_1", "h_final", "c_final"]
            .iter()
            .enumerate()
        {
            close(name, r.value(k).unwrap(), &want(name), 1e-4, 1e-5);
        }
        for (k, name) in ["dkernel", "dbias", "dW", "db"].iter().enumerate() {
            close(
                name,
                r.value(5 + k).unwrap(),
                &value(&case["grads"][name]),
                1e-3,
                1e-5,
            );
        }
    }
}

/// The outputs and final state of `cell` over x `[batch, time, depth]` by both forms.
fn both_forms(
    make: impl Fn() -> Box<dyn RNNCell>,
    x: Value,
    lengths: Option<Vec<i32>>,
) -> Vec<(Value, Value)> {
    let g = Graph::new();
    g.set_random_seed(7);
    let xt = placeholder(&g, DType::F32, x.shape().to_vec(), "x");
    let len = lengths
        .as_ref()
        .map(|l| constant(&g, Value::new(&[l.len()], l.clone()).unwrap(), "len"));
    let options = RnnOptions {
        sequence_length: len.clone(),
        ..RnnOptions::default()
    };
    let dyn_cell = make();
    let (dy_out, dy_state) = dynamic_rnn(&*dyn_cell, &xt, options.clone()).unwrap();
    let static_cell = make();
    let steps = unstack(&xt, 1, None).unwrap();
    let (st_out, st_state) = static_rnn(
        &*static_cell,
        &steps,
        RnnOptions {
            scope: "static".into(),
            ..options
        },
    )
    .unwrap();
    let st_out = stack(&st_out.iter().collect::<Vec<_>>(), 1).unwrap();
    let sess = Session::new(&g);
    sess.run_op(&global_variables_initializer(&g).unwrap(), &FeedDict::new())
        .unwrap();
    // Both cells get the same weights: the static cell's take the dynamic cell's values.
    for (a, b) in static_cell.variables().iter().zip(dyn_cell.variables()) {
        let v = sess.eval(&b, &FeedDict::new()).unwrap();
        sess.eval(&a.assign(&constant(&g, v, "w")).unwrap(), &FeedDict::new())
            .unwrap();
    }
    let mut feeds = FeedDict::new();
    feeds.insert(&xt, x);
    let mut pairs = vec![(dy_out, st_out)];
    pairs.extend(dy_state.into_iter().zip(st_state));
    pairs
        .iter()
        .map(|(a, b)| (sess.eval(a, &feeds).unwrap(), sess.eval(b, &feeds).unwrap()))
        .collect()
}

/// Makes a fresh cell of one kind.
type MakeCell = Box<dyn Fn() -> Box<dyn RNNCell>>;

#[test]
fn dynamic_rnn_equals_static_rnn_for_every_cell() {
    let cells: Vec<(&str, MakeCell)> = vec![
        ("basic_rnn", Box::new(|| Box::new(BasicRNNCell::new(4)))),
        ("gru", Box::new(|| Box::new(GRUCell::new(4)))),
        (
            "lstm_peepholes",
            Box::new(|| Box::new(LSTMCell::new(4, true, 1.0))),
        ),
        (
            "multi",
            Box::new(|| {
                Box::new(MultiRNNCell::new(vec![
                    Box::new(BasicLSTMCell::new(3, 1.0)),
                    Box::new(GRUCell::new(4)),
                ]))
            }),
        ),
    ];
    for (name, make) in &cells {
        for lengths in [None, Some(vec![5, 2])] {
            let pairs = both_forms(make, random_value(&[2, 5, 3], 21), lengths.clone());
            for (k, (a, b)) in pairs.iter().enumerate() {
                close(&format!("{name} {lengths:?} #{k}"), a, b, 1e-5, 1e-6);
            }
            if lengths.is_some() {
                // Past its length (2), the second sequence's outputs are zero.
                let out = pairs[0].0.as_slice::<f32>().unwrap();
                let width = pairs[0].0.shape()[2];
                assert!(out[(5 + 2) * width..].iter().all(|&v| v == 0.0), "{name}");
            }
        }
    }
}

#[test]
fn dynamic_rnn_gradients_match_central_differences() {
    // Inputs and initial state, batch-major, with sequence lengths 3 and 1.
    check_gradients(
        &[random_value(&[2, 3, 2], 31), random_value(&[2, 3], 32)],
        &[],
        |g, x| {
            g.set_random_seed(3);
            let cell = GRUCell::new(3);
            let len = constant(g, [3i32, 1], "len");
            let (out, state) = dynamic_rnn(
                &cell,
                &x[0],
                RnnOptions {
                    initial_state: Some(vec![x[1].clone()]),
                    sequence_length: Some(len),
                    ..RnnOptions::default()
                },
            )?;
            // The variables' initial values are constants of the graph: feed-free.
            add(
                &reduce_sum(&out, None, false)?,
                &reduce_sum(&mul(&state[0], &state[0])?, None, false)?,
            )
        },
        1e-2,
        2e-2,
        2e-3,
    );
}

/// The separate ops `BasicLSTMCell` and `LSTMCell` stand for, built here independently of
/// the fused `LSTMGates` op: `(c', h')`.
fn lstm_by_separate_ops(z: &Tensor, c: &Tensor, fb: f32, w: &[Tensor]) -> (Tensor, Tensor) {
    let gates = split(z, 4, 1).unwrap();
    let (mut i, j, mut f, mut o) = (
        gates[0].clone(),
        gates[1].clone(),
        gates[2].clone(),
        gates[3].clone(),
    );
    if let [wf, wi, _] = w {
        f = add(&f, &mul(wf, c).unwrap()).unwrap();
        i = add(&i, &mul(wi, c).unwrap()).unwrap();
    }
    let fb = constant(z.graph(), fb, "fb");
    let c2 = add(
        &mul(c, &sigmoid(&add(&f, &fb).unwrap()).unwrap()).unwrap(),
        &mul(&sigmoid(&i).unwrap(), &tanh(&j).unwrap()).unwrap(),
    )
    .unwrap();
    if let [_, _, wo] = w {
        o = add(&o, &mul(wo, &c2).unwrap()).unwrap();
    }
    let h2 = mul(&tanh(&c2).unwrap(), &sigmoid(&o).unwrap()).unwrap();
    (c2, h2)
}

#[test]
fn lstm_gates_equal_the_separate_ops_with_their_first_and_second_gradients() {
    let (b, h) = (5, 7);
    for peepholes in [false, true] {
        let g = Graph::new();
        let z = constant(&g, random_value(&[b, 4 * h], 51), "z");
        let c = constant(&g, random_value(&[b, h], 52), "c");
        let w: Vec<Tensor> = if peepholes {
            (0..3)
                .map(|k| constant(&g, random_value(&[h], 53 + k), "w"))
                .collect()
        } else {
            vec![]
        };
        let (c2, h2) = nn::lstm_gates(&z, &c, 1.0, &w).unwrap();
        let (rc2, rh2) = lstm_by_separate_ops(&z, &c, 1.0, &w);
        let u = [
            constant(&g, random_value(&[b, h], 61), "u0"),
            constant(&g, random_value(&[b, h], 62), "u1"),
        ];
        let wrt: Vec<&Tensor> = [&z, &c].into_iter().chain(&w).collect();
        // L = Σ u0 ⊙ c' + u1 ⊙ h', its gradients, and the gradients of Σ (dL/dz)²
        // (second derivatives through `LSTMGatesGrad`).
        let grads = |c2: &Tensor, h2: &Tensor| -> Vec<Tensor> {
            let loss = add(
                &reduce_sum(&mul(&u[0], c2).unwrap(), None, false).unwrap(),
                &reduce_sum(&mul(&u[1], h2).unwrap(), None, false).unwrap(),
            )
            .unwrap();
            let d: Vec<Tensor> = gradients(&[&loss], &wrt, None)
                .unwrap()
                .into_iter()
                .map(Option::unwrap)
                .collect();
            let dz2 = reduce_sum(&mul(&d[0], &d[0]).unwrap(), None, false).unwrap();
            let d2 = gradients(&[&dz2], &wrt, None).unwrap();
            let mut out = vec![c2.clone(), h2.clone()];
            out.extend(d);
            out.extend(d2.into_iter().map(Option::unwrap));
            out
        };
        let (fused, separate) = (grads(&c2, &h2), grads(&rc2, &rh2));
        let sess = Session::new(&g);
        let feeds = FeedDict::new();
        for (k, (a, r)) in fused.iter().zip(&separate).enumerate() {
            let (a, r) = (sess.eval(a, &feeds).unwrap(), sess.eval(r, &feeds).unwrap());
            if k < 2 {
                // The forward values are the separate ops' bit for bit.
                assert_eq!(a, r, "peepholes {peepholes}: output {k}");
            } else {
                close(&format!("peepholes {peepholes}: #{k}"), &a, &r, 1e-5, 1e-6);
            }
        }
    }
}

#[test]
fn lstm_gates_gradients_match_central_differences() {
    let (b, h) = (3, 2);
    let inputs = [
        random_value(&[b, 4 * h], 71),
        random_value(&[b, h], 72),
        random_value(&[h], 73),
        random_value(&[h], 74),
        random_value(&[h], 75),
    ];
    check_gradients(
        &inputs,
        &[],
        |_, x| {
            let (c2, h2) = nn::lstm_gates(&x[0], &x[1], 0.5, &x[2..])?;
            concat(&[&c2, &h2], 1)
        },
        1e-2,
        2e-2,
        2e-3,
    );
}

#[test]
fn lstm_gates_name_the_node_and_shapes_on_bad_shapes() {
    let g = Graph::new();
    let z = placeholder(&g, DType::F32, shape![?, 12], "z");
    let c = placeholder(&g, DType::F32, shape![?, 4], "c");
    let e = nn::lstm_gates(&z, &c, 1.0, &[]).unwrap_err().to_string();
    assert!(e.contains("LSTMGates") && e.contains("[?,12]"), "{e}");
    let z = placeholder(&g, DType::F32, shape![2, 16], "z2");
    let c = placeholder(&g, DType::F32, shape![3, 4], "c2");
    let e = nn::lstm_gates(&z, &c, 1.0, &[]).unwrap_err().to_string();
    assert!(e.contains("batch"), "{e}");
}
