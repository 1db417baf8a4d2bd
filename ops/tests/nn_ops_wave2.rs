//! The convolution variants and LRN against naive loops written here (random shapes,
//! strides, dilations and paddings), and numeric gradient checks of every new nn op.

mod support;

use rustflow_graph::{Graph, Result, Tensor, Value};
use rustflow_ops::nn::{self, Padding};
use rustflow_ops::{gradients, placeholder};
use rustflow_runtime::{FeedDict, Session};
use support::{check_gradients, pseudo, random_value};

/// Output size and padding before for a window spanning `span` inputs.
fn geometry(size: usize, span: usize, s: usize, pad: Padding) -> (usize, i64) {
    match pad {
        Padding::Valid => ((size - span) / s + 1, 0),
        Padding::Same => {
            let out = size.div_ceil(s);
            let total = ((out - 1) * s + span).saturating_sub(size);
            (out, (total / 2) as i64)
        }
    }
}

/// A direct 8-loop convolution: `depthwise` maps channel `c` and multiplier `j` to output
/// channel `c·m + j`; otherwise every input channel feeds every output channel.
#[allow(clippy::too_many_arguments)]
fn naive_conv(
    x: &[f32],
    xs: [usize; 4],
    f: &[f32],
    fs: [usize; 4],
    s: usize,
    d: usize,
    pad: Padding,
    depthwise: bool,
) -> (Vec<usize>, Vec<f64>) {
    let [n, h, w, c] = xs;
    let [kh, kw, _, m] = fs;
    let (oh, pt) = geometry(h, (kh - 1) * d + 1, s, pad);
    let (ow, pl) = geometry(w, (kw - 1) * d + 1, s, pad);
    let co = if depthwise { c * m } else { m };
    let mut y = vec![0f64; n * oh * ow * co];
    for b in 0..n {
        for i in 0..oh {
            for j in 0..ow {
                for ky in 0..kh {
                    for kx in 0..kw {
                        let iy = (i * s + ky * d) as i64 - pt;
                        let ix = (j * s + kx * d) as i64 - pl;
                        if iy < 0 || ix < 0 || iy >= h as i64 || ix >= w as i64 {
                            continue;
                        }
                        for ci in 0..c {
                            let xv = x[((b * h + iy as usize) * w + ix as usize) * c + ci] as f64;
                            for k in 0..m {
                                let fv = f[((ky * kw + kx) * c + ci) * m + k] as f64;
                                let o = if depthwise { ci * m + k } else { k };
                                y[((b * oh + i) * ow + j) * co + o] += xv * fv;
                            }
                        }
                    }
                }
            }
        }
    }
    (vec![n, oh, ow, co], y)
}

fn eval(t: &Tensor, feeds: &FeedDict) -> Value {
    Session::new(t.graph()).eval(t, feeds).expect("run")
}

fn assert_close(what: &str, got: &Value, want: &[f64], tol: f64) {
    let got = got.as_slice::<f32>().unwrap();
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g as f64 - w).abs() <= tol * (1.0 + w.abs()),
            "{what}: element {i}: got {g}, want {w}"
        );
    }
}

/// A pseudo-random integer in `lo..=hi`.
fn pick(i: usize, seed: u64, lo: usize, hi: usize) -> usize {
    lo + ((pseudo(i, seed) + 1.0) / 2.0 * (hi - lo + 1) as f32) as usize % (hi - lo + 1)
}

