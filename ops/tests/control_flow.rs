//! cond and while_loop: values, which ops run, errors at construction, and numeric checks
//! of their gradients.

mod support;

use rustflow_graph::{shape, DType, Error, Graph, Result, Shape, Tensor, Value};
use rustflow_ops::*;
use rustflow_runtime::{feed, Session};
use support::{check_gradients, random_value};

/// `a < b` for int32 scalars from the ops at hand: `min(a + 1, b) == a + 1`.
fn less(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let a1 = add(a, &constant(a.graph(), 1i32, "one"))?;
    equal(&minimum(&a1, b)?, &a1)
}

fn f32s(v: &Value) -> Vec<f32> {
    v.as_slice::<f32>().unwrap().to_vec()
}

#[test]
fn cond_runs_only_the_taken_branch() {
    let g = Graph::new();
    let p = placeholder(&g, DType::Bool, shape![], "p");
    let v = Variable::new(&constant(&g, 1.0f32, "one"), "v").unwrap();
    // The true branch assigns 10; the false branch would fail at run time (a bad reshape).
    let x = placeholder(&g, DType::F32, shape![?], "x");
    let y = cond(
        &p,
        || Ok(vec![v.assign(&constant(&g, 10.0f32, "ten"))?]),
        || Ok(vec![reduce_sum(&reshape(&x, &[5])?, None, false)?]),
    )
    .unwrap();
    let sess = Session::new(&g);
    sess.run_op(&global_variables_initializer(&g).unwrap(), &feed! {})
        .unwrap();
    let three = Value::new(&[3], vec![1.0f32, 2.0, 3.0]).unwrap();
    // Not taken: the assign leaves the variable alone, and the failing reshape never runs.
    let err = sess
        .eval(
            &y[0],
            &feed! { &p => Value::scalar(false), &x => three.clone() },
        )
        .unwrap_err();
    assert!(err.to_string().contains("Reshape"), "{err}");
    assert_eq!(
        sess.eval(&v, &feed! {})
            .unwrap()
            .scalar_value::<f32>()
            .unwrap(),
        1.0
    );
    let out = sess
        .eval(&y[0], &feed! { &p => Value::scalar(true), &x => three })
        .unwrap();
    assert_eq!(out.scalar_value::<f32>().unwrap(), 10.0);
    assert_eq!(
        sess.eval(&v, &feed! {})
            .unwrap()
            .scalar_value::<f32>()
            .unwrap(),
        10.0
    );
    // With a good x, the false branch runs its reshape and leaves v at 10.
    sess.run_op(&global_variables_initializer(&g).unwrap(), &feed! {})
        .unwrap();
    let five = Value::new(&[5], vec![1.0f32; 5]).unwrap();
    let out = sess
        .eval(&y[0], &feed! { &p => Value::scalar(false), &x => five })
        .unwrap();
    assert_eq!(out.scalar_value::<f32>().unwrap(), 5.0);
    assert_eq!(
        sess.eval(&v, &feed! {})
            .unwrap()
            .scalar_value::<f32>()
            .unwrap(),
        1.0
    );
}

#[test]
fn cond_merges_shapes_and_returns_several_tensors() {
    let g = Graph::new();
    let p = placeholder(&g, DType::Bool, shape![], "p");
    let a = constant(&g, Value::new(&[2], vec![1.0f32, 2.0]).unwrap(), "a");
    let b = constant(&g, Value::new(&[3], vec![3.0f32, 4.0, 5.0]).unwrap(), "b");
    let i = constant(&g, 7i32, "i");
    let out = cond(
        &p,
        || Ok(vec![a.clone(), i.clone()]),
        || Ok(vec![b.clone(), add(&i, &i)?]),
    )
    .unwrap();
    assert_eq!(out[0].shape(), shape![?]);
    assert_eq!(out[1].shape(), shape![]);
    assert_eq!(out[0].op().name(), "cond");
    let sess = Session::new(&g);
    let r = sess
        .run(
            &[(&out[0]).into(), (&out[1]).into()],
            &feed! { &p => Value::scalar(false) },
        )
        .unwrap();
    assert_eq!(f32s(r.value(0).unwrap()), vec![3.0, 4.0, 5.0]);
    assert_eq!(r.value(1).unwrap().scalar_value::<i32>().unwrap(), 14);
}

