//! Numeric gradient checks (central differences) of every op's gradient rule.

mod support;

use rustflow_ops::*;
use support::{check_gradients, random_value};

#[test]
fn matmul_all_transposes() {
    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
        let a = random_value(if ta { &[4, 3] } else { &[3, 4] }, 1);
        let b = random_value(if tb { &[5, 4] } else { &[4, 5] }, 2);
        check_gradients(
            &[a, b],
            &[],
            |_, x| matmul_t(&x[0], &x[1], ta, tb),
            1e-2,
            1e-2,
            1e-3,
        );
    }
}

#[test]
fn add_and_mul_broadcast() {
    let shapes: [(&[usize], &[usize]); 4] = [
        (&[2, 3], &[3]),
        (&[3, 1], &[1, 4]),
        (&[2, 3], &[]),
        (&[4, 1], &[4, 3]),
    ];
    for (sa, sb) in shapes {
        let (a, b) = (random_value(sa, 3), random_value(sb, 4));
        check_gradients(
            &[a.clone(), b.clone()],
            &[],
            |_, x| add(&x[0], &x[1]),
            1e-2,
            1e-2,
            1e-3,
        );
        check_gradients(&[a, b], &[], |_, x| mul(&x[0], &x[1]), 1e-2, 1e-2, 1e-3);
    }
}

#[test]
fn neg_add_n_reduce_sum() {
    let a = random_value(&[3, 4], 5);
    check_gradients(
        std::slice::from_ref(&a),
        &[],
        |_, x| neg(&x[0]),
        1e-2,
        1e-2,
        1e-3,
    );
    check_gradients(
        &[a.clone(), a.clone()],
        &[],
        |_, x| add_n(&[&x[0], &x[1], &x[0]]),
        1e-2,
        1e-2,
        1e-3,
    );
    for (axis, keep) in [
        (Axes::All, false),
        (Axes::from(0), true),
        (Axes::from(-1), false),
        (Axes::from([0, 1]), true),
    ] {
        check_gradients(
            std::slice::from_ref(&a),
            &[],
            |_, x| reduce_sum(&x[0], axis.clone(), keep),
            1e-2,
            1e-2,
            1e-3,
        );
    }
}

#[test]
fn softmax_along_a_middle_axis() {
    let x = random_value(&[2, 3, 4], 6);
    check_gradients(
        std::slice::from_ref(&x),
        &[],
        |_, x| nn::softmax_axis(&x[0], 1),
        1e-2,
        1e-2,
        1e-3,
    );
    check_gradients(
        std::slice::from_ref(&x),
        &[],
        |_, x| nn::log_softmax_axis(&x[0], -3),
        1e-2,
        1e-2,
        1e-3,
    );
    // Values: every (i, ., k) column sums to 1 and matches the last-axis softmax of its column.
    let g = rustflow_graph::Graph::new();
    let t = constant(&g, x.clone(), "x");
    let sess = rustflow_runtime::Session::new(&g);
    let y = sess
        .eval(
            &nn::softmax_axis(&t, 1).unwrap(),
            &rustflow_runtime::FeedDict::new(),
        )
        .unwrap();
    let (xs, ys) = (x.as_slice::<f32>().unwrap(), y.as_slice::<f32>().unwrap());
    for i in 0..2 {
        for k in 0..4 {
            let col: Vec<f64> = (0..3).map(|j| xs[i * 12 + j * 4 + k] as f64).collect();
            let z: f64 = col.iter().map(|v| v.exp()).sum();
            for j in 0..3 {
                let want = col[j].exp() / z;
                assert!((ys[i * 12 + j * 4 + k] as f64 - want).abs() < 1e-6);
            }
        }
    }
}