#[test]
fn dilated_and_depthwise_convolutions_match_direct_loops() {
    for t in 0..40u64 {
        let r = |i, lo, hi| pick(i, 500 + t, lo, hi);
        let (s, d) = (r(0, 1, 3), r(1, 1, 3));
        let (kh, kw) = (r(2, 1, 3), r(3, 1, 3));
        let (c, m, n) = (r(4, 1, 3), r(5, 1, 3), r(6, 1, 2));
        let pad = if t % 2 == 0 {
            Padding::Same
        } else {
            Padding::Valid
        };
        let (h, w) = ((kh - 1) * d + r(7, 1, 6), (kw - 1) * d + r(8, 1, 6));
        let depthwise = t % 3 == 0;
        let (xs, fs) = ([n, h, w, c], [kh, kw, c, m]);
        let (xv, fv) = (random_value(&xs, t), random_value(&fs, 100 + t));
        let g = Graph::new();
        let x = placeholder(&g, rustflow_graph::DType::F32, xs.to_vec(), "x");
        let f = placeholder(&g, rustflow_graph::DType::F32, fs.to_vec(), "f");
        let (st, dl) = ([1, s, s, 1], [1, d, d, 1]);
        let y = if depthwise {
            nn::depthwise_conv2d(&x, &f, st, pad, dl)
        } else {
            nn::conv2d_dilated(&x, &f, st, pad, dl)
        }
        .unwrap();
        let got = eval(
            &y,
            &rustflow_runtime::feed! { &x => xv.clone(), &f => fv.clone() },
        );
        let (shape, want) = naive_conv(
            xv.as_slice().unwrap(),
            xs,
            fv.as_slice().unwrap(),
            fs,
            s,
            d,
            pad,
            depthwise,
        );
        let what = format!("case {t}: x {xs:?} f {fs:?} s {s} d {d} {pad} depthwise {depthwise}");
        assert_eq!(got.shape(), &shape[..], "{what}");
        assert_close(&what, &got, &want, 1e-5);
    }
}

#[test]
fn conv2d_transpose_is_the_adjoint_of_conv2d() {
    // <conv2d(y, f), v> = <y, conv2d_transpose(v, f)> for every y: checked on the unit
    // vectors, i.e. element by element against the naive convolution.
    for (t, (out, k, s, pad)) in [
        ([1, 5, 5, 2], 3, 2, Padding::Same),
        ([2, 6, 6, 2], 3, 2, Padding::Same),
        ([1, 7, 7, 1], 3, 2, Padding::Valid),
        ([1, 6, 5, 3], 2, 3, Padding::Valid),
        ([1, 4, 4, 2], 1, 1, Padding::Same),
    ]
    .into_iter()
    .enumerate()
    {
        let fs = [k, k, out[3], 2];
        let (oh, _) = geometry(out[1], k, s, pad);
        let (ow, _) = geometry(out[2], k, s, pad);
        let vs = [out[0], oh, ow, 2];
        let (vv, fv) = (
            random_value(&vs, 40 + t as u64),
            random_value(&fs, 50 + t as u64),
        );
        let g = Graph::new();
        let v = placeholder(&g, rustflow_graph::DType::F32, vs.to_vec(), "v");
        let f = placeholder(&g, rustflow_graph::DType::F32, fs.to_vec(), "f");
        let y = nn::conv2d_transpose(&v, &f, out, [1, s, s, 1], pad).unwrap();
        let got = eval(
            &y,
            &rustflow_runtime::feed! { &v => vv.clone(), &f => fv.clone() },
        );
        let len: usize = out.iter().product();
        let want: Vec<f64> = (0..len)
            .map(|e| {
                let mut unit = vec![0f32; len];
                unit[e] = 1.0;
                let (_, conv) =
                    naive_conv(&unit, out, fv.as_slice().unwrap(), fs, s, 1, pad, false);
                conv.iter()
                    .zip(vv.as_slice::<f32>().unwrap())
                    .map(|(a, &b)| a * b as f64)
                    .sum()
            })
            .collect();
        assert_close(&format!("case {t}"), &got, &want, 1e-5);
    }
}

#[test]
fn lrn_matches_its_formula() {
    let xs = [2, 2, 3, 7];
    let xv = random_value(&xs, 9);
    let (r, bias, alpha, beta) = (2usize, 1.5f32, 0.3f32, 0.6f32);
    let g = Graph::new();
    let x = placeholder(&g, rustflow_graph::DType::F32, xs.to_vec(), "x");
    let y = nn::local_response_normalization(&x, r, bias, alpha, beta).unwrap();
    let got = eval(&y, &rustflow_runtime::feed! { &x => xv.clone() });
    let xs_: Vec<f64> = xv
        .as_slice::<f32>()
        .unwrap()
        .iter()
        .map(|&v| v as f64)
        .collect();
    let want: Vec<f64> = (0..xs_.len())
        .map(|e| {
            let (row, k) = (e / 7 * 7, e % 7);
            let s: f64 = (k.saturating_sub(r)..(k + r + 1).min(7))
                .map(|j| xs_[row + j] * xs_[row + j])
                .sum();
            xs_[e] / (bias as f64 + alpha as f64 * s).powf(beta as f64)
        })
        .collect();
    assert_close("lrn", &got, &want, 1e-6);
}

