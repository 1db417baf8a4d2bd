//! The math and array ops (and `nn::relu`, `nn::softmax`, `nn::log_softmax`) against
//! independent references: hand-computed values and naive reference loops written here
//! (TensorFlow's own numbers from the golden files are checked by the workspace's
//! `tests/golden.rs`). Also the tie rules, TensorFlow's error texts, and reshape's no-copy
//! promise.

mod support;

use rustflow_graph::{shape, DType, Error, Graph, Tensor, Value};
use rustflow_ops::*;
use rustflow_runtime::{FeedDict, Session};
use std::sync::Arc;
use support::random_value;

// ---------------------------------------------------------------------------------------
// Helpers

fn f32s(v: &Value) -> Vec<f32> {
    v.as_slice::<f32>().unwrap().to_vec()
}

fn eval(t: &Tensor, feeds: &FeedDict) -> Value {
    Session::new(t.graph()).eval(t, feeds).expect("run")
}

fn eval_const(t: &Tensor) -> Value {
    eval(t, &FeedDict::new())
}

fn run_err(t: &Tensor, feeds: &FeedDict) -> String {
    Session::new(t.graph())
        .eval(t, feeds)
        .unwrap_err()
        .to_string()
}

fn assert_close(what: &str, got: &[f32], want: &[f64], rtol: f64, atol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        let ok = if w.is_infinite() || w.is_nan() {
            (g as f64 == w) || (w.is_nan() && g.is_nan())
        } else {
            (g as f64 - w).abs() <= atol + rtol * w.abs()
        };
        assert!(ok, "{what}: element {i}: got {g}, want {w}");
    }
}

/// The gradient of `reduce_sum(y * u)` with respect to `x`, evaluated.
fn vjp(y: &Tensor, x: &Tensor, u: Value, feeds: &FeedDict) -> Option<Value> {
    let g = y.graph();
    let loss = reduce_sum(&mul(y, &constant(g, u, "U")).unwrap(), None, false).unwrap();
    let d = gradients(&[&loss], &[x], None).unwrap().remove(0)?;
    Some(eval(&d, feeds))
}

fn grad_of(y: &Tensor, x: &Tensor, feeds: &FeedDict) -> Option<Value> {
    let d = gradients(&[y], &[x], None).unwrap().remove(0)?;
    Some(eval(&d, feeds))
}

fn c(g: &Graph, v: impl Into<Value>) -> Tensor {
    constant(g, v, "")
}

// ---------------------------------------------------------------------------------------
// Forward values

#[test]
fn binary_ops_forward_with_broadcasting() {
    let g = Graph::new();
    let a = c(&g, [[1.0f32, -2.0, 3.0], [4.0, 5.0, -6.0]]);
    let b = c(&g, [2.0f32, 4.0, -3.0]);
    let s = c(&g, 2.0f32);
    assert_eq!(
        f32s(&eval_const(&sub(&a, &b).unwrap())),
        [-1.0, -6.0, 6.0, 2.0, 1.0, -3.0]
    );
    assert_eq!(
        f32s(&eval_const(&sub(&s, &a).unwrap())),
        [1.0, 4.0, -1.0, -2.0, -3.0, 8.0]
    );
    assert_eq!(
        f32s(&eval_const(&div(&a, &b).unwrap())),
        [0.5, -0.5, -1.0, 2.0, 1.25, 2.0]
    );
    assert_eq!(
        f32s(&eval_const(&div(&a, &s).unwrap())),
        [0.5, -1.0, 1.5, 2.0, 2.5, -3.0]
    );
    assert_eq!(
        f32s(&eval_const(&maximum(&a, &b).unwrap())),
        [2.0, 4.0, 3.0, 4.0, 5.0, -3.0]
    );
    assert_eq!(
        f32s(&eval_const(&minimum(&a, &b).unwrap())),
        [1.0, -2.0, -3.0, 2.0, 4.0, -6.0]
    );
    // Column broadcast against a row: [2,1] - [1,3].
    let col = c(&g, [[10.0f32], [20.0]]);
    let row = c(&g, [[1.0f32, 2.0, 3.0]]);
    let d = eval_const(&sub(&col, &row).unwrap());
    assert_eq!(d.shape(), &[2, 3]);
    assert_eq!(f32s(&d), [9.0, 8.0, 7.0, 19.0, 18.0, 17.0]);
    // Integer sub, maximum and minimum.
    let i = c(&g, [5i32, -3, 7]);
    let j = c(&g, [2i32, 4, 7]);
    assert_eq!(
        eval_const(&sub(&i, &j).unwrap()).as_slice::<i32>().unwrap(),
        &[3, -7, 0]
    );
    assert_eq!(
        eval_const(&maximum(&i, &j).unwrap())
            .as_slice::<i32>()
            .unwrap(),
        &[5, 4, 7]
    );
    assert_eq!(
        eval_const(&minimum(&i, &j).unwrap())
            .as_slice::<i32>()
            .unwrap(),
        &[2, -3, 7]
    );
}