#[test]
fn cond_errors_at_construction_name_the_node() {
    let g = Graph::new();
    let x = constant(&g, 1.0f32, "x");
    let not_bool = placeholder(&g, DType::F32, shape![], "p");
    let err = cond(&not_bool, || Ok(vec![x.clone()]), || Ok(vec![x.clone()])).unwrap_err();
    assert!(
        matches!(&err, Error::InvalidArgument { node, .. } if node == "cond"),
        "{err}"
    );
    let vector = placeholder(&g, DType::Bool, shape![2], "pv");
    assert!(cond(&vector, || Ok(vec![x.clone()]), || Ok(vec![x.clone()])).is_err());
    let p = placeholder(&g, DType::Bool, shape![], "q");
    let i = constant(&g, 1i32, "i");
    let err = cond(&p, || Ok(vec![x.clone()]), || Ok(vec![i.clone()])).unwrap_err();
    assert!(
        matches!(&err, Error::Type { node, .. } if node.starts_with("cond")),
        "{err}"
    );
    let err = cond(
        &p,
        || Ok(vec![x.clone()]),
        || Ok(vec![x.clone(), x.clone()]),
    )
    .unwrap_err();
    assert!(err.to_string().contains("same structure"), "{err}");
    // A failed build leaves no function context open: the graph builds normally afterwards.
    assert!(!g.in_function());
}

#[test]
fn cond_gradients_match_central_differences() {
    for taken in [true, false] {
        let inputs = [
            Value::scalar(taken),
            random_value(&[2, 3], 1),
            random_value(&[2, 3], 2),
        ];
        check_gradients(
            &inputs,
            &[1, 2],
            |_, x| {
                let out = cond(
                    &x[0],
                    || Ok(vec![mul(&x[1], &tanh(&x[2])?)?]),
                    || Ok(vec![sub(&square(&x[1])?, &x[2])?]),
                )?;
                Ok(out[0].clone())
            },
            1e-2,
            1e-2,
            1e-3,
        );
    }
}

/// acc = x; i = 0; while i < n: acc = acc * w + 1; i += 1.
fn affine(x: &Tensor, w: &Tensor, n: &Tensor) -> Result<Tensor> {
    let g = x.graph();
    let i = constant(g, 0i32, "i");
    let out = while_loop(
        |v| less(&v[0], n),
        |v| {
            Ok(vec![
                add(&v[0], &constant(g, 1i32, "one"))?,
                add(&mul(&v[1], w)?, &constant(g, 1.0f32, "c"))?,
            ])
        },
        &[&i, x],
        WhileOptions::default(),
    )?;
    Ok(out[1].clone())
}

#[test]
fn while_loop_runs_as_many_iterations_as_the_condition_decides() {
    let g = Graph::new();
    let x = placeholder(&g, DType::F32, shape![2], "x");
    let w = placeholder(&g, DType::F32, shape![2], "w");
    let n = placeholder(&g, DType::I32, shape![], "n");
    let y = affine(&x, &w, &n).unwrap();
    assert_eq!(y.shape(), shape![2]);
    let sess = Session::new(&g);
    for steps in [0, 1, 4] {
        let xv = Value::new(&[2], vec![1.0f32, -2.0]).unwrap();
        let wv = Value::new(&[2], vec![0.5f32, 2.0]).unwrap();
        let got = sess
            .eval(
                &y,
                &feed! { &x => xv.clone(), &w => wv.clone(), &n => Value::scalar(steps) },
            )
            .unwrap();
        let mut want = f32s(&xv);
        for _ in 0..steps {
            for (a, w) in want.iter_mut().zip(f32s(&wv)) {
                *a = *a * w + 1.0;
            }
        }
        assert_eq!(f32s(&got), want, "n = {steps}");
    }
}

