//! `FusedBatchNormV3` and `FusedBatchNormGradV3` against a naive f64 reference on random
//! shapes, their gradients (first and second order) against central differences, and the
//! layer's run-time `training` switch.

mod support;

use rustflow_graph::{shape, DType, Graph, GraphKeys, Result, Tensor, Value};
use rustflow_ops::layers::BatchNormalization;
use rustflow_ops::{gradients, nn, placeholder};
use rustflow_runtime::{feed, FeedDict, Fetch, Session};
use support::{check_gradients, pseudo, random_value};

/// A value of `shape` with elements in [lo, lo + 2).
fn shifted(shape: &[usize], seed: u64, lo: f32) -> Value {
    let n: usize = shape.iter().product();
    Value::new(shape, (0..n).map(|i| pseudo(i, seed) + 1.0 + lo).collect()).unwrap()
}

fn f32s(v: &Value) -> Vec<f32> {
    v.as_slice::<f32>().unwrap().to_vec()
}

/// Per-channel mean and biased variance of `x` viewed as `[rows, c]`, in f64.
fn naive_moments(x: &[f32], c: usize) -> (Vec<f64>, Vec<f64>) {
    let n = (x.len() / c) as f64;
    let (mut m, mut v) = (vec![0f64; c], vec![0f64; c]);
    for (i, &a) in x.iter().enumerate() {
        m[i % c] += a as f64 / n;
    }
    for (i, &a) in x.iter().enumerate() {
        v[i % c] += (a as f64 - m[i % c]).powi(2) / n;
    }
    (m, v)
}

fn assert_close(got: &[f32], want: &[f64], tol: f64, what: &str) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g as f64 - w).abs() <= tol * (1.0 + w.abs()),
            "{what}[{i}]: {g} vs {w}"
        );
    }
}

#[test]
fn all_six_outputs_match_the_definition_on_random_shapes() {
    for (seed, dims) in [[2, 3, 4, 5], [1, 1, 1, 7], [3, 5, 2, 64], [4, 6, 6, 130]]
        .into_iter()
        .enumerate()
    {
        let seed = seed as u64 * 10;
        let c = dims[3];
        let x = shifted(&dims, seed, 4.0);
        let (scale, offset) = (random_value(&[c], seed + 1), random_value(&[c], seed + 2));
        let (mean, var) = (random_value(&[c], seed + 3), shifted(&[c], seed + 4, 0.1));
        let eps = 1e-3;
        for training in [true, false] {
            let g = Graph::new();
            let ph = |v: &Value, n: &str| placeholder(&g, DType::F32, v.shape().to_vec(), n);
            let ts = [ph(&x, "x"), ph(&scale, "s"), ph(&offset, "o")];
            let (tm, tv) = (ph(&mean, "m"), ph(&var, "v"));
            let (y, _, _) =
                nn::fused_batch_norm(&ts[0], &ts[1], &ts[2], Some(&tm), Some(&tv), eps, training)
                    .unwrap();
            let op = y.op();
            assert_eq!((op.op_type(), op.outputs().len()), ("FusedBatchNormV3", 6));
            let fetches: Vec<Fetch> = op.outputs().iter().map(Fetch::from).collect();
            let feeds = feed! { &ts[0] => x.clone(), &ts[1] => scale.clone(),
            &ts[2] => offset.clone(), &tm => mean.clone(), &tv => var.clone() };
            let mut out = Session::new(&g).run(&fetches, &feeds).unwrap();
            let outs: Vec<Value> = (0..6).map(|i| out.take(i).unwrap()).collect();
            let xs = f32s(&x);
            let (m, v) = if training {
                naive_moments(&xs, c)
            } else {
                let to64 = |v: &Value| f32s(v).iter().map(|&a| a as f64).collect::<Vec<_>>();
                (to64(&mean), to64(&var))
            };
            let (sc, of) = (f32s(&scale), f32s(&offset));
            let want_y: Vec<f64> = xs
                .iter()
                .enumerate()
                .map(|(i, &a)| {
                    let k = i % c;
                    sc[k] as f64 * (a as f64 - m[k]) / (v[k] + eps as f64).sqrt() + of[k] as f64
                })
                .collect();
            let n = (xs.len() / c) as f64;
            let bessel = if training {
                n / (n - 1.0).max(1.0)
            } else {
                1.0
            };
            let unbiased: Vec<f64> = v.iter().map(|a| a * bessel).collect();
            assert_close(&f32s(&outs[0]), &want_y, 1e-4, "y");
            assert_close(&f32s(&outs[1]), &m, 1e-5, "batch_mean");
            assert_close(&f32s(&outs[2]), &unbiased, 1e-4, "batch_variance");
            assert_close(&f32s(&outs[3]), &m, 1e-5, "reserve_space_1");
            assert_close(&f32s(&outs[4]), &v, 1e-4, "reserve_space_2");
            assert_eq!(outs[5].shape(), [0]);
        }
    }
}

