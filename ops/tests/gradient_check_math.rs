//! Numeric gradient checks (central differences) of the gradient rules of the math, array
//! and activation ops: every op here with a gradient, at inputs away from kinks and ties.

mod support;

use rustflow_graph::{Result, Tensor, Value};
use rustflow_ops::*;
use support::{check_gradients, random_value};

const H: f32 = 1e-2;
const RTOL: f32 = 1e-2;
const ATOL: f32 = 1e-3;

/// Checks the gradient of the one-input op `f` at `x`, with step `h`.
fn check_unary(x: &Value, h: f32, f: impl Fn(&Tensor) -> Result<Tensor>) {
    check_gradients(std::slice::from_ref(x), &[], |_, t| f(&t[0]), h, RTOL, ATOL);
}

/// `random_value` mapped element-wise by `f`.
fn mapped(shape: &[usize], seed: u64, f: impl Fn(f32) -> f32) -> Value {
    let v = random_value(shape, seed);
    Value::new(
        shape,
        v.as_slice::<f32>().unwrap().iter().map(|&x| f(x)).collect(),
    )
    .unwrap()
}

/// Values on the grid `offset + 0.2 k`, so that two such tensors with offsets 0 and 0.1
/// never tie (and never come within 0.1 of each other).
fn on_grid(shape: &[usize], seed: u64, offset: f32) -> Value {
    mapped(shape, seed, |x| (x * 10.0).round() * 0.2 + offset)
}

/// Distinct values: a permutation of `0.1 * k`, so that no slice has tied maxima.
fn distinct(shape: &[usize], seed: u64) -> Value {
    let n: usize = shape.iter().product();
    let mut idx: Vec<(f32, usize)> = random_value(&[n], seed)
        .as_slice::<f32>()
        .unwrap()
        .iter()
        .copied()
        .zip(0..)
        .collect();
    idx.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut data = vec![0f32; n];
    for (rank, &(_, i)) in idx.iter().enumerate() {
        data[i] = 0.1 * rank as f32 - 0.05 * n as f32;
    }
    Value::new(shape, data).unwrap()
}

/// Away from 0 by at least 0.1.
fn off_zero(shape: &[usize], seed: u64) -> Value {
    mapped(shape, seed, |x| if x < 0.0 { x - 0.1 } else { x + 0.1 })
}

const BROADCASTS: [(&[usize], &[usize]); 5] = [
    (&[2, 3], &[2, 3]),
    (&[2, 3], &[3]),
    (&[3, 1], &[1, 4]),
    (&[2, 3], &[]),
    (&[4, 1], &[4, 3]),
];

#[test]
fn sub_broadcast() {
    for (sa, sb) in BROADCASTS {
        let (a, b) = (random_value(sa, 3), random_value(sb, 4));
        check_gradients(&[a, b], &[], |_, x| sub(&x[0], &x[1]), H, RTOL, ATOL);
    }
}

#[test]
fn div_broadcast() {
    for (sa, sb) in BROADCASTS {
        // Divisors in [0.5, 1.5] in magnitude, away from 0.
        let a = random_value(sa, 5);
        let b = mapped(sb, 6, |x| if x < 0.0 { x - 0.5 } else { x + 0.5 });
        check_gradients(&[a, b], &[], |_, x| div(&x[0], &x[1]), 1e-3, RTOL, ATOL);
    }
}

#[test]
fn maximum_and_minimum_broadcast() {
    for (sa, sb) in BROADCASTS {
        let (a, b) = (on_grid(sa, 7, 0.0), on_grid(sb, 8, 0.1));
        check_gradients(
            &[a.clone(), b.clone()],
            &[],
            |_, x| maximum(&x[0], &x[1]),
            H,
            RTOL,
            ATOL,
        );
        check_gradients(&[a, b], &[], |_, x| minimum(&x[0], &x[1]), H, RTOL, ATOL);
    }
}