#[test]
fn while_loop_gradients_match_central_differences() {
    for steps in [0, 1, 3] {
        check_gradients(
            &[
                random_value(&[3], 3),
                random_value(&[3], 4),
                Value::scalar(steps),
            ],
            &[0, 1],
            |_, x| affine(&x[0], &x[1], &x[2]),
            1e-2,
            1e-2,
            1e-3,
        );
    }
}

#[test]
fn while_loop_gradient_sums_captured_tensors_over_iterations() {
    // h = tanh(h W + x) three times: W and x are captured by the body.
    check_gradients(
        &[
            random_value(&[2, 3], 5),
            random_value(&[3, 3], 6),
            random_value(&[2, 3], 7),
        ],
        &[],
        |g, x| {
            let i = constant(g, 0i32, "i");
            let n = constant(g, 3i32, "n");
            let out = while_loop(
                |v| less(&v[0], &n),
                |v| {
                    Ok(vec![
                        add(&v[0], &constant(g, 1i32, "one"))?,
                        tanh(&add(&matmul(&v[1], &x[1])?, &x[2])?)?,
                    ])
                },
                &[&i, &x[0]],
                WhileOptions::default(),
            )?;
            Ok(out[1].clone())
        },
        1e-2,
        1e-2,
        1e-3,
    );
}

#[test]
fn cond_inside_while_loop_and_its_gradient() {
    // Iterations with an even counter multiply by w, odd ones add w.
    check_gradients(
        &[random_value(&[3], 8), random_value(&[3], 9)],
        &[],
        |g, x| {
            let i = constant(g, 0i32, "i");
            let parity = constant(g, 0i32, "parity");
            let n = constant(g, 4i32, "n");
            let out = while_loop(
                |v| less(&v[0], &n),
                |v| {
                    let even = equal(&v[1], &constant(g, 0i32, "zero"))?;
                    let y = cond(
                        &even,
                        || Ok(vec![mul(&v[2], &x[1])?]),
                        || Ok(vec![add(&v[2], &x[1])?]),
                    )?;
                    Ok(vec![
                        add(&v[0], &constant(g, 1i32, "one"))?,
                        sub(&constant(g, 1i32, "one"), &v[1])?,
                        y[0].clone(),
                    ])
                },
                &[&i, &parity, &x[0]],
                WhileOptions::default(),
            )?;
            Ok(out[2].clone())
        },
        1e-2,
        1e-2,
        1e-3,
    );
}

#[test]
fn while_loop_stops_at_maximum_iterations_and_back_prop_false_gives_none() {
    let g = Graph::new();
    let x = constant(&g, 1.0f32, "x");
    let t = constant(&g, true, "t");
    let out = while_loop(
        |_| Ok(t.clone()),
        |v| Ok(vec![add(&v[0], &v[0])?]),
        &[&x],
        WhileOptions {
            maximum_iterations: Some(constant(&g, 5i32, "max")),
            back_prop: false,
            ..WhileOptions::default()
        },
    )
    .unwrap();
    let sess = Session::new(&g);
    assert_eq!(
        sess.eval(&out[0], &feed! {})
            .unwrap()
            .scalar_value::<f32>()
            .unwrap(),
        32.0
    );
    assert!(gradients(&[&out[0]], &[&x], None).unwrap()[0].is_none());
}

