//! Numeric gradient checks (central differences) of the math ops of issue 15 and of the
//! gradients of the math gradient ops (second order), at inputs away from kinks and ties.

mod support;

use rustflow_graph::{Error, Graph, Result, Tensor, Value};
use rustflow_ops::*;
use support::{check_gradients, random_value};

const RTOL: f32 = 1e-2;
const ATOL: f32 = 1e-3;

fn check(inputs: &[Value], h: f32, build: impl Fn(&Graph, &[Tensor]) -> Result<Tensor>) {
    check_gradients(inputs, &[], build, h, RTOL, ATOL);
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

/// Away from 0 by at least 0.1.
fn off_zero(shape: &[usize], seed: u64) -> Value {
    mapped(shape, seed, |x| if x < 0.0 { x - 0.1 } else { x + 0.1 })
}

/// In `[0.5, 1.5]`.
fn positive(shape: &[usize], seed: u64) -> Value {
    mapped(shape, seed, |x| x.abs() + 0.5)
}

type Unary = fn(&Tensor) -> Result<Tensor>;

#[test]
fn table_rows_with_smooth_gradients() {
    let rows: [(&str, Unary, Value); 13] = [
        ("rsqrt", rsqrt, positive(&[3, 4], 1)),
        ("reciprocal", reciprocal, off_zero(&[3, 4], 2)),
        ("softplus", softplus, random_value(&[3, 4], 3)),
        ("softsign", softsign, off_zero(&[3, 4], 4)),
        ("elu", elu, off_zero(&[3, 4], 5)),
        ("selu", selu, off_zero(&[3, 4], 6)),
        ("log1p", log1p, positive(&[3, 4], 7)),
        ("expm1", expm1, random_value(&[3, 4], 8)),
        ("sin", sin, random_value(&[3, 4], 9)),
        ("cos", cos, random_value(&[3, 4], 10)),
        ("erf", erf, random_value(&[3, 4], 11)),
        ("relu6", relu6, mapped(&[3, 4], 12, |x| x * 4.0 + 3.05)),
        ("sign", sign, off_zero(&[3, 4], 13)),
    ];
    for (name, f, x) in rows {
        eprintln!("{name}");
        check(&[x], 1e-3, |_, t| f(&t[0]));
    }
    check(&[off_zero(&[3, 4], 14)], 1e-3, |_, t| {
        leaky_relu(&t[0], 0.2)
    });
}

#[test]
fn floor_ceil_round_have_no_gradient() {
    let g = Graph::new();
    let x = placeholder(&g, rustflow_graph::DType::F32, vec![3], "x");
    for f in [floor as Unary, ceil, round] {
        assert!(gradients(&[&f(&x).unwrap()], &[&x], None).unwrap()[0].is_none());
    }
}

#[test]
fn pow_squared_difference_floormod_broadcast() {
    let shapes: [(&[usize], &[usize]); 3] =
        [(&[2, 3], &[2, 3]), (&[2, 3], &[3]), (&[3, 1], &[1, 4])];
    for (sa, sb) in shapes {
        check(&[positive(sa, 1), random_value(sb, 2)], 1e-3, |_, x| {
            pow(&x[0], &x[1])
        });
        check(&[random_value(sa, 3), random_value(sb, 4)], 1e-2, |_, x| {
            squared_difference(&x[0], &x[1])
        });
        // Away from the jumps of floor(a / b): a in (0.1, 0.4) + k, b = 1.
        let a = mapped(sa, 5, |x| (x * 3.0).round() + 0.25 + 0.1 * x.abs());
        let b = mapped(sb, 6, |_| 1.0);
        check_gradients(
            &[a, b],
            &[0],
            |_, x| floormod(&x[0], &x[1]),
            1e-3,
            RTOL,
            ATOL,
        );
    }
}

#[test]
fn reductions() {
    let distinct = |seed| {
        let v = random_value(&[3, 4], seed);
        let mut d: Vec<f32> = v.as_slice::<f32>().unwrap().to_vec();
        for (i, x) in d.iter_mut().enumerate() {
            *x = (*x * 0.01) + 0.3 * i as f32 * if i % 2 == 0 { 1.0 } else { -1.0 };
        }
        Value::new(&[3, 4], d).unwrap()
    };
    for (axes, keep) in [
        (Axes::All, false),
        (Axes::from(1), false),
        (Axes::from(0), true),
        (Axes::from([0, 1]), true),
    ] {
        check(&[distinct(1)], 1e-3, |_, t| {
            reduce_min(&t[0], axes.clone(), keep)
        });
        check(&[positive(&[3, 4], 2)], 1e-3, |_, t| {
            reduce_prod(&t[0], axes.clone(), keep)
        });
        check(&[random_value(&[3, 4], 3)], 1e-3, |_, t| {
            reduce_logsumexp(&t[0], axes.clone(), keep)
        });
    }
    // A zero element gets the product of the others.
    let with_zero = Value::new(&[2, 3], vec![0.0f32, 2.0, 3.0, 1.5, -1.0, 0.5]).unwrap();
    check(&[with_zero], 1e-3, |_, t| reduce_prod(&t[0], 1, false));
}

#[test]
fn clipping_and_norms() {
    let t = random_value(&[3, 4], 1);
    check(std::slice::from_ref(&t), 1e-3, |g, x| {
        clip_by_value(&x[0], &constant(g, -0.3f32, ""), &constant(g, 0.4f32, ""))
    });
    check(std::slice::from_ref(&t), 1e-3, |_, x| {
        clip_by_norm(&x[0], 0.5, None)
    });
    check(std::slice::from_ref(&t), 1e-3, |_, x| {
        clip_by_norm(&x[0], 0.5, 1)
    });
    check(std::slice::from_ref(&t), 1e-3, |_, x| {
        clip_by_norm(&x[0], 100.0, None)
    });
    check(std::slice::from_ref(&t), 1e-3, |_, x| l2_loss(&x[0]));
    check(std::slice::from_ref(&t), 1e-3, |_, x| {
        l2_normalize(&x[0], 1, 1e-12)
    });
    check(&[t, random_value(&[2], 2)], 1e-3, |_, x| {
        let (ys, norm) = clip_by_global_norm(&[&x[0], &x[1]], 0.5)?;
        add_n(&[
            &reduce_sum(&ys[0], None, false)?,
            &reduce_sum(&ys[1], None, false)?,
            &norm,
        ])
    });
}

#[test]
fn batch_matmul_every_adjoint_and_broadcast() {
    let cases: [(&[usize], &[usize], bool, bool); 6] = [
        (&[2, 3, 4], &[2, 4, 5], false, false),
        (&[2, 4, 3], &[2, 4, 5], true, false),
        (&[2, 3, 4], &[2, 5, 4], false, true),
        (&[2, 4, 3], &[2, 5, 4], true, true),
        (&[2, 3, 4], &[4, 2], false, false),
        (&[1, 3, 4], &[2, 1, 4, 2], false, false),
    ];
    for (sa, sb, ta, tb) in cases {
        check(&[random_value(sa, 1), random_value(sb, 2)], 1e-2, |_, x| {
            batch_matmul(&x[0], &x[1], ta, tb)
        });
    }
}

#[test]
fn batch_matmul_matches_a_direct_loop() {
    let (a, b) = (random_value(&[2, 3, 4], 1), random_value(&[4, 2], 2));
    let g = Graph::new();
    let y = batch_matmul(
        &constant(&g, a.clone(), ""),
        &constant(&g, b.clone(), ""),
        false,
        false,
    )
    .unwrap();
    let sess = rustflow_runtime::Session::new(&g);
    let got = sess.eval(&y, &rustflow_runtime::FeedDict::new()).unwrap();
    let (xa, xb) = (a.as_slice::<f32>().unwrap(), b.as_slice::<f32>().unwrap());
    let got = got.as_slice::<f32>().unwrap();
    for t in 0..2 {
        for i in 0..3 {
            for j in 0..2 {
                let want: f32 = (0..4).map(|p| xa[t * 12 + i * 4 + p] * xb[p * 2 + j]).sum();
                assert!((got[t * 6 + i * 2 + j] - want).abs() < 1e-6);
            }
        }
    }
}

#[test]
fn top_k_values() {
    check(&[random_value(&[3, 5], 1)], 1e-3, |_, x| {
        Ok(top_k(&x[0], 2)?.0)
    });
}

/// The gradient (with respect to `x` and the upstream `dy`) of `f`'s gradient with
/// upstream `dy`: the second derivatives the gradient ops' own rules give.
fn second_order(f: Unary, x: Value) {
    let dy = random_value(x.shape(), 77);
    check(&[x, dy], 1e-3, |_, t| {
        let y = f(&t[0])?;
        gradients(&[&y], &[&t[0]], Some(&[&t[1]]))?
            .remove(0)
            .ok_or_else(|| Error::Kernel("no gradient".into()))
    });
}

#[test]
fn gradients_of_the_unary_gradient_ops() {
    second_order(tanh, random_value(&[3, 4], 1));
    second_order(sigmoid, random_value(&[3, 4], 2));
    second_order(sqrt, positive(&[3, 4], 3));
    second_order(rsqrt, positive(&[3, 4], 4));
    second_order(reciprocal, off_zero(&[3, 4], 5));
    second_order(elu, off_zero(&[3, 4], 6));
    second_order(selu, off_zero(&[3, 4], 7));
    second_order(abs, off_zero(&[3, 4], 8));
    second_order(softplus, random_value(&[3, 4], 9));
    second_order(erf, random_value(&[3, 4], 10));
}

#[test]
fn gradients_of_the_reduction_and_broadcast_gradient_ops() {
    let dy = |s: &[usize]| random_value(s, 5);
    // ReduceGrad (sum and mean), ReduceMaxGrad, SumToShape, MaximumGrad: linear in dy.
    let x = random_value(&[3, 4], 1);
    // Their gradients with respect to x are None (x gives only shapes and selections, as in
    // TensorFlow): only dy is checked.
    let grad_of = |f: fn(&Tensor) -> Result<Tensor>, xv: Value, dyv: Value| {
        check_gradients(
            &[xv, dyv],
            &[1],
            move |_, t| {
                let y = f(&t[0])?;
                gradients(&[&y], &[&t[0]], Some(&[&t[1]]))?
                    .remove(0)
                    .ok_or_else(|| Error::Kernel("no gradient".into()))
            },
            1e-3,
            RTOL,
            ATOL,
        );
    };
    grad_of(|t| reduce_sum(t, 1, false), x.clone(), dy(&[3]));
    grad_of(|t| reduce_mean(t, 0, true), x.clone(), dy(&[1, 4]));
    grad_of(|t| reduce_max(t, 1, false), x.clone(), dy(&[3]));
    grad_of(
        |t| mul(t, &constant(t.graph(), [1.5f32, -2.0, 0.5, 3.0], "")),
        x.clone(),
        dy(&[3, 4]),
    );
    check_gradients(
        &[random_value(&[3, 4], 3), random_value(&[4], 4), dy(&[3, 4])],
        &[2],
        |_, t| {
            let y = maximum(&t[0], &t[1])?;
            let d = gradients(&[&y], &[&t[0], &t[1]], Some(&[&t[2]]))?;
            add(&d[0].clone().unwrap(), &d[1].clone().unwrap())
        },
        1e-3,
        RTOL,
        ATOL,
    );
}