#[test]
fn gradients_of_the_convolution_variants() {
    let same = Padding::Same;
    let valid = Padding::Valid;
    type Case = (bool, [usize; 4], [usize; 4], usize, usize, Padding);
    let cases: [Case; 4] = [
        (false, [1, 7, 7, 2], [3, 3, 2, 2], 1, 2, same),
        (false, [2, 8, 7, 1], [2, 3, 1, 2], 2, 2, valid),
        (true, [1, 5, 5, 2], [3, 3, 2, 2], 1, 1, same),
        (true, [2, 6, 6, 3], [3, 2, 3, 1], 2, 2, valid),
    ];
    for (t, (depthwise, xs, fs, s, d, pad)) in cases.into_iter().enumerate() {
        let op = move |a: &Tensor, b: &Tensor| {
            if depthwise {
                nn::depthwise_conv2d(a, b, [1, s, s, 1], pad, [1, d, d, 1])
            } else {
                nn::conv2d_dilated(a, b, [1, s, s, 1], pad, [1, d, d, 1])
            }
        };
        let inputs = [
            random_value(&xs, 60 + t as u64),
            random_value(&fs, 70 + t as u64),
        ];
        check_gradients(&inputs, &[], |_, x| op(&x[0], &x[1]), 1e-2, 1e-2, 2e-3);
        // Second order: the input gradient's and the filter gradient's own gradients.
        let y_shape = {
            let g = Graph::new();
            let a = placeholder(&g, rustflow_graph::DType::F32, xs.to_vec(), "a");
            let b = placeholder(&g, rustflow_graph::DType::F32, fs.to_vec(), "b");
            op(&a, &b)
                .unwrap()
                .shape()
                .dims()
                .unwrap()
                .iter()
                .map(|d| d.unwrap())
                .collect::<Vec<_>>()
        };
        let mut all = inputs.to_vec();
        all.push(random_value(&y_shape, 80 + t as u64));
        for (wrt, check) in [(0usize, [1usize, 2]), (1, [0, 2])] {
            check_gradients(
                &all,
                &check,
                |_, x| first_order(&op(&x[0], &x[1])?, &x[wrt], &x[2]),
                1e-2,
                1e-2,
                2e-3,
            );
        }
    }
    let (v, f) = (
        random_value(&[1, 3, 3, 2], 90),
        random_value(&[3, 3, 2, 2], 91),
    );
    check_gradients(
        &[v, f],
        &[],
        |_, x| nn::conv2d_transpose(&x[0], &x[1], [1, 6, 6, 2], [1, 2, 2, 1], Padding::Same),
        1e-2,
        1e-2,
        2e-3,
    );
}

/// `gradients(y, x, grad_ys = dy)`.
fn first_order(y: &Tensor, x: &Tensor, dy: &Tensor) -> Result<Tensor> {
    Ok(gradients(&[y], &[x], Some(&[dy]))?
        .remove(0)
        .expect("a gradient"))
}

