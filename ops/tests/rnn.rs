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