#[test]
fn gradients_match_central_differences_in_both_modes() {
    for (dims, seed) in [([2, 3, 3, 4], 1), ([1, 2, 5, 3], 2)] {
        let c = dims[3];
        let inputs = [
            random_value(&dims, seed),
            shifted(&[c], seed + 1, 0.5),
            random_value(&[c], seed + 2),
            random_value(&[c], seed + 3),
            shifted(&[c], seed + 4, 0.5),
        ];
        for training in [true, false] {
            check_gradients(
                &inputs,
                &[0, 1, 2],
                |_, t| {
                    let bn = nn::fused_batch_norm(
                        &t[0],
                        &t[1],
                        &t[2],
                        Some(&t[3]),
                        Some(&t[4]),
                        1e-3,
                        training,
                    )?;
                    Ok(bn.0)
                },
                1e-2,
                2e-2,
                2e-3,
            );
        }
    }
}

/// The gradient of `FusedBatchNormGradV3` (TensorFlow's `_FusedBatchNormGradGrad`): the
/// second derivative through `dx` and through `dscale`, with respect to `x`, `scale` and
/// the upstream gradient.
#[test]
fn the_gradient_has_a_gradient() {
    let dims = [2, 2, 3, 3];
    let c = dims[3];
    let inputs = [
        random_value(&dims, 5),
        shifted(&[c], 6, 0.5),
        random_value(&[c], 7),
        random_value(&dims, 8),
    ];
    for training in [true, false] {
        for which in [0, 1] {
            check_gradients(
                &inputs,
                &[0, 1, 3],
                |g, t| -> Result<Tensor> {
                    let (mean, var) = (
                        rustflow_ops::fill(g, &[c], 0.1f32, "m")?,
                        rustflow_ops::fill(g, &[c], 1.5f32, "v")?,
                    );
                    let (y, _, _) = nn::fused_batch_norm(
                        &t[0],
                        &t[1],
                        &t[2],
                        Some(&mean),
                        Some(&var),
                        1e-3,
                        training,
                    )?;
                    let d = gradients(&[&y], &[&t[0], &t[1]], Some(&[&t[3]]))?;
                    assert_eq!(
                        d[which].as_ref().unwrap().op().op_type(),
                        "FusedBatchNormGradV3"
                    );
                    Ok(d[which].clone().unwrap())
                },
                1e-2,
                3e-2,
                3e-3,
            );
        }
    }
}