#[test]
fn gradients_of_the_normalizations_and_losses() {
    let x = random_value(&[2, 2, 3, 5], 1);
    check_gradients(
        std::slice::from_ref(&x),
        &[],
        |_, t| nn::local_response_normalization(&t[0], 2, 1.0, 0.5, 0.75),
        1e-2,
        1e-2,
        1e-3,
    );
    let (z, l) = (random_value(&[3, 4], 2), random_value(&[3, 4], 3));
    check_gradients(
        &[z.clone(), l.clone()],
        &[],
        |_, t| nn::sigmoid_cross_entropy_with_logits(&t[0], &t[1]),
        1e-2,
        1e-2,
        1e-3,
    );
    check_gradients(
        &[z, l],
        &[],
        |_, t| nn::weighted_cross_entropy_with_logits(&t[0], &t[1], 2.5),
        1e-2,
        1e-2,
        1e-3,
    );
    let sum2 = |a: Tensor, b: Tensor| rustflow_ops::add(&a, &b);
    check_gradients(
        std::slice::from_ref(&x),
        &[],
        |_, t| {
            let (m, v) = nn::moments(&t[0], [0, 1, 2], true)?;
            sum2(m, v)
        },
        1e-2,
        1e-2,
        1e-3,
    );
    let c = |s| {
        let v = random_value(&[5], s);
        Value::new(
            &[5],
            v.as_slice::<f32>()
                .unwrap()
                .iter()
                .map(|a| a.abs() + 0.5)
                .collect(),
        )
        .unwrap()
    };
    let stats = [
        x.clone(),
        random_value(&[5], 4),
        c(5),
        random_value(&[5], 6),
        c(7),
    ];
    check_gradients(
        &stats,
        &[],
        |_, t| nn::batch_normalization(&t[0], &t[1], &t[2], Some(&t[3]), Some(&t[4]), 1e-3),
        1e-2,
        1e-2,
        1e-3,
    );
    for training in [true, false] {
        let inputs = [
            x.clone(),
            c(8),
            random_value(&[5], 9),
            random_value(&[5], 10),
            c(11),
        ];
        check_gradients(
            &inputs,
            &[0, 1, 2],
            |_, t| {
                let (y, _, _) = nn::fused_batch_norm(
                    &t[0],
                    &t[1],
                    &t[2],
                    Some(&t[3]),
                    Some(&t[4]),
                    1e-3,
                    training,
                )?;
                Ok(y)
            },
            1e-2,
            2e-2,
            2e-3,
        );
    }
}

#[test]
fn wrong_shapes_are_errors_naming_the_op() {
    use rustflow_graph::{shape, DType};
    let g = Graph::new();
    let x = placeholder(&g, DType::F32, shape![?, 5, 5, 3], "x");
    let f2 = placeholder(&g, DType::F32, shape![3, 3, 2, 2], "f2");
    let same = Padding::Same;
    let one = [1, 1, 1, 1];
    let msg = |r: Result<Tensor>| r.expect_err("an error").to_string();
    assert!(msg(nn::depthwise_conv2d(&x, &f2, one, same, one)).contains("DepthwiseConv2dNative"));
    assert!(msg(nn::conv2d_dilated(&x, &f2, one, same, [1, 2, 2, 1])).contains("Conv2D"));
    assert!(msg(nn::conv2d_dilated(&x, &f2, one, same, [2, 1, 1, 1])).contains("dilations"));
    let rank3 = placeholder(&g, DType::F32, shape![?, 5, 3], "r3");
    assert!(msg(nn::local_response_normalization(&rank3, 2, 1.0, 1.0, 0.5)).contains("LRN"));
    let v = placeholder(&g, DType::F32, shape![1, 3, 3, 2], "v");
    let ft = placeholder(&g, DType::F32, shape![3, 3, 4, 2], "ft");
    assert!(nn::conv2d_transpose(&v, &ft, [1, 6, 6, 4], [1, 2, 2, 1], same).is_ok());
    assert!(msg(nn::conv2d_transpose(
        &v,
        &ft,
        [1, 6, 6, 3],
        [1, 2, 2, 1],
        same
    ))
    .contains("Conv2DBackpropInput"));
    assert!(nn::fused_batch_norm(&x, &v, &v, None, None, 1e-3, false).is_err());
    // Run time: a fed input whose depth is not the filter's fails the run, naming the op.
    let any = placeholder(&g, DType::F32, shape![?, ?, ?, ?], "any");
    let f3 = placeholder(&g, DType::F32, shape![2, 2, 3, 2], "f3");
    let y = nn::depthwise_conv2d(&any, &f3, one, same, one).unwrap();
    let err = Session::new(&g)
        .eval(
            &y,
            &rustflow_runtime::feed! { &any => random_value(&[1, 4, 4, 2], 1), &f3 => random_value(&[2, 2, 3, 2], 2) },
        )
        .expect_err("a depth mismatch")
        .to_string();
    assert!(
        err.contains("DepthwiseConv2dNative") && err.contains("[1,4,4,2]"),
        "{err}"
    );
}