#[test]
fn while_loop_shape_invariants() {
    let g = Graph::new();
    let x = constant(&g, Value::new(&[1], vec![1.0f32]).unwrap(), "x");
    let i = constant(&g, 0i32, "i");
    let n = constant(&g, 3i32, "n");
    let grow = |v: &[Tensor]| -> Result<Vec<Tensor>> {
        // [x] -> [x, 2x], by a broadcast product reshaped.
        let both = reshape(
            &mul(
                &reshape(&v[1], &[1, -1])?,
                &constant(
                    v[1].graph(),
                    Value::new(&[2, 1], vec![1.0f32, 2.0]).unwrap(),
                    "k",
                ),
            )?,
            &[-1],
        )?;
        Ok(vec![
            add(&v[0], &constant(v[0].graph(), 1i32, "one"))?,
            both,
        ])
    };
    let err = while_loop(
        |v| less(&v[0], &n),
        grow,
        &[&i, &x],
        WhileOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("shape_invariants"), "{err}");
    assert!(
        matches!(&err, Error::InvalidArgument { node, .. } if node.starts_with("while")),
        "{err}"
    );
    let out = while_loop(
        |v| less(&v[0], &n),
        grow,
        &[&i, &x],
        WhileOptions {
            shape_invariants: Some(vec![Shape::scalar(), shape![?]]),
            ..WhileOptions::default()
        },
    )
    .unwrap();
    assert_eq!(out[1].shape(), shape![?]);
    let v = Session::new(&g).eval(&out[1], &feed! {}).unwrap();
    assert_eq!(v.shape(), &[8]);
    assert_eq!(f32s(&v), vec![1.0, 2.0, 2.0, 4.0, 2.0, 4.0, 4.0, 8.0]);
    // A condition that is not a boolean scalar is refused, naming the loop.
    let err = while_loop(
        |v| Ok(v[1].clone()),
        |v| Ok(v.to_vec()),
        &[&i, &x],
        WhileOptions::default(),
    )
    .unwrap_err();
    assert!(err.to_string().contains("boolean scalar"), "{err}");
}

#[test]
fn while_loop_of_ten_thousand_iterations() {
    let g = Graph::new();
    let x = constant(&g, 0.0f32, "x");
    let i = constant(&g, 0i32, "i");
    let n = constant(&g, 10_000i32, "n");
    let out = while_loop(
        |v| less(&v[0], &n),
        |v| {
            Ok(vec![
                add(&v[0], &constant(&g, 1i32, "one"))?,
                add(&v[1], &constant(&g, 1.0f32, "one_f"))?,
            ])
        },
        &[&i, &x],
        WhileOptions::default(),
    )
    .unwrap();
    let v = Session::new(&g).eval(&out[1], &feed! {}).unwrap();
    assert_eq!(v.scalar_value::<f32>().unwrap(), 10_000.0);
}

#[test]
fn tensor_array_write_read_gather_scatter_stack() {
    let g = Graph::new();
    let n = constant(&g, 3i32, "n");
    let ta = TensorArray::new(&n, DType::F32, &[2]).unwrap();
    assert_eq!(ta.stack().shape(), shape![3, 2]);
    let ta = ta
        .write(&constant(&g, 2i32, "i"), &constant(&g, [1.0f32, 2.0], "a"))
        .unwrap()
        .scatter(
            &constant(&g, [0i32, 1], "ix"),
            &constant(
                &g,
                Value::new(&[2, 2], vec![3.0f32, 4.0, 5.0, 6.0]).unwrap(),
                "b",
            ),
        )
        .unwrap();
    let read = ta.read(&constant(&g, 1i32, "j")).unwrap();
    let gathered = ta.gather(&constant(&g, [2i32, 0], "jx")).unwrap();
    assert_eq!(gathered.shape(), shape![2, 2]);
    let size = ta.size().unwrap();
    let sess = Session::new(&g);
    let r = sess
        .run(
            &[
                (&ta.stack()).into(),
                (&read).into(),
                (&gathered).into(),
                (&size).into(),
            ],
            &feed! {},
        )
        .unwrap();
    assert_eq!(
        f32s(r.value(0).unwrap()),
        vec![3.0, 4.0, 5.0, 6.0, 1.0, 2.0]
    );
    assert_eq!(f32s(r.value(1).unwrap()), vec![5.0, 6.0]);
    assert_eq!(f32s(r.value(2).unwrap()), vec![1.0, 2.0, 3.0, 4.0]);
    assert_eq!(r.value(3).unwrap().scalar_value::<i32>().unwrap(), 3);
    // Reading past the end is a run-time error naming the read.
    let bad = ta.read(&constant(&g, 3i32, "k")).unwrap();
    let err = sess.eval(&bad, &feed! {}).unwrap_err();
    assert!(err.to_string().contains("TensorArrayRead"), "{err}");
}