#[test]
fn unary_ops_forward_match_std() {
    let g = Graph::new();
    let xs = [-3.0f32, -0.5, 0.0, 0.25, 1.0, 2.5];
    let x = c(&g, xs);
    type F = fn(&Tensor) -> rustflow_graph::Result<Tensor>;
    type Case = (&'static str, F, fn(f64) -> f64);
    let cases: [Case; 6] = [
        ("exp", exp, f64::exp),
        ("square", square, |v| v * v),
        ("sigmoid", sigmoid, |v| 1.0 / (1.0 + (-v).exp())),
        ("tanh", tanh, f64::tanh),
        ("abs", abs, f64::abs),
        ("relu", nn::relu, |v| v.max(0.0)),
    ];
    for (name, f, reference) in cases {
        let got = eval_const(&f(&x).unwrap());
        let want: Vec<f64> = xs.iter().map(|&v| reference(v as f64)).collect();
        assert_close(name, &f32s(&got), &want, 1e-6, 1e-7);
    }
    let pos = [0.0f32, 0.25, 1.0, 2.0, 100.0];
    let p = c(&g, pos);
    let want_log: Vec<f64> = pos.iter().map(|&v| (v as f64).ln()).collect();
    assert_close(
        "log",
        &f32s(&eval_const(&log(&p).unwrap())),
        &want_log,
        1e-6,
        1e-7,
    );
    let want_sqrt: Vec<f64> = pos.iter().map(|&v| (v as f64).sqrt()).collect();
    assert_close(
        "sqrt",
        &f32s(&eval_const(&sqrt(&p).unwrap())),
        &want_sqrt,
        1e-6,
        1e-7,
    );
    // Saturated sigmoid stays in [0, 1] and finite: exactly 1 and 0 far out, and at -100
    // within an ulp of the subnormal e^-100 / (1 + e^-100) (3.7e-44).
    let big = c(&g, [-100.0f32, 100.0, -1000.0, 1000.0]);
    let s = f32s(&eval_const(&sigmoid(&big).unwrap()));
    let exact = ((-100f64).exp() / (1.0 + (-100f64).exp())) as f32;
    assert!(
        exact > 0.0 && s[0].to_bits().abs_diff(exact.to_bits()) <= 1,
        "sigmoid(-100) = {}",
        s[0]
    );
    assert_eq!(s[1..], [1.0, 0.0, 1.0]);
}

/// Softmax and log-softmax along the last axis, by a naive f64 loop.
fn naive_softmax(z: &[f32], c: usize, log: bool) -> Vec<f64> {
    z.chunks(c)
        .flat_map(|row| {
            let m = row.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b as f64));
            let s: f64 = row.iter().map(|&v| (v as f64 - m).exp()).sum();
            row.iter()
                .map(move |&v| {
                    if log {
                        v as f64 - m - s.ln()
                    } else {
                        (v as f64 - m).exp() / s
                    }
                })
                .collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn softmax_and_log_softmax_match_naive_and_stay_finite() {
    let g = Graph::new();
    let x = placeholder(&g, DType::F32, shape![?, 2, 5], "x");
    let v = random_value(&[3, 2, 5], 7);
    let mut feeds = FeedDict::new();
    feeds.insert(&x, v.clone());
    let sm = nn::softmax(&x).unwrap();
    let lsm = nn::log_softmax(&x).unwrap();
    assert_eq!(sm.shape().to_string(), "[?,2,5]");
    assert_close(
        "softmax",
        &f32s(&eval(&sm, &feeds)),
        &naive_softmax(&f32s(&v), 5, false),
        1e-6,
        1e-7,
    );
    assert_close(
        "log_softmax",
        &f32s(&eval(&lsm, &feeds)),
        &naive_softmax(&f32s(&v), 5, true),
        1e-6,
        1e-6,
    );
    // Logits of ±1000 stay finite, and so do the gradients.
    let big = c(
        &g,
        [[1000.0f32, -1000.0, 999.0], [-1000.0, -1000.0, -1000.0]],
    );
    let s = eval_const(&nn::softmax(&big).unwrap());
    let want = naive_softmax(
        &[1000.0, -1000.0, 999.0, -1000.0, -1000.0, -1000.0],
        3,
        false,
    );
    assert_close("softmax large", &f32s(&s), &want, 1e-6, 1e-7);
    let l = eval_const(&nn::log_softmax(&big).unwrap());
    assert!(f32s(&l).iter().all(|v| v.is_finite()), "{l:?}");
    let want = naive_softmax(
        &[1000.0, -1000.0, 999.0, -1000.0, -1000.0, -1000.0],
        3,
        true,
    );
    assert_close("log_softmax large", &f32s(&l), &want, 1e-6, 1e-5);
    for y in [nn::softmax(&big).unwrap(), nn::log_softmax(&big).unwrap()] {
        let d = vjp(&y, &big, random_value(&[2, 3], 3), &FeedDict::new()).unwrap();
        assert!(f32s(&d).iter().all(|v| v.is_finite()), "{d:?}");
    }
    // Each softmax row sums to 1.
    for row in f32s(&eval(&sm, &feeds)).chunks(5) {
        assert!((row.iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }
}

#[test]
fn reductions_forward() {
    let g = Graph::new();
    let x = c(
        &g,
        [
            [1.0f32, 5.0, -2.0, 4.0],
            [3.0, -1.0, 0.5, 8.0],
            [2.0, 2.0, 2.0, 2.0],
        ],
    );
    let mean = |axis: Axes, keep| eval_const(&reduce_mean(&x, axis, keep).unwrap());
    let max = |axis: Axes, keep| eval_const(&reduce_max(&x, axis, keep).unwrap());
    assert_eq!(f32s(&mean(Axes::All, false)), [26.5 / 12.0]);
    assert_eq!(mean(Axes::All, true).shape(), &[1, 1]);
    assert_eq!(
        f32s(&mean(0.into(), false)),
        [2.0, 2.0, 0.5 / 3.0, 14.0 / 3.0]
    );
    let m1 = mean((-1).into(), true);
    assert_eq!(m1.shape(), &[3, 1]);
    assert_eq!(f32s(&m1), [2.0, 2.625, 2.0]);
    assert_eq!(f32s(&max(Axes::All, false)), [8.0]);
    assert_eq!(f32s(&max(0.into(), false)), [3.0, 5.0, 2.0, 8.0]);
    let mx = max(1.into(), true);
    assert_eq!(mx.shape(), &[3, 1]);
    assert_eq!(f32s(&mx), [5.0, 8.0, 2.0]);
    assert_eq!(f32s(&max([0, 1].into(), false)), [8.0]);
    // Integer max.
    let i = c(&g, [[1i64, -7], [9, 3]]);
    assert_eq!(
        eval_const(&reduce_max(&i, 1, false).unwrap())
            .as_slice::<i64>()
            .unwrap(),
        &[1, 9]
    );
}

#[test]
fn integer_reduce_mean_truncates_toward_zero() {
    let g = Graph::new();
    let m = reduce_mean(&c(&g, [1i32, 2]), None, false).unwrap();
    assert_eq!(m.dtype(), DType::I32);
    assert_eq!(eval_const(&m).as_slice::<i32>().unwrap(), &[1]);
    let m = reduce_mean(&c(&g, [[-1i64, -2], [7, 0]]), 1, false).unwrap();
    assert_eq!(eval_const(&m).as_slice::<i64>().unwrap(), &[-1, 3]);
    // int32 sums do not wrap before the division.
    let big = c(&g, [i32::MAX, i32::MAX]);
    let m = reduce_mean(&big, None, false).unwrap();
    assert_eq!(eval_const(&m).as_slice::<i32>().unwrap(), &[i32::MAX]);
}

#[test]
fn argmax_equal_cast_and_the_accuracy_expression() {
    let g = Graph::new();
    let x = c(
        &g,
        [
            [1.0f32, 5.0, 5.0, 2.0],
            [7.0, 7.0, 7.0, 7.0],
            [-1.0, -3.0, 0.0, -0.5],
        ],
    );
    let a0 = argmax(&x, 0).unwrap();
    let a1 = argmax(&x, -1).unwrap();
    assert_eq!(a1.dtype(), DType::I64);
    // Ties: the smallest index wins.
    assert_eq!(eval_const(&a1).as_slice::<i64>().unwrap(), &[1, 0, 2]);
    assert_eq!(eval_const(&a0).as_slice::<i64>().unwrap(), &[1, 1, 1, 1]);
    let e = equal(&a1, &c(&g, [1i64, 3, 2])).unwrap();
    assert_eq!(e.dtype(), DType::Bool);
    assert_eq!(
        eval_const(&e).as_slice::<bool>().unwrap(),
        &[true, false, true]
    );
    // Broadcasting equal.
    let eb = equal(&x, &c(&g, 7.0f32)).unwrap();
    assert_eq!(eval_const(&eb).shape(), &[3, 4]);
    assert_eq!(eval_const(&eb).as_slice::<bool>().unwrap()[4..8], [true; 4]);
    let f = cast(&e, DType::F32).unwrap();
    assert_eq!(f32s(&eval_const(&f)), [1.0, 0.0, 1.0]);
    let acc = reduce_mean(&f, None, false).unwrap();
    assert!((eval_const(&acc).scalar_value::<f32>().unwrap() - 2.0 / 3.0).abs() < 1e-7);
    // Through the methods, as the tutorial writes it.
    let y = placeholder(&g, DType::F32, shape![?, 3], "y");
    let y_ = placeholder(&g, DType::F32, shape![?, 3], "y_");
    let correct = y.argmax(1).unwrap().equal(&y_.argmax(1).unwrap()).unwrap();
    let accuracy = correct.cast(DType::F32).unwrap().reduce_mean(None).unwrap();
    let mut feeds = FeedDict::new();
    feeds.insert(
        &y,
        Value::from([
            [0.1f32, 0.8, 0.1],
            [0.5, 0.2, 0.3],
            [0.0, 0.0, 1.0],
            [0.3, 0.3, 0.4],
        ]),
    );
    feeds.insert(
        &y_,
        Value::from([
            [0.0f32, 1.0, 0.0],
            [0.0, 1.0, 0.0],
            [0.0, 0.0, 1.0],
            [1.0, 0.0, 0.0],
        ]),
    );
    assert_eq!(eval(&accuracy, &feeds).scalar_value::<f32>().unwrap(), 0.5);
    // No gradient through argmax, equal or a cast from bool.
    assert!(gradients(&[&accuracy], &[&y], None).unwrap()[0].is_none());
}

#[test]
fn cast_conversions() {
    let g = Graph::new();
    let f = c(&g, [1.7f32, -1.7, 0.0, 2.0, -0.2]);
    assert_eq!(
        eval_const(&cast(&f, DType::I32).unwrap())
            .as_slice::<i32>()
            .unwrap(),
        &[1, -1, 0, 2, 0]
    );
    assert_eq!(
        eval_const(&cast(&f, DType::I64).unwrap())
            .as_slice::<i64>()
            .unwrap(),
        &[1, -1, 0, 2, 0]
    );
    assert_eq!(
        eval_const(&cast(&f, DType::Bool).unwrap())
            .as_slice::<bool>()
            .unwrap(),
        &[true, true, false, true, true]
    );
    let b = c(&g, [true, false]);
    assert_eq!(
        eval_const(&cast(&b, DType::I64).unwrap())
            .as_slice::<i64>()
            .unwrap(),
        &[1, 0]
    );
    let i = c(&g, [3i64, -4]);
    assert_eq!(
        f32s(&eval_const(&cast(&i, DType::F32).unwrap())),
        [3.0, -4.0]
    );
    assert_eq!(
        eval_const(&cast(&i, DType::I32).unwrap())
            .as_slice::<i32>()
            .unwrap(),
        &[3, -4]
    );
    // A cast to the same dtype is the tensor itself.
    assert_eq!(cast(&f, DType::F32).unwrap(), f);
    // Gradients: none from or to a non-float type.
    let x = placeholder(&g, DType::F32, shape![2], "x");
    let xi = cast(&x, DType::I32).unwrap();
    let back = cast(&xi, DType::F32).unwrap();
    assert!(gradients(&[&back], &[&x], None).unwrap()[0].is_none());
}

/// Transpose by a naive index loop.
fn naive_transpose(x: &[f32], shape: &[usize], perm: &[usize]) -> (Vec<usize>, Vec<f64>) {
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let n: usize = shape.iter().product();
    let mut out = vec![0f64; n];
    for (flat, &v) in x.iter().enumerate() {
        let mut idx = vec![0; shape.len()];
        let mut r = flat;
        for d in (0..shape.len()).rev() {
            idx[d] = r % shape[d];
            r /= shape[d];
        }
        let mut o = 0;
        for (d, &p) in perm.iter().enumerate() {
            o = o * out_shape[d] + idx[p];
        }
        out[o] = v as f64;
    }
    (out_shape, out)
}

#[test]
fn transpose_matches_naive_for_every_perm_of_rank_3() {
    let g = Graph::new();
    let v = random_value(&[2, 3, 4], 11);
    let x = placeholder(&g, DType::F32, shape![?, 3, 4], "x");
    let mut feeds = FeedDict::new();
    feeds.insert(&x, v.clone());
    let perms: [[usize; 3]; 6] = [
        [0, 1, 2],
        [0, 2, 1],
        [1, 0, 2],
        [1, 2, 0],
        [2, 0, 1],
        [2, 1, 0],
    ];
    for p in perms {
        let y = transpose(&x, Some(&p)).unwrap();
        let got = eval(&y, &feeds);
        let (shape, want) = naive_transpose(&f32s(&v), &[2, 3, 4], &p);
        assert_eq!(got.shape(), &shape[..], "perm {p:?}");
        assert_close(&format!("perm {p:?}"), &f32s(&got), &want, 0.0, 0.0);
    }
    let rev = eval(&transpose(&x, None).unwrap(), &feeds);
    let (shape, want) = naive_transpose(&f32s(&v), &[2, 3, 4], &[2, 1, 0]);
    assert_eq!(rev.shape(), &shape[..]);
    assert_close("reverse", &f32s(&rev), &want, 0.0, 0.0);
    // Other dtypes and an unknown rank.
    let i = c(&g, [[1i64, 2, 3], [4, 5, 6]]);
    assert_eq!(
        eval_const(&i.transpose(None).unwrap())
            .as_slice::<i64>()
            .unwrap(),
        &[1, 4, 2, 5, 3, 6]
    );
    let u = placeholder(&g, DType::F32, rustflow_graph::Shape::unknown(), "u");
    let ut = transpose(&u, None).unwrap();
    assert_eq!(ut.shape().to_string(), "<unknown>");
    let mut f = FeedDict::new();
    f.insert(&u, Value::from([[1.0f32, 2.0], [3.0, 4.0]]));
    assert_eq!(f32s(&eval(&ut, &f)), [1.0, 3.0, 2.0, 4.0]);
}

#[test]
fn reshape_infers_shapes_and_does_not_copy() {
    let g = Graph::new();
    let x = placeholder(&g, DType::F32, shape![?, 784], "x");
    let img = reshape(&x, &[-1, 28, 28, 1]).unwrap();
    assert_eq!(img.shape().to_string(), "[?,28,28,1]");
    assert_eq!(img.op().name(), "Reshape");
    let k = placeholder(&g, DType::F32, shape![2, 3, 4], "k");
    assert_eq!(reshape(&k, &[-1, 4]).unwrap().shape().to_string(), "[6,4]");
    assert_eq!(reshape(&k, &[24]).unwrap().shape().to_string(), "[24]");
    assert_eq!(
        reshape(&k, &[2, -1, 3]).unwrap().shape().to_string(),
        "[2,4,3]"
    );
    // No copy: the output shares the input's buffer.
    let v = random_value(&[2, 784], 5);
    let mut feeds = FeedDict::new();
    feeds.insert(&x, v.clone());
    let out = eval(&img, &feeds);
    assert_eq!(out.shape(), &[2, 28, 28, 1]);
    assert!(Arc::ptr_eq(
        out.shared::<f32>().unwrap(),
        v.shared::<f32>().unwrap()
    ));
    // Scalars and integers.
    let s = c(&g, [7i32]);
    let r = reshape(&s, &[]).unwrap();
    assert_eq!(r.shape().to_string(), "[]");
    assert_eq!(eval_const(&r).scalar_value::<i32>().unwrap(), 7);
}

// ---------------------------------------------------------------------------------------
// Tie rules and kinks

#[test]
fn reduce_max_splits_the_gradient_among_ties() {
    let g = Graph::new();
    let x = c(&g, [[3.0f32, 1.0, 3.0]]);
    let y = reduce_max(&x, 1, false).unwrap();
    assert_eq!(
        f32s(&grad_of(&y, &x, &FeedDict::new()).unwrap()),
        [0.5, 0.0, 0.5]
    );
    let x = c(&g, [[2.0f32, 2.0, 2.0], [1.0, 4.0, 0.0]]);
    let y = reduce_max(&x, None, true).unwrap();
    assert_eq!(
        f32s(&grad_of(&y, &x, &FeedDict::new()).unwrap()),
        [0.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    );
    let y = reduce_max(&x, 1, true).unwrap();
    let d = f32s(&vjp(&y, &x, Value::from([[3.0f32], [5.0]]), &FeedDict::new()).unwrap());
    assert_eq!(d, [1.0, 1.0, 1.0, 0.0, 5.0, 0.0]);
    let y = reduce_max(&x, 0, false).unwrap();
    let d = f32s(&vjp(&y, &x, Value::from([1.0f32, 2.0, 4.0]), &FeedDict::new()).unwrap());
    assert_eq!(d, [1.0, 0.0, 4.0, 0.0, 2.0, 0.0]);
}

#[test]
fn maximum_and_minimum_send_ties_to_the_first_argument() {
    let g = Graph::new();
    let p = c(&g, [1.0f32, 2.0, 3.0]);
    let q = c(&g, [1.0f32, 5.0, 0.0]);
    for (y, dp, dq) in [
        (
            maximum(&p, &q).unwrap(),
            [1.0f32, 0.0, 1.0],
            [0.0f32, 1.0, 0.0],
        ),
        (minimum(&p, &q).unwrap(), [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]),
    ] {
        let d = gradients(&[&y], &[&p, &q], None).unwrap();
        assert_eq!(f32s(&eval_const(d[0].as_ref().unwrap())), dp);
        assert_eq!(f32s(&eval_const(d[1].as_ref().unwrap())), dq);
    }
    // Broadcast: a scalar q collects every element where it was chosen.
    let s = c(&g, 2.0f32);
    let y = maximum(&p, &s).unwrap();
    let d = gradients(&[&y], &[&p, &s], None).unwrap();
    assert_eq!(f32s(&eval_const(d[0].as_ref().unwrap())), [0.0, 1.0, 1.0]);
    assert_eq!(eval_const(d[1].as_ref().unwrap()).shape(), &[] as &[usize]);
    assert_eq!(f32s(&eval_const(d[1].as_ref().unwrap())), [1.0]);
}

#[test]
fn relu_kinks_and_infinite_derivatives() {
    let g = Graph::new();
    let x = c(&g, [-1.0f32, 0.0, 2.0, -0.0]);
    let y = nn::relu(&x).unwrap();
    assert_eq!(f32s(&eval_const(&y)), [0.0, 0.0, 2.0, 0.0]);
    // relu'(0) = 0: the gradient passes only where x > 0.
    assert_eq!(
        f32s(&grad_of(&y, &x, &FeedDict::new()).unwrap()),
        [0.0, 0.0, 1.0, 0.0]
    );
    // log'(0) = sqrt'(0) = inf.
    let z = c(&g, [0.0f32, 4.0]);
    assert_eq!(
        f32s(&grad_of(&log(&z).unwrap(), &z, &FeedDict::new()).unwrap()),
        [f32::INFINITY, 0.25]
    );
    assert_eq!(
        f32s(&grad_of(&sqrt(&z).unwrap(), &z, &FeedDict::new()).unwrap()),
        [f32::INFINITY, 0.25]
    );
    // abs'(0) = 0.
    let a = c(&g, [-2.0f32, 0.0, 3.0]);
    assert_eq!(
        f32s(&grad_of(&abs(&a).unwrap(), &a, &FeedDict::new()).unwrap()),
        [-1.0, 0.0, 1.0]
    );
}

#[test]
fn gradients_with_an_unknown_batch_size() {
    // reshape and reduce_mean gradients use the run-time shapes.
    let g = Graph::new();
    let x = placeholder(&g, DType::F32, shape![?, 6], "x");
    let r = reshape(&x, &[-1, 2, 3]).unwrap();
    let t = transpose(&r, Some(&[0, 2, 1])).unwrap();
    let loss = reduce_mean(&square(&t).unwrap(), None, false).unwrap();
    let dx = gradients(&[&loss], &[&x], None).unwrap().remove(0).unwrap();
    assert_eq!(dx.shape().to_string(), "[?,6]");
    let v = random_value(&[4, 6], 1);
    let mut feeds = FeedDict::new();
    feeds.insert(&x, v.clone());
    let got = eval(&dx, &feeds);
    assert_eq!(got.shape(), &[4, 6]);
    let want: Vec<f64> = f32s(&v).iter().map(|&a| 2.0 * a as f64 / 24.0).collect();
    assert_close("d mean(x^2)", &f32s(&got), &want, 1e-6, 1e-7);
}

#[test]
fn no_gradients_through_argmax_and_equal() {
    let g = Graph::new();
    let x = placeholder(&g, DType::F32, shape![2, 3], "x");
    let a = cast(&argmax(&x, 1).unwrap(), DType::F32).unwrap();
    assert!(gradients(&[&a], &[&x], None).unwrap()[0].is_none());
    let e = cast(&equal(&x, &x).unwrap(), DType::F32).unwrap();
    assert!(gradients(&[&e], &[&x], None).unwrap()[0].is_none());
}

// ---------------------------------------------------------------------------------------
// Errors

#[test]
fn reshape_build_time_errors() {
    let g = Graph::new();
    let x = placeholder(&g, DType::F32, shape![2, 3], "x");
    let e = reshape(&x, &[-1, 4]).unwrap_err();
    assert!(matches!(e, Error::Shape { .. }), "{e:?}");
    assert_eq!(
        e.to_string(),
        "Dimension size must be evenly divisible by 4 but is 6 for 'Reshape' (op: 'Reshape') with input shapes: [2,3]"
    );
    let e = reshape(&x, &[5]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Cannot reshape a tensor with 6 elements to shape [5] (5 elements) for 'Reshape' (op: 'Reshape') with input shapes: [2,3]"
    );
    let e = reshape(&x, &[-1, -1]).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("Only one input size may be -1, not both 0 and 1 for 'Reshape'"),
        "{e}"
    );
    let e = reshape(&x, &[3, -2]).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("Size 1 must be non-negative, not -2"),
        "{e}"
    );
    // Two -1s are refused even when the element count is unknown.
    let u = placeholder(&g, DType::F32, shape![?, 3], "u");
    assert!(reshape(&u, &[-1, 3, -1])
        .unwrap_err()
        .to_string()
        .contains("not both 0 and 2"));
    // Nothing was added by the failed builds.
    assert_eq!(reshape(&x, &[6]).unwrap().op().name(), "Reshape");
}

#[test]
fn reshape_run_time_errors() {
    let g = Graph::new();
    let x = placeholder(&g, DType::F32, shape![?, 3], "x");
    let mut feeds = FeedDict::new();
    feeds.insert(&x, Value::from([[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]]));
    let e = run_err(&reshape(&x, &[-1, 4]).unwrap(), &feeds);
    assert!(
        e.starts_with("Input to reshape is a tensor with 6 values, but the requested shape requires a multiple of 4"),
        "{e}"
    );
    assert!(e.contains("Reshape_1") || e.contains("Reshape"), "{e}");
    let e = run_err(&reshape(&x, &[5]).unwrap(), &feeds);
    assert!(
        e.starts_with("Input to reshape is a tensor with 6 values, but the requested shape has 5"),
        "{e}"
    );
}

#[test]
fn dtype_mismatches_are_type_errors() {
    let g = Graph::new();
    let i = c(&g, [1i32, 2]);
    let f = c(&g, [1.0f32, 2.0]);
    let e = sub(&i, &f).unwrap_err();
    assert!(matches!(e, Error::Type { .. }), "{e:?}");
    assert!(
        e.to_string().starts_with(
            "Input 'y' of 'Sub' Op has type float32 that does not match type int32 of argument 'x'."
        ),
        "{e}"
    );
    let e = div(&f, &i).unwrap_err().to_string();
    assert!(
        e.starts_with("Input 'y' of 'RealDiv' Op has type int32 that does not match type float32"),
        "{e}"
    );
    for e in [
        maximum(&i, &f).unwrap_err(),
        minimum(&f, &i).unwrap_err(),
        equal(&f, &i).unwrap_err(),
    ] {
        assert!(matches!(e, Error::Type { .. }), "{e:?}");
    }
    // Float-only ops refuse integers; bool reductions are refused at build time.
    for e in [
        exp(&i).unwrap_err(),
        log(&i).unwrap_err(),
        nn::relu(&i).unwrap_err(),
        nn::softmax(&i).unwrap_err(),
        div(&i, &i).unwrap_err(),
        reduce_mean(&c(&g, [true]), None, false).unwrap_err(),
        argmax(&c(&g, [true]), 0).unwrap_err(),
    ] {
        assert!(matches!(e, Error::Type { .. }), "{e:?}");
    }
}

#[test]
fn shape_errors_name_the_node() {
    let g = Graph::new();
    let a = c(&g, [[1.0f32, 2.0, 3.0], [4.0, 5.0, 6.0]]);
    let b = c(&g, [1.0f32, 2.0, 3.0, 4.0]);
    let e = sub(&a, &b).unwrap_err().to_string();
    assert_eq!(
        e,
        "Dimensions must be equal, but are 3 and 4 for 'sub' (op: 'Sub') with input shapes: [2,3], [4]"
    );
    let e = div(&a, &b).unwrap_err().to_string();
    assert!(e.contains("for 'truediv' (op: 'RealDiv')"), "{e}");
    let e = reduce_mean(&a, 2, false).unwrap_err().to_string();
    assert!(
        e.starts_with("Invalid reduction dimension 2 for input with 2 dimensions for 'Mean'"),
        "{e}"
    );
    let e = reduce_max(&a, -3, false).unwrap_err().to_string();
    assert!(e.contains("'Max' (op: 'Max')"), "{e}");
    let e = argmax(&a, 2).unwrap_err().to_string();
    assert!(
        e.starts_with("Expected dimension in the range [-2, 2), but got 2 for 'ArgMax'"),
        "{e}"
    );
    let e = transpose(&a, Some(&[0])).unwrap_err().to_string();
    assert!(
        e.starts_with("Dimension must be 2 but is 1 for 'transpose' (op: 'Transpose')"),
        "{e}"
    );
    let e = transpose(&a, Some(&[0, 2])).unwrap_err().to_string();
    assert!(e.starts_with("2 is out of range [0 .. 2)"), "{e}");
    let e = transpose(&a, Some(&[1, 1])).unwrap_err().to_string();
    assert!(e.starts_with("0 is missing from {1,1}."), "{e}");
    let e = nn::softmax(&c(&g, 1.0f32)).unwrap_err().to_string();
    assert!(
        e.starts_with("Shape must be at least rank 1 but is rank 0 for 'Softmax'"),
        "{e}"
    );
}

#[test]
fn run_time_errors_of_unknown_shapes() {
    let g = Graph::new();
    let x = placeholder(&g, DType::F32, shape![?, ?], "x");
    let y = placeholder(&g, DType::F32, shape![?, ?], "y");
    let mut feeds = FeedDict::new();
    feeds.insert(&x, Value::filled(&[2, 3], 1.0f32).unwrap());
    feeds.insert(&y, Value::filled(&[2, 4], 1.0f32).unwrap());
    for t in [
        sub(&x, &y).unwrap(),
        div(&x, &y).unwrap(),
        maximum(&x, &y).unwrap(),
        equal(&x, &y).unwrap(),
    ] {
        let e = run_err(&t, &feeds);
        assert!(e.starts_with("Incompatible shapes: [2,3] vs. [2,4]"), "{e}");
        assert!(e.contains(&format!("node {}", t.op().name())), "{e}");
    }
    let u = placeholder(&g, DType::F32, rustflow_graph::Shape::unknown(), "u");
    let mut feeds = FeedDict::new();
    feeds.insert(&u, Value::filled(&[2, 3], 1.0f32).unwrap());
    let e = run_err(&transpose(&u, Some(&[0, 1, 2])).unwrap(), &feeds);
    assert!(e.contains("Dimension must be 2 but is 3"), "{e}");
    let e = run_err(&argmax(&u, 2).unwrap(), &feeds);
    assert!(
        e.contains("Expected dimension in the range [-2, 2), but got 2"),
        "{e}"
    );
    let e = run_err(&reduce_mean(&u, 5, false).unwrap(), &feeds);
    assert!(e.contains("Invalid reduction dimension 5"), "{e}");
    let mut feeds = FeedDict::new();
    feeds.insert(&u, Value::scalar(1.0f32));
    let e = run_err(&nn::softmax(&u).unwrap(), &feeds);
    assert!(e.contains("logits must have >= 1 dimension"), "{e}");
}

#[test]
fn empty_tensors_do_not_panic() {
    let g = Graph::new();
    let x = placeholder(&g, DType::F32, shape![?, ?], "x");
    let mut feeds = FeedDict::new();
    feeds.insert(&x, Value::new::<f32>(&[0, 3], vec![]).unwrap());
    assert_eq!(eval(&nn::softmax(&x).unwrap(), &feeds).shape(), &[0, 3]);
    assert_eq!(eval(&argmax(&x, 1).unwrap(), &feeds).shape(), &[0]);
    assert_eq!(eval(&transpose(&x, None).unwrap(), &feeds).shape(), &[3, 0]);
    assert_eq!(
        eval(&reduce_max(&x, 1, false).unwrap(), &feeds).shape(),
        &[0]
    );
    assert_eq!(
        eval(&reshape(&x, &[3, 0]).unwrap(), &feeds).shape(),
        &[3, 0]
    );
    let e = run_err(&reshape(&x, &[-1, 0]).unwrap(), &feeds);
    assert!(
        e.contains("Reshape cannot infer the missing input size"),
        "{e}"
    );
    let e = run_err(&argmax(&x, 0).unwrap(), &feeds);
    assert!(
        e.contains("Reduction axis 0 is empty in shape [0,3]"),
        "{e}"
    );
    let mut feeds = FeedDict::new();
    feeds.insert(&x, Value::new::<f32>(&[2, 0], vec![]).unwrap());
    assert_eq!(eval(&nn::log_softmax(&x).unwrap(), &feeds).shape(), &[2, 0]);
    assert_eq!(
        f32s(&eval(&reduce_max(&x, 1, false).unwrap(), &feeds)),
        [f32::NEG_INFINITY; 2]
    );
}

#[test]
fn gradient_ops_check_their_shapes() {
    let g = Graph::new();
    let a = placeholder(&g, DType::F32, shape![?, 3], "a");
    let b = placeholder(&g, DType::F32, shape![2, 4], "b");
    for e in [
        nn::relu_grad(&a, &b).unwrap_err(),
        nn::softmax_grad(&a, &b).unwrap_err(),
    ] {
        assert!(matches!(e, Error::Shape { .. }), "{e:?}");
    }
    assert_eq!(
        nn::relu_grad(&a, &placeholder(&g, DType::F32, shape![2, ?], "c"))
            .unwrap()
            .shape()
            .to_string(),
        "[2,3]"
    );
    // The fused gradient ops against hand-computed values.
    let dy = c(&g, [[1.0f32, 2.0, 3.0]]);
    let y = c(&g, [[0.2f32, 0.3, 0.5]]);
    // Σ dy·y = 0.2 + 0.6 + 1.5 = 2.3; (dy - 2.3) * y.
    let want = [(1.0 - 2.3) * 0.2, (2.0 - 2.3) * 0.3, (3.0 - 2.3) * 0.5];
    assert_close(
        "softmax_grad",
        &f32s(&eval_const(&nn::softmax_grad(&dy, &y).unwrap())),
        &want,
        1e-6,
        1e-7,
    );
    let ly = c(&g, [[0.2f32.ln(), 0.3f32.ln(), 0.5f32.ln()]]);
    // Σ dy = 6; dy - exp(y) * 6.
    let want = [1.0 - 0.2 * 6.0, 2.0 - 0.3 * 6.0, 3.0 - 0.5 * 6.0];
    assert_close(
        "log_softmax_grad",
        &f32s(&eval_const(&nn::log_softmax_grad(&dy, &ly).unwrap())),
        &want,
        1e-6,
        1e-6,
    );
    let r = nn::relu_grad(&dy, &c(&g, [[0.0f32, 1.0, -1.0]])).unwrap();
    assert_eq!(f32s(&eval_const(&r)), [0.0, 2.0, 0.0]);
}