#[test]
fn the_layer_reads_the_training_tensor_at_every_run() {
    let g = Graph::new();
    let x = placeholder(&g, DType::F32, shape![?, 3, 2, 4], "x");
    let training = placeholder(&g, DType::Bool, shape![], "training");
    let y = BatchNormalization::new().apply(&x, &training).unwrap();
    assert_eq!(y.op().op_type(), "FusedBatchNormV3");
    let updates: Vec<_> = g.get_collection(GraphKeys::UPDATE_OPS);
    assert_eq!(updates.len(), 2);
    let mm = g
        .tensor_by_name("batch_normalization/moving_mean:0")
        .unwrap();
    let mv = g
        .tensor_by_name("batch_normalization/moving_variance:0")
        .unwrap();
    let sess = Session::new(&g);
    let init = rustflow_ops::global_variables_initializer(&g).unwrap();
    sess.run_op(&init, &FeedDict::new()).unwrap();
    let xv = shifted(&[5, 3, 2, 4], 11, 2.0);
    let xs = f32s(&xv);
    let (m, v) = naive_moments(&xs, 4);
    let mut fetches = vec![Fetch::from(&y)];
    let ops: Vec<_> = updates.iter().map(|u| u.op()).collect();
    fetches.extend(ops.iter().map(Fetch::from));
    // Evaluation: the moving statistics (0 and 1) normalize, and stay as they are.
    let mut out = sess
        .run(&fetches, &feed! { &x => xv.clone(), &training => false })
        .unwrap();
    let want: Vec<f64> = xs.iter().map(|&a| a as f64 / (1.001f64).sqrt()).collect();
    assert_close(&f32s(&out.take(0).unwrap()), &want, 1e-5, "y (evaluation)");
    assert_close(
        &f32s(&sess.eval(&mm, &FeedDict::new()).unwrap()),
        &[0.0; 4],
        0.0,
        "moving mean",
    );
    // Training: the batch's statistics, and the moving ones move by 1 - momentum.
    let mut out = sess
        .run(&fetches, &feed! { &x => xv.clone(), &training => true })
        .unwrap();
    let want: Vec<f64> = xs
        .iter()
        .enumerate()
        .map(|(i, &a)| (a as f64 - m[i % 4]) / (v[i % 4] + 1e-3).sqrt())
        .collect();
    assert_close(&f32s(&out.take(0).unwrap()), &want, 1e-4, "y (training)");
    let n = (xs.len() / 4) as f64;
    let want_mm: Vec<f64> = m.iter().map(|a| 0.01 * a).collect();
    let want_mv: Vec<f64> = v.iter().map(|a| 0.99 + 0.01 * a * n / (n - 1.0)).collect();
    assert_close(
        &f32s(&sess.eval(&mm, &FeedDict::new()).unwrap()),
        &want_mm,
        1e-5,
        "moving mean",
    );
    assert_close(
        &f32s(&sess.eval(&mv, &FeedDict::new()).unwrap()),
        &want_mv,
        1e-5,
        "moving variance",
    );
    // The gradient follows the mode of the run, as a fixed mode's does.
    for mode in [true, false] {
        check_gradients(
            &[random_value(&[2, 2, 2, 3], 12), Value::scalar(mode)],
            &[0],
            |_, t| BatchNormalization::new().apply(&t[0], &t[1]),
            1e-2,
            2e-2,
            2e-3,
        );
    }
}

#[test]
fn shapes_are_inferred_and_mismatches_name_the_op() {
    let g = Graph::new();
    let x = placeholder(&g, DType::F32, shape![?, 4, ?, ?], "x");
    let s = placeholder(&g, DType::F32, shape![3], "s");
    let o = placeholder(&g, DType::F32, shape![?], "o");
    let (y, m, v) = nn::fused_batch_norm(&x, &s, &o, None, None, 1e-3, true).unwrap();
    assert_eq!(y.shape().to_string(), "[?,4,?,3]");
    assert_eq!(
        (m.shape().to_string(), v.shape().to_string()),
        ("[3]".into(), "[3]".into())
    );
    assert_eq!(y.op().output(5).unwrap().shape().to_string(), "[0]");
    let x5 = placeholder(&g, DType::F32, shape![2, 2, 2, 5], "x5");
    let err = nn::fused_batch_norm(&x5, &s, &o, None, None, 1e-3, true).unwrap_err();
    assert!(err.to_string().contains("FusedBatchNormV3"), "{err}");
    let r3 = placeholder(&g, DType::F32, shape![2, 2, 3], "r3");
    assert!(nn::fused_batch_norm(&r3, &s, &o, None, None, 1e-3, true).is_err());
    // No channels: empty outputs, no panic.
    let none = |d: &[usize]| Value::new(d, Vec::<f32>::new()).unwrap();
    let x0 = placeholder(&g, DType::F32, shape![1, 2, 2, 0], "x0");
    let s0 = placeholder(&g, DType::F32, shape![0], "s0");
    let (y0, _, _) = nn::fused_batch_norm(&x0, &s0, &s0, None, None, 1e-3, true).unwrap();
    let got = Session::new(&g)
        .eval(
            &y0,
            &feed! { &x0 => none(&[1, 2, 2, 0]), &s0 => none(&[0]) },
        )
        .unwrap();
    assert_eq!(got.shape(), [1, 2, 2, 0]);
    // At run time, a fed offset of the wrong length fails the run, naming the op.
    let err = Session::new(&g)
        .eval(
            &y,
            &feed! { &x => Value::new(&[1, 4, 1, 3], vec![0f32; 12]).unwrap(),
            &s => Value::new(&[3], vec![1f32; 3]).unwrap(),
            &o => Value::new(&[2], vec![0f32; 2]).unwrap() },
        )
        .unwrap_err();
    assert!(err.to_string().contains("FusedBatchNormV3"), "{err}");
}