#[test]
fn tensor_array_in_a_loop_and_its_gradient() {
    // out[t] = tanh(x[t] * w + prev), written to a TensorArray carried through the loop
    // (a tiny recurrent loop reading from one TensorArray and writing to another).
    check_gradients(
        &[random_value(&[4, 2, 3], 10), random_value(&[3], 11)],
        &[],
        |g, x| {
            let xs = TensorArray::unstack(&x[0])?;
            let t = xs.size()?;
            let out = TensorArray::new(&t, DType::F32, &[2, 3])?;
            let h0 = zeros(g, &[2, 3])?;
            let res = while_loop(
                |v| less(&v[0], &t),
                |v| {
                    let h = tanh(&add(&mul(&xs.read(&v[0])?, &x[1])?, &v[1])?)?;
                    let ta = TensorArray::from_flow(&v[2]).write(&v[0], &h)?;
                    Ok(vec![
                        add(&v[0], &constant(g, 1i32, "one"))?,
                        h,
                        ta.flow().clone(),
                    ])
                },
                &[&constant(g, 0i32, "i"), &h0, out.flow()],
                WhileOptions::default(),
            )?;
            Ok(TensorArray::from_flow(&res[2]).stack())
        },
        1e-2,
        1e-2,
        1e-3,
    );
}

#[test]
fn while_loop_gradient_keeps_only_the_loop_variables_it_reads() {
    // h = tanh(x[t] + h), each h written to a TensorArray: the gradient of the body reads the
    // index and h of each iteration, but never the TensorArray it wrote to, so the loop does
    // not keep (copy) that array at every iteration.
    let g = Graph::new();
    let x = placeholder(&g, DType::F32, shape![4, 2], "x");
    let xs = TensorArray::unstack(&x).unwrap();
    let t = xs.size().unwrap();
    let out = TensorArray::new(&t, DType::F32, &[2]).unwrap();
    let res = while_loop(
        |v| less(&v[0], &t),
        |v| {
            let h = tanh(&add(&xs.read(&v[0])?, &v[1])?)?;
            let ta = TensorArray::from_flow(&v[2]).write(&v[0], &h)?;
            Ok(vec![
                add(&v[0], &constant(&g, 1i32, "one"))?,
                h,
                ta.flow().clone(),
            ])
        },
        &[
            &constant(&g, 0i32, "i"),
            &zeros(&g, &[2]).unwrap(),
            out.flow(),
        ],
        WhileOptions::default(),
    )
    .unwrap();
    let loss = reduce_sum(&TensorArray::from_flow(&res[2]).stack(), None, false).unwrap();
    let dx = gradients(&[&loss], &[&x], None).unwrap()[0]
        .clone()
        .unwrap();
    let outs = res[0].op().outputs();
    assert_eq!(outs.len(), 7, "3 loop variables, the count, 3 stacks");
    let sess = Session::new(&g);
    let xv = random_value(&[4, 2], 3);
    let got = sess
        .run(
            &[&outs[4], &outs[5], &outs[6], &dx].map(rustflow_runtime::Fetch::from),
            &feed! { &x => xv.clone() },
        )
        .unwrap();
    assert_eq!(got.value(0).unwrap().shape(), &[4]);
    assert_eq!(got.value(1).unwrap().shape(), &[4, 2]);
    assert_eq!(
        got.value(2).unwrap().shape()[0],
        0,
        "the TensorArray is not kept"
    );
    // d loss / d x[t] = sum over s >= t of prod tanh' along the chain: checked against the
    // forward values recomputed here.
    let xs = f32s(&xv);
    let mut h = [0f32; 2];
    let mut hs = vec![];
    for t in 0..4 {
        for k in 0..2 {
            h[k] = (xs[2 * t + k] + h[k]).tanh();
        }
        hs.push(h);
    }
    let mut d = [0f32; 2];
    let mut want = vec![0f32; 8];
    for t in (0..4).rev() {
        for k in 0..2 {
            d[k] = (d[k] + 1.0) * (1.0 - hs[t][k] * hs[t][k]);
            want[2 * t + k] = d[k];
        }
    }
    for (a, b) in f32s(got.value(3).unwrap()).iter().zip(&want) {
        assert!((a - b).abs() < 1e-5, "{a} vs {b}");
    }
}