/// The table `[rows, 2, 3]` whose row `id` holds `100 id + k`, split into shards that list
/// their ids (written out by hand for each strategy), looked up at ids of rank 2 with
/// repeats, in both index dtypes.
#[test]
fn embedding_lookup_over_shards_matches_the_table() {
    use nn::PartitionStrategy::{Div, Mod};
    use rustflow_graph::DType;
    let row = |id: usize| (0..6).map(move |k| (100 * id + k) as f32);
    let shard = |ids: &[usize]| {
        Value::new(
            &[ids.len(), 2, 3],
            ids.iter().flat_map(|&i| row(i)).collect(),
        )
        .unwrap()
    };
    let layouts: [(nn::PartitionStrategy, &[&[usize]]); 5] = [
        // tf.nn.embedding_lookup's own split of 7 rows over 3 shards, and of 10 and 5 rows.
        (Mod, &[&[0, 3, 6], &[1, 4], &[2, 5]]),
        (Div, &[&[0, 1, 2], &[3, 4], &[5, 6]]),
        (Div, &[&[0, 1, 2, 3], &[4, 5, 6], &[7, 8, 9]]),
        (Mod, &[&[0, 2, 4], &[1, 3]]),
        (Div, &[&[0, 1, 2], &[3, 4]]),
    ];
    for (strategy, layout) in layouts {
        let total: usize = layout.iter().map(|s| s.len()).sum();
        let ids: Vec<usize> = (0..8)
            .map(|i| (i * 5 + 3) % total)
            .chain([0, 0, total - 1, total - 1])
            .collect();
        for dtype in [DType::I32, DType::I64] {
            let g = Graph::new();
            let vals: Vec<Value> = layout.iter().map(|s| shard(s)).collect();
            let ps: Vec<Tensor> = (0..vals.len())
                .map(|k| {
                    placeholder(
                        &g,
                        DType::F32,
                        rustflow_graph::shape![?, 2, 3],
                        &format!("p{k}"),
                    )
                })
                .collect();
            let id_val = match dtype {
                DType::I32 => Value::new(&[3, 4], ids.iter().map(|&i| i as i32).collect()),
                _ => Value::new(&[3, 4], ids.iter().map(|&i| i as i64).collect()),
            }
            .unwrap();
            let idt = placeholder(&g, dtype, rustflow_graph::shape![3, ?], "ids");
            let y =
                nn::embedding_lookup(&ps.iter().collect::<Vec<_>>(), &idt, strategy, None).unwrap();
            assert_eq!(y.shape().to_string(), "[3,?,2,3]");
            let mut feeds = FeedDict::new();
            for (p, v) in ps.iter().zip(&vals) {
                feeds.insert(p, v.clone());
            }
            feeds.insert(&idt, id_val);
            let got = eval(&y, &feeds);
            assert_eq!(got.shape(), &[3, 4, 2, 3]);
            let want: Vec<f64> = ids.iter().flat_map(|&i| row(i)).map(f64::from).collect();
            assert_close(
                &format!("{strategy:?} {layout:?} {dtype}"),
                &got,
                &want,
                0.0,
            );
        }
    }
}