#[test]
fn unary_float_ops() {
    let any = random_value(&[3, 4], 9);
    let positive = mapped(&[3, 4], 10, |x| x.abs() + 0.5);
    let h = 1e-3;
    for f in [exp, square, sigmoid, tanh] {
        check_unary(&any, h, f);
    }
    for f in [log, sqrt] {
        check_unary(&positive, h, f);
    }
    check_unary(&off_zero(&[3, 4], 11), H, abs);
    // Saturating inputs of sigmoid and tanh.
    let wide = mapped(&[2, 5], 12, |x| x * 6.0);
    for f in [sigmoid, tanh] {
        check_unary(&wide, h, f);
    }
}

#[test]
fn relu_and_its_gradient_op() {
    let x = off_zero(&[2, 3, 4], 13);
    check_unary(&x, H, nn::relu);
    // ReluGrad is linear in its upstream input: d/d(dy) passes where y > 0.
    let dy = random_value(&[2, 3, 4], 14);
    check_gradients(
        &[dy, x],
        &[0],
        |_, t| nn::relu_grad(&t[0], &nn::relu(&t[1])?),
        H,
        RTOL,
        ATOL,
    );
}

#[test]
fn softmax_and_log_softmax() {
    for shape in [&[4usize, 5][..], &[2, 3, 4], &[6]] {
        let z = mapped(shape, 15, |x| 3.0 * x);
        check_unary(&z, 1e-3, nn::softmax);
        check_unary(&z, 1e-3, nn::log_softmax);
    }
}

/// The reductions' axis choices: all, one (negative too), several, with and without kept
/// dimensions.
fn axis_choices() -> [(Axes, bool); 6] {
    [
        (Axes::All, false),
        (Axes::All, true),
        (Axes::from(0), false),
        (Axes::from(-1), true),
        (Axes::from([0, 2]), false),
        (Axes::from(1), true),
    ]
}

#[test]
fn reduce_mean_every_axis_choice() {
    let x = random_value(&[3, 4, 2], 16);
    for (axis, keep) in axis_choices() {
        check_unary(&x, H, |t| reduce_mean(t, axis.clone(), keep));
    }
}

#[test]
fn reduce_max_every_axis_choice() {
    let x = distinct(&[3, 4, 2], 17);
    for (axis, keep) in axis_choices() {
        check_unary(&x, H, |t| reduce_max(t, axis.clone(), keep));
    }
}

#[test]
fn reshape_and_transpose() {
    let x = random_value(&[2, 3, 4], 18);
    check_unary(&x, H, |t| reshape(t, &[-1, 4]));
    check_unary(&x, H, |t| reshape(t, &[4, 3, 2]));
    check_unary(&x, H, |t| transpose(t, None));
    for p in [[0, 2, 1], [1, 2, 0], [2, 0, 1]] {
        check_unary(&x, H, |t| transpose(t, Some(&p)));
    }
    let y = random_value(&[6, 4], 19);
    check_gradients(
        &[y, x],
        &[0],
        |_, t| reshape_like(&t[0], &t[1]),
        H,
        RTOL,
        ATOL,
    );
}

#[test]
fn a_small_network_of_these_ops() {
    // softmax(relu(x W) / s) with a cross-entropy built from log, through reshape and
    // transpose: every rule composes.
    let x = random_value(&[3, 4], 20);
    let w = off_zero(&[4, 2, 3], 21);
    let labels = mapped(&[3, 6], 22, |v| v.abs());
    check_gradients(
        &[x, w, labels],
        &[0, 1],
        |g, t| {
            let w = reshape(&t[1], &[4, 6])?;
            let h = nn::relu(&matmul(&t[0], &w)?)?;
            let s = constant(g, 2.0f32, "s");
            let y = nn::softmax(&transpose(&transpose(&div(&h, &s)?, None)?, None)?)?;
            let ce = neg(&reduce_sum(&mul(&t[2], &log(&y)?)?, 1, false)?)?;
            reduce_mean(&ce, None, false)
        },
        1e-3,
        2e-2,
        2e-3,
    );
}