#[test]
fn embedding_lookup_gradients_reach_every_shard() {
    use rustflow_graph::DType;
    let ids = Value::new(&[2, 3], vec![4i64, 0, 4, 2, 6, 1]).unwrap();
    for strategy in [nn::PartitionStrategy::Mod, nn::PartitionStrategy::Div] {
        let shards = [
            random_value(&[3, 2], 1),
            random_value(&[2, 2], 2),
            random_value(&[2, 2], 3),
        ];
        let mut inputs = shards.to_vec();
        inputs.push(ids.clone());
        check_gradients(
            &inputs,
            &[],
            |_, t| nn::embedding_lookup(&[&t[0], &t[1], &t[2]], &t[3], strategy, None),
            1e-2,
            1e-3,
            1e-4,
        );
        // max_norm: rows scaled down to norm 0.5 (the norm's gradient included).
        check_gradients(
            &inputs,
            &[],
            |_, t| nn::embedding_lookup(&[&t[0], &t[1], &t[2]], &t[3], strategy, Some(0.5)),
            1e-3,
            1e-2,
            1e-3,
        );
    }
    // The dense gradient of one shard: repeated ids add their upstream rows.
    let g = Graph::new();
    let p = placeholder(&g, DType::F32, rustflow_graph::shape![2, 1], "p");
    let q = placeholder(&g, DType::F32, rustflow_graph::shape![2, 1], "q");
    let i = rustflow_ops::constant(&g, [1i32, 1, 2, 1], "ids");
    let y = nn::embedding_lookup(&[&p, &q], &i, nn::PartitionStrategy::Mod, None).unwrap();
    let u = rustflow_ops::constant(
        &g,
        Value::new(&[4, 1], vec![1f32, 2.0, 4.0, 8.0]).unwrap(),
        "u",
    );
    let loss = rustflow_ops::reduce_sum(&rustflow_ops::mul(&y, &u).unwrap(), None, false).unwrap();
    let d = gradients(&[&loss], &[&p, &q], None).unwrap();
    let feeds = rustflow_runtime::feed! { &p => Value::new(&[2, 1], vec![0f32, 0.0]).unwrap(), &q => Value::new(&[2, 1], vec![0f32, 0.0]).unwrap() };
    // id 1 is shard 1 row 0 (three times), id 2 is shard 0 row 1.
    assert_close(
        "dp",
        &eval(d[0].as_ref().unwrap(), &feeds),
        &[0.0, 4.0],
        0.0,
    );
    assert_close(
        "dq",
        &eval(d[1].as_ref().unwrap(), &feeds),
        &[11.0, 0.0],
        0.0,
    );
}

#[test]
fn embedding_lookup_max_norm_and_errors() {
    use rustflow_graph::{shape, DType};
    let g = Graph::new();
    let p = placeholder(&g, DType::F32, shape![3, 2], "p");
    let ids = placeholder(&g, DType::I32, shape![?], "ids");
    let y = nn::embedding_lookup(&[&p], &ids, nn::PartitionStrategy::Mod, Some(1.0)).unwrap();
    let table = Value::new(&[3, 2], vec![3f32, 4.0, 0.3, 0.4, 0.0, 2.0]).unwrap();
    let feeds = rustflow_runtime::feed! { &p => table.clone(), &ids => Value::new(&[3], vec![0i32, 1, 2]).unwrap() };
    assert_close(
        "max_norm",
        &eval(&y, &feeds),
        &[0.6, 0.8, 0.3, 0.4, 0.0, 1.0],
        1e-6,
    );
    // An id past the table fails the run, naming the gather node.
    let bad =
        rustflow_runtime::feed! { &p => table, &ids => Value::new(&[2], vec![0i32, 3]).unwrap() };
    let err = Session::new(&g)
        .eval(&y, &bad)
        .expect_err("out of range")
        .to_string();
    assert!(err.contains("embedding_lookup/GatherV2"), "{err}");
    // Build-time errors name the op and the shards.
    let q = placeholder(&g, DType::F32, shape![3, 5], "q");
    let f = placeholder(&g, DType::F32, shape![4], "f");
    let msg = |r: Result<Tensor>| r.expect_err("an error").to_string();
    let m = nn::PartitionStrategy::Mod;
    assert!(msg(nn::embedding_lookup(&[], &ids, m, None)).contains("at least one"));
    assert!(msg(nn::embedding_lookup(&[&p, &q], &ids, m, None)).contains("q:0"));
    assert!(msg(nn::embedding_lookup(&[&p], &f, m, None)).contains("GatherV2"));
    assert_eq!(
        "div".parse::<nn::PartitionStrategy>(),
        Ok(nn::PartitionStrategy::Div)
    );
    assert!("ids".parse::<nn::PartitionStrategy>().is_err());
}
