//! The `nn` and random ops against independent references: naive kernels written here (a
//! direct 7-loop convolution, direct pooling with TensorFlow's tie rules) and the statistical
//! properties of dropout and random ops (TensorFlow's own numbers from the golden files are
//! checked by the workspace's `tests/golden.rs`).

mod support;

use rustflow_graph::{shape, DType, Error, Graph, Shape, Tensor, Value};
use rustflow_ops::nn::{self, Padding};
use rustflow_ops::{
    constant, gradients, placeholder, random_normal, random_uniform, truncated_normal,
};
use rustflow_runtime::{FeedDict, Fetch, Session};
use support::random_value;

// ---------------------------------------------------------------------------------------
// Helpers

fn run(sess: &Session, fetches: &[&Tensor], feeds: &FeedDict) -> Vec<Value> {
    let f: Vec<Fetch> = fetches.iter().map(|t| Fetch::from(*t)).collect();
    let mut out = sess.run(&f, feeds).expect("run");
    (0..fetches.len()).map(|i| out.take(i).unwrap()).collect()
}

fn f32s(v: &Value) -> Vec<f32> {
    v.as_slice::<f32>().unwrap().to_vec()
}

fn assert_close(what: &str, got: &[f32], want: &[f64], rtol: f64, atol: f64) {
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g as f64 - w).abs() <= atol + rtol * w.abs(),
            "{what}: element {i}: got {g}, want {w}"
        );
    }
}

/// Output size and padding before, computed independently of the crate.
fn geometry(size: usize, k: usize, s: usize, pad: Padding) -> (usize, i64) {
    match pad {
        Padding::Same => {
            let out = size.div_ceil(s);
            let total = ((out - 1) * s + k).saturating_sub(size);
            (out, (total / 2) as i64)
        }
        Padding::Valid => ((size - k) / s + 1, 0),
    }
}

/// Values in [-1, 1) quantized to a few levels, so that pooling windows hold ties.
fn tied_value(shape: &[usize], seed: u64) -> Value {
    let v = random_value(shape, seed);
    let q: Vec<f32> = f32s(&v).iter().map(|x| (x * 2.0).round() / 2.0).collect();
    Value::new(shape, q).unwrap()
}

// ---------------------------------------------------------------------------------------
// Naive references

struct Conv {
    x: [usize; 4],
    f: [usize; 4],
    s: usize,
    pad: Padding,
}

impl Conv {
    fn out(&self) -> [usize; 4] {
        let (oh, _) = geometry(self.x[1], self.f[0], self.s, self.pad);
        let (ow, _) = geometry(self.x[2], self.f[1], self.s, self.pad);
        [self.x[0], oh, ow, self.f[3]]
    }

    /// Calls `visit(x index, filter index, output index)` for every product of the
    /// convolution: the direct 7-loop definition.
    fn for_each(&self, mut visit: impl FnMut(usize, usize, usize)) {
        let [n, h, w, ci] = self.x;
        let [kh, kw, _, co] = self.f;
        let [_, oh, ow, _] = self.out();
        let (_, pt) = geometry(h, kh, self.s, self.pad);
        let (_, pl) = geometry(w, kw, self.s, self.pad);
        for b in 0..n {
            for i in 0..oh {
                for j in 0..ow {
                    for o in 0..co {
                        for p in 0..kh {
                            for q in 0..kw {
                                for c in 0..ci {
                                    let ih = (i * self.s + p) as i64 - pt;
                                    let iw = (j * self.s + q) as i64 - pl;
                                    if ih < 0 || iw < 0 || ih >= h as i64 || iw >= w as i64 {
                                        continue;
                                    }
                                    let xi = ((b * h + ih as usize) * w + iw as usize) * ci + c;
                                    let fi = ((p * kw + q) * ci + c) * co + o;
                                    let yi = ((b * oh + i) * ow + j) * co + o;
                                    visit(xi, fi, yi);
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /// (y, dx, df) for input `x`, filter `f` and upstream `u`, in f64.
    fn reference(&self, x: &[f32], f: &[f32], u: &[f32]) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
        let mut y = vec![0f64; self.out().iter().product()];
        let mut dx = vec![0f64; x.len()];
        let mut df = vec![0f64; f.len()];
        self.for_each(|xi, fi, yi| {
            y[yi] += x[xi] as f64 * f[fi] as f64;
            dx[xi] += u[yi] as f64 * f[fi] as f64;
            df[fi] += u[yi] as f64 * x[xi] as f64;
        });
        (y, dx, df)
    }
}

#[derive(Clone, Copy)]
enum PoolKind {
    Max,
    Avg,
}

/// Direct pooling: (y, dx) for `x` with upstream `u`. Max: padding is -inf, the gradient
/// goes to the first maximum in row-major order; avg: divides by the in-bounds count.
fn naive_pool(
    kind: PoolKind,
    x: &[f32],
    xs: [usize; 4],
    k: usize,
    s: usize,
    pad: Padding,
    u: &[f32],
) -> (Vec<f64>, Vec<f64>) {
    let [n, h, w, c] = xs;
    let (oh, pt) = geometry(h, k, s, pad);
    let (ow, pl) = geometry(w, k, s, pad);
    let mut y = vec![0f64; n * oh * ow * c];
    let mut dx = vec![0f64; x.len()];
    for b in 0..n {
        for i in 0..oh {
            for j in 0..ow {
                for ch in 0..c {
                    let yi = ((b * oh + i) * ow + j) * c + ch;
                    let mut best: Option<(f32, usize)> = None;
                    let mut members = vec![];
                    for p in 0..k {
                        for q in 0..k {
                            let ih = (i * s + p) as i64 - pt;
                            let iw = (j * s + q) as i64 - pl;
                            if ih < 0 || iw < 0 || ih >= h as i64 || iw >= w as i64 {
                                continue;
                            }
                            let xi = ((b * h + ih as usize) * w + iw as usize) * c + ch;
                            members.push(xi);
                            if best.is_none_or(|(v, _)| x[xi] > v) {
                                best = Some((x[xi], xi));
                            }
                        }
                    }
                    match kind {
                        PoolKind::Max => {
                            let (v, at) = best.unwrap();
                            y[yi] = v as f64;
                            dx[at] += u[yi] as f64;
                        }
                        PoolKind::Avg => {
                            let cnt = members.len() as f64;
                            y[yi] = members.iter().map(|&m| x[m] as f64).sum::<f64>() / cnt;
                            for &m in &members {
                                dx[m] += u[yi] as f64 / cnt;
                            }
                        }
                    }
                }
            }
        }
    }
    (y, dx)
}

// ---------------------------------------------------------------------------------------
// conv2d

fn check_conv(case: Conv, seed: u64) {
    let x = random_value(&case.x, seed);
    let f = random_value(&case.f, seed + 1);
    let u = random_value(&case.out(), seed + 2);
    let g = Graph::new();
    let xt = placeholder(&g, DType::F32, case.x.to_vec(), "x");
    let ft = placeholder(&g, DType::F32, case.f.to_vec(), "f");
    let ut = constant(&g, u.clone(), "u");
    let s = case.s;
    let y = nn::conv2d(&xt, &ft, [1, s, s, 1], case.pad).unwrap();
    assert_eq!(y.shape(), Shape::known(&case.out()));
    let d = gradients(&[&y], &[&xt, &ft], Some(&[&ut])).unwrap();
    let (dx, df) = (d[0].clone().unwrap(), d[1].clone().unwrap());
    assert_eq!(dx.op().op_type(), "Conv2DBackpropInput");
    assert_eq!(df.op().op_type(), "Conv2DBackpropFilter");
    let sess = Session::new(&g);
    let feeds = FeedDict::new().with(&xt, x.clone()).with(&ft, f.clone());
    let out = run(&sess, &[&y, &dx, &df], &feeds);
    let (ry, rdx, rdf) = case.reference(&f32s(&x), &f32s(&f), &f32s(&u));
    let label = format!("conv x{:?} f{:?} s{} {}", case.x, case.f, case.s, case.pad);
    assert_eq!(out[0].shape(), &case.out());
    assert_eq!(out[1].shape(), &case.x);
    assert_eq!(out[2].shape(), &case.f);
    assert_close(&format!("{label}: y"), &f32s(&out[0]), &ry, 1e-4, 1e-4);
    assert_close(&format!("{label}: dx"), &f32s(&out[1]), &rdx, 1e-4, 1e-4);
    assert_close(&format!("{label}: df"), &f32s(&out[2]), &rdf, 1e-4, 1e-3);
}

#[test]
fn conv2d_matches_naive_convolution() {
    use Padding::*;
    let cases = [
        Conv {
            x: [2, 7, 7, 1],
            f: [3, 3, 1, 2],
            s: 1,
            pad: Same,
        },
        Conv {
            x: [2, 7, 7, 1],
            f: [3, 3, 1, 2],
            s: 2,
            pad: Same,
        },
        Conv {
            x: [2, 7, 7, 2],
            f: [5, 5, 2, 3],
            s: 1,
            pad: Valid,
        },
        Conv {
            x: [1, 8, 8, 2],
            f: [3, 3, 2, 2],
            s: 2,
            pad: Same,
        },
        Conv {
            x: [2, 8, 8, 1],
            f: [3, 3, 1, 2],
            s: 2,
            pad: Valid,
        },
        Conv {
            x: [3, 14, 14, 3],
            f: [5, 5, 3, 5],
            s: 2,
            pad: Valid,
        },
        Conv {
            x: [2, 9, 6, 3],
            f: [2, 3, 3, 4],
            s: 3,
            pad: Same,
        },
        Conv {
            x: [1, 5, 5, 2],
            f: [5, 5, 2, 3],
            s: 1,
            pad: Valid,
        },
        Conv {
            x: [1, 3, 4, 2],
            f: [5, 5, 2, 2],
            s: 1,
            pad: Same,
        },
        Conv {
            x: [2, 4, 5, 3],
            f: [1, 1, 3, 4],
            s: 1,
            pad: Same,
        },
        Conv {
            x: [2, 5, 5, 3],
            f: [1, 1, 3, 2],
            s: 2,
            pad: Valid,
        },
        Conv {
            x: [2, 6, 6, 2],
            f: [4, 4, 2, 3],
            s: 2,
            pad: Same,
        },
    ];
    for (i, c) in cases.into_iter().enumerate() {
        check_conv(c, 10 * i as u64);
    }
}

#[test]
fn conv2d_many_chunks_match_naive_convolution() {
    // Batches large enough to be split into chunks that run in parallel, and filter
    // gradients summed over several partial groups.
    let cases = [
        ([20, 28, 28, 8], [5, 5, 8, 4], 1, Padding::Same, 500),
        ([60, 10, 10, 3], [3, 3, 3, 4], 1, Padding::Same, 600),
        ([37, 11, 9, 2], [3, 2, 2, 3], 2, Padding::Valid, 700),
        ([40, 6, 6, 64], [1, 1, 64, 8], 1, Padding::Same, 800),
    ];
    for (x, f, s, pad, seed) in cases {
        check_conv(Conv { x, f, s, pad }, seed);
    }
}

#[test]
fn conv2d_static_shapes() {
    let g = Graph::new();
    let x = placeholder(&g, DType::F32, shape![?, 28, 28, 1], "x");
    let w = placeholder(&g, DType::F32, shape![5, 5, 1, 32], "w");
    let y = nn::conv2d(&x, &w, [1, 1, 1, 1], Padding::Same).unwrap();
    assert_eq!(y.shape().to_string(), "[?,28,28,32]");
    assert_eq!(y.name(), "Conv2D:0");
    let y = nn::conv2d(&x, &w, [1, 2, 2, 1], Padding::Valid).unwrap();
    assert_eq!(y.shape().to_string(), "[?,12,12,32]");
    let y = nn::conv2d(&x, &w, [1, 2, 2, 1], Padding::Same).unwrap();
    assert_eq!(y.shape().to_string(), "[?,14,14,32]");
    let any = placeholder(&g, DType::F32, Shape::unknown(), "any");
    assert_eq!(
        nn::conv2d(&any, &w, [1, 1, 1, 1], Padding::Same)
            .unwrap()
            .shape()
            .to_string(),
        "[?,?,?,32]"
    );
}

#[test]
fn conv2d_build_errors() {
    let g = Graph::new();
    let x = placeholder(&g, DType::F32, shape![?, 28, 28, 1], "x");
    let w = placeholder(&g, DType::F32, shape![5, 5, 1, 32], "w");
    let w3 = placeholder(&g, DType::F32, shape![5, 5, 3, 32], "w3");
    let e = nn::conv2d(&x, &w3, [1, 1, 1, 1], Padding::Same).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::Shape { .. }), "{msg}");
    assert!(
        msg.contains("[?,28,28,1]") && msg.contains("[5,5,3,32]") && msg.contains("'Conv2D'"),
        "{msg}"
    );
    assert!(msg.contains("but are 1 and 3"), "{msg}");
    for strides in [[1, 0, 1, 1], [1, 1, 0, 1], [2, 1, 1, 1], [1, 1, 1, 2]] {
        let e = nn::conv2d(&x, &w, strides, Padding::Same).unwrap_err();
        assert!(
            matches!(e, Error::InvalidArgument { .. }),
            "{strides:?}: {e}"
        );
    }
    let small = placeholder(&g, DType::F32, shape![1, 3, 3, 1], "small");
    let e = nn::conv2d(&small, &w, [1, 1, 1, 1], Padding::Valid).unwrap_err();
    assert!(e.to_string().contains("larger than the input"), "{e}");
    assert!(nn::conv2d(&small, &w, [1, 1, 1, 1], Padding::Same).is_ok());
    let rank3 = placeholder(&g, DType::F32, shape![28, 28, 1], "rank3");
    assert!(nn::conv2d(&rank3, &w, [1, 1, 1, 1], Padding::Same)
        .unwrap_err()
        .to_string()
        .contains("rank 4"));
    let frank3 = placeholder(&g, DType::F32, shape![5, 5, 1], "frank3");
    assert!(nn::conv2d(&x, &frank3, [1, 1, 1, 1], Padding::Same).is_err());
    let xi = placeholder(&g, DType::I32, shape![?, 28, 28, 1], "xi");
    assert!(matches!(
        nn::conv2d(&xi, &w, [1, 1, 1, 1], Padding::Same),
        Err(Error::Type { .. })
    ));
    let other = Graph::new();
    let wo = placeholder(&other, DType::F32, shape![5, 5, 1, 32], "w");
    assert!(matches!(
        nn::conv2d(&x, &wo, [1, 1, 1, 1], Padding::Same),
        Err(Error::ForeignGraph { .. })
    ));
    // Nothing was added by the failed builds: the one Conv2D node is the SAME one above.
    let convs = g
        .node_ids()
        .into_iter()
        .filter(|&id| g.node(id).op.op_type() == "Conv2D")
        .count();
    assert_eq!(convs, 1);
}

#[test]
fn conv2d_run_errors_name_the_node() {
    let g = Graph::new();
    let x = placeholder(&g, DType::F32, shape![?, ?, ?, ?], "x");
    let w = placeholder(&g, DType::F32, shape![5, 5, ?, 2], "w");
    let y = nn::conv2d(&x, &w, [1, 1, 1, 1], Padding::Valid).unwrap();
    let sess = Session::new(&g);
    let feeds = FeedDict::new()
        .with(&x, random_value(&[1, 3, 3, 1], 1))
        .with(&w, random_value(&[5, 5, 1, 2], 2));
    let e = sess.eval(&y, &feeds).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, Error::InvalidArgument { .. }), "{msg}");
    assert!(
        msg.contains("Conv2D") && msg.contains("[1,3,3,1]") && msg.contains("[5,5,1,2]"),
        "{msg}"
    );
    let feeds = FeedDict::new()
        .with(&x, random_value(&[1, 6, 6, 3], 1))
        .with(&w, random_value(&[5, 5, 1, 2], 2));
    let msg = sess.eval(&y, &feeds).unwrap_err().to_string();
    assert!(msg.contains("but are 3 and 1"), "{msg}");
}

#[test]
fn padding_parses_and_formats() {
    assert_eq!("SAME".parse::<Padding>(), Ok(Padding::Same));
    assert_eq!("VALID".parse::<Padding>(), Ok(Padding::Valid));
    assert!("same".parse::<Padding>().is_err());
    assert_eq!(Padding::Same.to_string(), "SAME");
    // SAME: out = ceil(in / s), pad_before = floor(total / 2).
    assert_eq!(Padding::Same.output_size(7, 3, 2), Ok((4, 1)));
    assert_eq!(Padding::Same.output_size(8, 3, 2), Ok((4, 0)));
    assert_eq!(Padding::Same.output_size(6, 4, 2), Ok((3, 1)));
    assert_eq!(Padding::Valid.output_size(7, 3, 2), Ok((3, 0)));
    assert!(Padding::Valid.output_size(7, 3, 0).is_err());
    assert!(Padding::Same.output_size(7, 0, 1).is_err());
}

// ---------------------------------------------------------------------------------------
// Pooling

fn check_pool(
    kind: PoolKind,
    xs: [usize; 4],
    k: usize,
    s: usize,
    pad: Padding,
    x: Value,
    seed: u64,
) {
    let (oh, _) = geometry(xs[1], k, s, pad);
    let (ow, _) = geometry(xs[2], k, s, pad);
    let ys = [xs[0], oh, ow, xs[3]];
    let u = random_value(&ys, seed);
    let g = Graph::new();
    let xt = placeholder(&g, DType::F32, xs.to_vec(), "x");
    let ut = constant(&g, u.clone(), "u");
    let y = match kind {
        PoolKind::Max => nn::max_pool(&xt, [1, k, k, 1], [1, s, s, 1], pad),
        PoolKind::Avg => nn::avg_pool(&xt, [1, k, k, 1], [1, s, s, 1], pad),
    }
    .unwrap();
    assert_eq!(y.shape(), Shape::known(&ys));
    let dx = gradients(&[&y], &[&xt], Some(&[&ut])).unwrap()[0]
        .clone()
        .unwrap();
    let sess = Session::new(&g);
    let out = run(&sess, &[&y, &dx], &FeedDict::new().with(&xt, x.clone()));
    let (ry, rdx) = naive_pool(kind, &f32s(&x), xs, k, s, pad, &f32s(&u));
    let label = format!("pool x{xs:?} k{k} s{s} {pad}");
    match kind {
        PoolKind::Max => {
            assert_close(&format!("{label}: y"), &f32s(&out[0]), &ry, 0.0, 0.0);
            assert_close(&format!("{label}: dx"), &f32s(&out[1]), &rdx, 1e-6, 1e-6);
        }
        PoolKind::Avg => {
            assert_close(&format!("{label}: y"), &f32s(&out[0]), &ry, 1e-5, 1e-6);
            assert_close(&format!("{label}: dx"), &f32s(&out[1]), &rdx, 1e-5, 1e-6);
        }
    }
}

const POOL_CASES: [([usize; 4], usize, usize, Padding); 10] = [
    ([1, 4, 4, 1], 2, 2, Padding::Same),
    ([1, 5, 5, 2], 3, 2, Padding::Same),
    ([2, 7, 6, 3], 2, 2, Padding::Valid),
    ([2, 6, 7, 1], 3, 1, Padding::Same),
    ([3, 9, 9, 2], 3, 3, Padding::Valid),
    ([2, 28, 28, 4], 2, 2, Padding::Same),
    ([1, 5, 5, 1], 2, 2, Padding::Same),
    ([1, 7, 7, 2], 3, 2, Padding::Valid),
    ([2, 3, 5, 2], 4, 3, Padding::Same),
    ([50, 28, 28, 8], 2, 2, Padding::Same),
];

#[test]
fn max_pool_matches_naive_with_ties() {
    for (i, (xs, k, s, pad)) in POOL_CASES.into_iter().enumerate() {
        let seed = 100 + i as u64;
        check_pool(PoolKind::Max, xs, k, s, pad, random_value(&xs, seed), seed);
        // Many ties: the gradient must go to the first maximum of each window.
        check_pool(PoolKind::Max, xs, k, s, pad, tied_value(&xs, seed), seed);
    }
}

#[test]
fn max_pool_tie_examples_and_negative_padding() {
    // TF1-SEMANTICS §4: [[1,1],[1,0]] -> [[1,0],[0,0]] and [[0,2],[2,2]] -> [[0,1],[0,0]].
    let g = Graph::new();
    let x = placeholder(&g, DType::F32, shape![2, 2, 2, 1], "x");
    let y = nn::max_pool(&x, [1, 2, 2, 1], [1, 2, 2, 1], Padding::Valid).unwrap();
    let dx = gradients(&[&y], &[&x], None).unwrap()[0].clone().unwrap();
    let sess = Session::new(&g);
    let xv = Value::new(&[2, 2, 2, 1], vec![1f32, 1., 1., 0., 0., 2., 2., 2.]).unwrap();
    let out = run(&sess, &[&y, &dx], &FeedDict::new().with(&x, xv));
    assert_eq!(f32s(&out[0]), vec![1., 2.]);
    assert_eq!(f32s(&out[1]), vec![1., 0., 0., 0., 0., 1., 0., 0.]);
    // All inputs negative with SAME padding: padding never wins.
    let xs = [1, 3, 3, 1];
    let neg = Value::new(&xs, (0..9).map(|i| -1.0 - i as f32).collect()).unwrap();
    check_pool(PoolKind::Max, xs, 2, 2, Padding::Same, neg, 1);
}

#[test]
fn avg_pool_matches_naive() {
    for (i, (xs, k, s, pad)) in POOL_CASES.into_iter().enumerate() {
        let seed = 200 + i as u64;
        check_pool(PoolKind::Avg, xs, k, s, pad, random_value(&xs, seed), seed);
    }
    // SAME divides by the in-bounds count: a 3x3 of ones, window 2, stride 2 -> all ones.
    let g = Graph::new();
    let x = placeholder(&g, DType::F32, shape![1, 3, 3, 1], "x");
    let y = nn::avg_pool(&x, [1, 2, 2, 1], [1, 2, 2, 1], Padding::Same).unwrap();
    let v = Session::new(&g)
        .eval(
            &y,
            &FeedDict::new().with(&x, Value::filled(&[1, 3, 3, 1], 1f32).unwrap()),
        )
        .unwrap();
    assert_eq!(f32s(&v), vec![1.0; 4]);
}

#[test]
fn pool_errors() {
    let g = Graph::new();
    let x = placeholder(&g, DType::F32, shape![?, 4, 4, 2], "x");
    type Pool = fn(&Tensor, [usize; 4], [usize; 4], Padding) -> rustflow_graph::Result<Tensor>;
    for (name, pool) in [
        ("MaxPool", nn::max_pool as Pool),
        ("AvgPool", nn::avg_pool as Pool),
    ] {
        let bad_k = pool(&x, [2, 2, 2, 1], [1, 2, 2, 1], Padding::Same).unwrap_err();
        assert!(
            matches!(bad_k, Error::InvalidArgument { .. }) && bad_k.to_string().contains(name),
            "{bad_k}"
        );
        assert!(pool(&x, [1, 2, 2, 1], [1, 0, 2, 1], Padding::Same).is_err());
        assert!(pool(&x, [1, 0, 2, 1], [1, 1, 1, 1], Padding::Same).is_err());
        assert!(pool(&x, [1, 2, 2, 1], [1, 1, 1, 2], Padding::Same).is_err());
        let e = pool(&x, [1, 5, 5, 1], [1, 1, 1, 1], Padding::Valid).unwrap_err();
        assert!(
            matches!(e, Error::Shape { .. }) && e.to_string().contains("[?,4,4,2]"),
            "{e}"
        );
        let r3 = placeholder(&g, DType::F32, shape![4, 4, 2], "r3");
        assert!(pool(&r3, [1, 2, 2, 1], [1, 2, 2, 1], Padding::Same).is_err());
        let xi = placeholder(&g, DType::I64, shape![1, 4, 4, 2], "xi");
        assert!(pool(&xi, [1, 2, 2, 1], [1, 2, 2, 1], Padding::Same).is_err());
    }
    // Unknown sizes: a VALID window larger than the fed input fails at run time.
    let u = placeholder(&g, DType::F32, shape![?, ?, ?, 1], "u");
    let y = nn::max_pool(&u, [1, 3, 3, 1], [1, 1, 1, 1], Padding::Valid).unwrap();
    let e = Session::new(&g)
        .eval(
            &y,
            &FeedDict::new().with(&u, random_value(&[1, 2, 2, 1], 1)),
        )
        .unwrap_err();
    assert!(
        e.to_string().contains("MaxPool") && e.to_string().contains("[1,2,2,1]"),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------
// bias_add

#[test]
fn bias_add_and_its_gradient() {
    for shape in [vec![3usize, 4], vec![2, 5, 5, 3], vec![2, 3, 1, 7]] {
        let c = *shape.last().unwrap();
        let g = Graph::new();
        let v = placeholder(&g, DType::F32, shape.clone(), "v");
        let b = placeholder(&g, DType::F32, vec![c], "b");
        let y = nn::bias_add(&v, &b).unwrap();
        let u = random_value(&shape, 3);
        let ut = constant(&g, u.clone(), "u");
        let d = gradients(&[&y], &[&v, &b], Some(&[&ut])).unwrap();
        let (vv, bv) = (random_value(&shape, 1), random_value(&[c], 2));
        let out = run(
            &Session::new(&g),
            &[&y, d[0].as_ref().unwrap(), d[1].as_ref().unwrap()],
            &FeedDict::new().with(&v, vv.clone()).with(&b, bv.clone()),
        );
        let (xs, bs, us) = (f32s(&vv), f32s(&bv), f32s(&u));
        let want: Vec<f64> = xs
            .iter()
            .enumerate()
            .map(|(i, &x)| (x + bs[i % c]) as f64)
            .collect();
        assert_close("bias_add y", &f32s(&out[0]), &want, 0.0, 0.0);
        assert_close(
            "bias_add dvalue",
            &f32s(&out[1]),
            &us.iter().map(|&x| x as f64).collect::<Vec<_>>(),
            0.0,
            0.0,
        );
        let mut db = vec![0f64; c];
        us.iter()
            .enumerate()
            .for_each(|(i, &x)| db[i % c] += x as f64);
        assert_close("bias_add dbias", &f32s(&out[2]), &db, 1e-5, 1e-5);
    }
}

#[test]
fn bias_add_errors() {
    let g = Graph::new();
    let v = placeholder(&g, DType::F32, shape![?, 4], "v");
    let b3 = placeholder(&g, DType::F32, shape![3], "b3");
    let e = nn::bias_add(&v, &b3).unwrap_err();
    assert!(
        e.to_string().contains("but are 4 and 3") && e.to_string().contains("'BiasAdd'"),
        "{e}"
    );
    let v1 = placeholder(&g, DType::F32, shape![4], "v1");
    let b4 = placeholder(&g, DType::F32, shape![4], "b4");
    assert!(nn::bias_add(&v1, &b4)
        .unwrap_err()
        .to_string()
        .contains("at least rank 2"));
    let b2 = placeholder(&g, DType::F32, shape![1, 4], "b2");
    assert!(nn::bias_add(&v, &b2).is_err());
    // Unknown last dimension: checked at run time.
    let vu = placeholder(&g, DType::F32, shape![?, ?], "vu");
    let y = nn::bias_add(&vu, &b3).unwrap();
    assert_eq!(y.shape().to_string(), "[?,3]");
    let e = Session::new(&g)
        .eval(
            &y,
            &FeedDict::new()
                .with(&vu, random_value(&[2, 4], 1))
                .with(&b3, random_value(&[3], 2)),
        )
        .unwrap_err();
    assert!(
        e.to_string().contains("BiasAdd") && e.to_string().contains("[2,4]"),
        "{e}"
    );
}

// ---------------------------------------------------------------------------------------
// Cross-entropies

fn naive_log_softmax(z: &[f32]) -> Vec<f64> {
    let m = z.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b as f64));
    let lse = z.iter().map(|&v| (v as f64 - m).exp()).sum::<f64>().ln() + m;
    z.iter().map(|&v| v as f64 - lse).collect()
}

#[test]
fn softmax_cross_entropies_match_naive() {
    let (n, c) = (4, 6);
    let logits_v = random_value(&[n, c], 1);
    // Soft labels that do not sum to 1, to pin TF's formula.
    let labels_v = Value::new(
        &[n, c],
        f32s(&random_value(&[n, c], 2))
            .iter()
            .map(|x| x.abs())
            .collect(),
    )
    .unwrap();
    let u = random_value(&[n], 3);
    for v2 in [false, true] {
        let g = Graph::new();
        let labels = placeholder(&g, DType::F32, shape![?, 6], "labels");
        let logits = placeholder(&g, DType::F32, shape![?, 6], "logits");
        let loss = if v2 {
            nn::softmax_cross_entropy_with_logits_v2(&labels, &logits)
        } else {
            nn::softmax_cross_entropy_with_logits(&labels, &logits)
        }
        .unwrap();
        assert_eq!(loss.shape().to_string(), "[?]");
        let ut = placeholder(&g, DType::F32, shape![?], "u");
        let d = gradients(&[&loss], &[&labels, &logits], Some(&[&ut])).unwrap();
        assert_eq!(d[0].is_some(), v2, "labels gradient only for v2");
        let mut fetch = vec![&loss, d[1].as_ref().unwrap()];
        if v2 {
            fetch.push(d[0].as_ref().unwrap());
        }
        let feeds = FeedDict::new()
            .with(&labels, labels_v.clone())
            .with(&logits, logits_v.clone())
            .with(&ut, u.clone());
        let out = run(&Session::new(&g), &fetch, &feeds);
        let (z, y, us) = (f32s(&logits_v), f32s(&labels_v), f32s(&u));
        let (mut rl, mut rdz, mut rdy) = (vec![], vec![], vec![]);
        for i in 0..n {
            let ls = naive_log_softmax(&z[i * c..(i + 1) * c]);
            rl.push(-(0..c).map(|j| y[i * c + j] as f64 * ls[j]).sum::<f64>());
            for j in 0..c {
                rdz.push(us[i] as f64 * (ls[j].exp() - y[i * c + j] as f64));
                rdy.push(-(us[i] as f64) * ls[j]);
            }
        }
        assert_close("xent loss", &f32s(&out[0]), &rl, 1e-5, 1e-5);
        assert_close("xent dlogits", &f32s(&out[1]), &rdz, 1e-4, 1e-5);
        if v2 {
            assert_close("xent dlabels", &f32s(&out[2]), &rdy, 1e-4, 1e-5);
        }
    }
}

#[test]
fn cross_entropy_is_stable_for_large_logits() {
    let g = Graph::new();
    let labels = constant(&g, [[0f32, 1.0, 0.0], [1.0, 0.0, 0.0]], "labels");
    let logits = constant(
        &g,
        [[1000f32, -1000.0, 0.0], [-1000.0, 1000.0, 999.0]],
        "logits",
    );
    let loss = nn::softmax_cross_entropy_with_logits(&labels, &logits).unwrap();
    let dz = gradients(&[&loss], &[&logits], None).unwrap()[0]
        .clone()
        .unwrap();
    let out = run(&Session::new(&g), &[&loss, &dz], &FeedDict::new());
    assert_eq!(
        f32s(&out[0]),
        vec![2000.0, 2000.0 + (1.0f64 + (-1.0f64).exp()).ln() as f32]
    );
    assert!(f32s(&out[1]).iter().all(|v| v.is_finite()));
    let ids = constant(&g, Value::from(vec![1i32, 0]), "ids");
    let sparse = nn::sparse_softmax_cross_entropy_with_logits(&ids, &logits).unwrap();
    let v = Session::new(&g).eval(&sparse, &FeedDict::new()).unwrap();
    assert_eq!(f32s(&v), f32s(&out[0]));
}

#[test]
fn sparse_cross_entropy_matches_naive_for_int32_and_int64() {
    let (n, c) = (5, 4);
    let logits_v = random_value(&[n, c], 7);
    let ids = [3usize, 0, 1, 3, 2];
    let u = random_value(&[n], 8);
    for dtype in [DType::I32, DType::I64] {
        let g = Graph::new();
        let labels = placeholder(&g, dtype, shape![?], "labels");
        let logits = placeholder(&g, DType::F32, shape![?, 4], "logits");
        let loss = nn::sparse_softmax_cross_entropy_with_logits(&labels, &logits).unwrap();
        let ut = constant(&g, u.clone(), "u");
        let d = gradients(&[&loss], &[&logits], Some(&[&ut])).unwrap();
        let lv = match dtype {
            DType::I32 => Value::from(ids.iter().map(|&i| i as i32).collect::<Vec<_>>()),
            _ => Value::from(ids.iter().map(|&i| i as i64).collect::<Vec<_>>()),
        };
        let out = run(
            &Session::new(&g),
            &[&loss, d[0].as_ref().unwrap()],
            &FeedDict::new()
                .with(&labels, lv)
                .with(&logits, logits_v.clone()),
        );
        let (z, us) = (f32s(&logits_v), f32s(&u));
        let (mut rl, mut rdz) = (vec![], vec![]);
        for i in 0..n {
            let ls = naive_log_softmax(&z[i * c..(i + 1) * c]);
            rl.push(-ls[ids[i]]);
            for (j, l) in ls.iter().enumerate() {
                rdz.push(us[i] as f64 * (l.exp() - (j == ids[i]) as u8 as f64));
            }
        }
        assert_close("sparse loss", &f32s(&out[0]), &rl, 1e-5, 1e-5);
        assert_close("sparse dlogits", &f32s(&out[1]), &rdz, 1e-4, 1e-5);
    }
}

#[test]
fn cross_entropy_errors() {
    let g = Graph::new();
    let labels = placeholder(&g, DType::F32, shape![?, 3], "labels");
    let logits = placeholder(&g, DType::F32, shape![?, 4], "logits");
    let e = nn::softmax_cross_entropy_with_logits(&labels, &logits).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("Dimensions must be equal, but are 3 and 4"),
        "{e}"
    );
    assert!(nn::softmax_cross_entropy_with_logits_v2(&labels, &logits).is_err());
    let ilogits = placeholder(&g, DType::I32, shape![?, 3], "ilogits");
    assert!(nn::softmax_cross_entropy_with_logits(&labels, &ilogits).is_err());
    let scalar = placeholder(&g, DType::F32, shape![], "scalar");
    assert!(nn::softmax_cross_entropy_with_logits(&scalar, &scalar).is_err());
    // Sparse: float labels, wrong label shape, out-of-range labels at run time.
    let fl = placeholder(&g, DType::F32, shape![?], "fl");
    assert!(matches!(
        nn::sparse_softmax_cross_entropy_with_logits(&fl, &logits),
        Err(Error::Type { .. })
    ));
    let l2 = placeholder(&g, DType::I64, shape![?, 1], "l2");
    assert!(nn::sparse_softmax_cross_entropy_with_logits(&l2, &logits).is_err());
    let l5 = placeholder(&g, DType::I64, shape![5], "l5");
    let lg2 = placeholder(&g, DType::F32, shape![4, 3], "lg2");
    assert!(nn::sparse_softmax_cross_entropy_with_logits(&l5, &lg2)
        .unwrap_err()
        .to_string()
        .contains("but are 5 and 4"));
    let ids = placeholder(&g, DType::I32, shape![?], "ids");
    let z3 = placeholder(&g, DType::F32, shape![?, 3], "z3");
    let loss = nn::sparse_softmax_cross_entropy_with_logits(&ids, &z3).unwrap();
    let sess = Session::new(&g);
    for (bad, shown) in [(3, "3"), (-1, "-1")] {
        let feeds = FeedDict::new()
            .with(&ids, Value::from(vec![0i32, bad, 1]))
            .with(&z3, random_value(&[3, 3], 1));
        let e = sess.eval(&loss, &feeds).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument { .. }));
        assert!(
            e.to_string().starts_with(&format!(
                "Received a label value of {shown} which is outside the valid range of [0, 3)."
            )),
            "{e}"
        );
    }
}

// ---------------------------------------------------------------------------------------
// Dropout

struct DropoutGraph {
    g: Graph,
    x: Tensor,
    kp: Tensor,
    y: Tensor,
    dx: Tensor,
    u: Value,
}

fn dropout_graph(shape: &[usize], seed: Option<u64>) -> DropoutGraph {
    let g = Graph::new();
    let x = placeholder(&g, DType::F32, shape.to_vec(), "x");
    let kp = placeholder(&g, DType::F32, shape![], "keep_prob");
    let y = nn::dropout_with(&x, &kp, None, seed).unwrap();
    let u = random_value(shape, 77);
    let ut = constant(&g, u.clone(), "u");
    let dx = gradients(&[&y], &[&x], Some(&[&ut])).unwrap()[0]
        .clone()
        .unwrap();
    DropoutGraph { g, x, kp, y, dx, u }
}

#[test]
fn dropout_values_fraction_and_shared_mask() {
    let shape = [20usize, 50];
    // Inputs as in the golden property case: |x| in [0.5, 2], never 0.
    let x: Vec<f32> = f32s(&random_value(&shape, 5))
        .iter()
        .map(|v| v.signum() * (0.5 + 1.5 * v.abs()))
        .collect();
    let xv = Value::new(&shape, x.clone()).unwrap();
    // Seeded: the masks are fixed, so the fraction's bound cannot fail by chance.
    let d = dropout_graph(&shape, Some(11));
    assert_eq!(d.y.name(), "dropout/mul:0");
    let sess = Session::new(&d.g);
    for keep in [0.5f32, 0.25, 0.8] {
        let feeds = FeedDict::new().with(&d.x, xv.clone()).with(&d.kp, keep);
        let mut masks = vec![];
        for _ in 0..5 {
            let out = run(&sess, &[&d.y, &d.dx], &feeds);
            let (y, dx, u) = (f32s(&out[0]), f32s(&out[1]), f32s(&d.u));
            let mut kept = 0;
            for i in 0..y.len() {
                if y[i] == 0.0 {
                    assert_eq!(dx[i], 0.0, "a dropped element gets no gradient");
                } else {
                    kept += 1;
                    assert_eq!(y[i], x[i] / keep, "kept elements are x / keep_prob");
                    assert_eq!(dx[i], u[i] / keep, "the gradient uses the forward mask");
                }
            }
            let frac = kept as f32 / y.len() as f32;
            assert!(
                (frac - keep).abs() < 0.06,
                "kept fraction {frac} for keep_prob {keep}"
            );
            masks.push(y.iter().map(|&v| v != 0.0).collect::<Vec<_>>());
        }
        for w in masks.windows(2) {
            assert_ne!(w[0], w[1], "a fresh mask every run");
        }
    }
}

#[test]
fn dropout_keep_prob_one_is_exact_identity() {
    let shape = [3usize, 4];
    let d = dropout_graph(&shape, None);
    let xv = random_value(&shape, 9);
    let out = run(
        &Session::new(&d.g),
        &[&d.y, &d.dx],
        &FeedDict::new().with(&d.x, xv.clone()).with(&d.kp, 1.0f32),
    );
    assert_eq!(out[0], xv);
    assert_eq!(out[1], d.u);
    // keep_prob not fed: the usual missing-feed error.
    let e = Session::new(&d.g)
        .eval(&d.y, &FeedDict::new().with(&d.x, xv.clone()))
        .unwrap_err();
    assert!(matches!(e, Error::MissingFeed { .. }), "{e}");
    // keep_prob fed outside (0, 1]: a run-time error.
    let e = Session::new(&d.g)
        .eval(&d.y, &FeedDict::new().with(&d.x, xv).with(&d.kp, 0f32))
        .unwrap_err();
    assert!(e.to_string().contains("keep_prob"), "{e}");
}

#[test]
fn dropout_seeds_and_sessions() {
    let shape = [10usize, 30];
    let xv = Value::filled(&shape, 1f32).unwrap();
    let first_two = |d: &DropoutGraph, sess: &Session| {
        let feeds = FeedDict::new().with(&d.x, xv.clone()).with(&d.kp, 0.5f32);
        (
            sess.eval(&d.y, &feeds).unwrap(),
            sess.eval(&d.y, &feeds).unwrap(),
        )
    };
    let a = dropout_graph(&shape, Some(42));
    let (a1, a2) = first_two(&a, &Session::new(&a.g));
    assert_ne!(a1, a2);
    // A new session restarts the sequence; the same op seed in another graph repeats it.
    assert_eq!(first_two(&a, &Session::new(&a.g)), (a1.clone(), a2.clone()));
    let b = dropout_graph(&shape, Some(42));
    assert_eq!(first_two(&b, &Session::new(&b.g)).0, a1);
    let c = dropout_graph(&shape, Some(43));
    assert_ne!(first_two(&c, &Session::new(&c.g)).0, a1);
}

/// A run at keep_prob 1.0 draws nothing, yet the next run's mask is the one it would have
/// drawn after a run that did draw (keep_prob just under 1).
#[test]
fn dropout_keep_prob_one_keeps_the_random_sequence() {
    let shape = [7usize, 33];
    let xv = Value::filled(&shape, 1f32).unwrap();
    let d = dropout_graph(&shape, Some(5));
    let second = |first_keep: f32| {
        let sess = Session::new(&d.g);
        let feeds = |kp: f32| FeedDict::new().with(&d.x, xv.clone()).with(&d.kp, kp);
        sess.eval(&d.y, &feeds(first_keep)).unwrap();
        sess.eval(&d.y, &feeds(0.5)).unwrap()
    };
    assert_eq!(second(1.0), second(0.999_999));
    let first = Session::new(&d.g)
        .eval(
            &d.y,
            &FeedDict::new().with(&d.x, xv.clone()).with(&d.kp, 0.5f32),
        )
        .unwrap();
    assert_ne!(second(1.0), first, "the generator moved on");
}

#[test]
fn dropout_noise_shape_shares_decisions() {
    let g = Graph::new();
    let x = placeholder(&g, DType::F32, shape![8, 16], "x");
    let y = nn::dropout_with(&x, &constant(&g, 0.5f32, "kp"), Some(&[8, 1]), Some(1)).unwrap();
    let v = Session::new(&g)
        .eval(
            &y,
            &FeedDict::new().with(&x, Value::filled(&[8, 16], 1f32).unwrap()),
        )
        .unwrap();
    for row in f32s(&v).chunks(16) {
        assert!(
            row.iter().all(|&e| e == row[0]) && (row[0] == 0.0 || row[0] == 2.0),
            "{row:?}"
        );
    }
}

#[test]
fn dropout_build_errors_and_constant_keep_prob() {
    let g = Graph::new();
    let x = placeholder(&g, DType::F32, shape![?, 10], "x");
    assert_eq!(nn::dropout_const(&x, 1.0).unwrap(), x);
    let n = g.len();
    for bad in [0.0f32, -0.5, 1.5, f32::NAN] {
        let e = nn::dropout_const(&x, bad).unwrap_err();
        assert!(matches!(e, Error::InvalidArgument { .. }));
        assert!(
            e.to_string().starts_with(&format!(
                "keep_prob must be a scalar tensor or a float in the range (0, 1], got {bad}"
            )),
            "{e}"
        );
    }
    assert!(nn::dropout_const(&x, 0.0)
        .unwrap_err()
        .to_string()
        .starts_with("keep_prob must be a scalar tensor or a float in the range (0, 1], got 0"));
    assert_eq!(g.len(), n, "failed builds add nothing");
    let y = nn::dropout_const(&x, 0.5).unwrap();
    assert_eq!(y.name(), "dropout/mul:0");
    assert!(g.operation_by_name("dropout/keep_prob").is_ok());
    let kp_vec = placeholder(&g, DType::F32, shape![2], "kp_vec");
    assert!(nn::dropout(&x, &kp_vec)
        .unwrap_err()
        .to_string()
        .contains("keep_prob must be a scalar tensor"));
    let kp_int = placeholder(&g, DType::I32, shape![], "kp_int");
    assert!(nn::dropout(&x, &kp_int).is_err());
    let kp = placeholder(&g, DType::F32, shape![], "kp");
    assert!(nn::dropout_with(&x, &kp, Some(&[3, 10]), None).is_ok());
    assert!(nn::dropout_with(&x, &kp, Some(&[1, 5]), None).is_err());
    assert!(nn::dropout_with(&x, &kp, Some(&[10]), None).is_err());
}

// ---------------------------------------------------------------------------------------
// Random ops

fn stats(v: &[f32]) -> (f64, f64) {
    let n = v.len() as f64;
    let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
    let var = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / n;
    (mean, var.sqrt())
}

#[test]
fn truncated_normal_range_and_spread() {
    let g = Graph::new();
    // A fixed sample, so that the statistical bounds below cannot fail by chance.
    g.set_random_seed(7);
    let t = truncated_normal(&g, &[200, 100], 0.0, 0.1, None).unwrap();
    assert_eq!(t.name(), "truncated_normal:0");
    assert_eq!(t.op().op_type(), "TruncatedNormal");
    let shifted = truncated_normal(&g, &[100, 100], 1.0, 2.0, Some(4)).unwrap();
    let out = run(&Session::new(&g), &[&t, &shifted], &FeedDict::new());
    let v = f32s(&out[0]);
    assert!(v.iter().all(|&x| (-0.2..=0.2).contains(&x)));
    let (mean, std) = stats(&v);
    assert!(mean.abs() < 0.003, "mean {mean}");
    assert!(
        (std - 0.088).abs() < 0.003,
        "std {std}, TF measured 0.0880 for stddev 0.1"
    );
    let w = f32s(&out[1]);
    assert!(w.iter().all(|&x| (-3.0..=5.0).contains(&x)));
    let (mean, std) = stats(&w);
    assert!(
        (mean - 1.0).abs() < 0.05 && (std - 1.76).abs() < 0.06,
        "{mean} {std}"
    );
}

#[test]
fn random_normal_and_uniform_distributions() {
    let g = Graph::new();
    // A fixed sample: unseeded, the mean's 3-sigma bound failed about one run in 400.
    g.set_random_seed(7);
    let z = random_normal(&g, &[100, 100], 1.0, 2.0, None).unwrap();
    let u = random_uniform(&g, &[100, 100], -3.0, 5.0, None).unwrap();
    assert_eq!(
        (z.name(), u.name()),
        (
            "random_normal:0".to_string(),
            "random_uniform:0".to_string()
        )
    );
    let out = run(&Session::new(&g), &[&z, &u], &FeedDict::new());
    let (mean, std) = stats(&f32s(&out[0]));
    assert!(
        (mean - 1.0).abs() < 0.06 && (std - 2.0).abs() < 0.06,
        "{mean} {std}"
    );
    assert!(
        f32s(&out[0]).iter().any(|&x| (x - 1.0).abs() > 4.5),
        "a normal is not truncated"
    );
    let uv = f32s(&out[1]);
    assert!(uv.iter().all(|&x| (-3.0..5.0).contains(&x)));
    let (mean, std) = stats(&uv);
    assert!(
        (mean - 1.0).abs() < 0.08 && (std - 8.0 / 12f64.sqrt()).abs() < 0.05,
        "{mean} {std}"
    );
}

#[test]
fn random_seeds_runs_and_sessions() {
    let build = |graph_seed: Option<u64>, op_seed: Option<u64>| {
        let g = Graph::new();
        if let Some(s) = graph_seed {
            g.set_random_seed(s);
        }
        let t = truncated_normal(&g, &[4, 5], 0.0, 1.0, op_seed).unwrap();
        let u = random_uniform(&g, &[7], 0.0, 1.0, op_seed).unwrap();
        (g, t, u)
    };
    let first_runs = |g: &Graph, t: &Tensor| {
        let sess = Session::new(g);
        let a = sess.eval(t, &FeedDict::new()).unwrap();
        let b = sess.eval(t, &FeedDict::new()).unwrap();
        (a, b)
    };
    for (gs, os) in [(Some(1), Some(2)), (None, Some(2)), (Some(1), None)] {
        let (g1, t1, u1) = build(gs, os);
        let (g2, t2, _) = build(gs, os);
        let (a, b) = first_runs(&g1, &t1);
        assert_ne!(a, b, "each run draws new values");
        assert_eq!(
            first_runs(&g1, &t1),
            (a.clone(), b.clone()),
            "a new session restarts the sequence"
        );
        assert_eq!(
            first_runs(&g2, &t2).0,
            a,
            "the same seeds give the same numbers"
        );
        // Within one run, a random op read twice has one value.
        let two = run(&Session::new(&g1), &[&u1, &u1], &FeedDict::new());
        assert_eq!(two[0], two[1]);
    }
    let (g1, t1, _) = build(Some(1), Some(2));
    let (g3, t3, _) = build(Some(1), Some(3));
    assert_ne!(first_runs(&g1, &t1).0, first_runs(&g3, &t3).0);
    // Without any seed, two graphs differ.
    let (g4, t4, _) = build(None, None);
    let (g5, t5, _) = build(None, None);
    assert_ne!(first_runs(&g4, &t4).0, first_runs(&g5, &t5).0);
}

#[test]
fn random_op_errors() {
    let g = Graph::new();
    assert!(matches!(
        truncated_normal(&g, &[2], 0.0, -1.0, None),
        Err(Error::InvalidArgument { .. })
    ));
    assert!(truncated_normal(&g, &[2], f32::NAN, 1.0, None).is_err());
    assert!(random_normal(&g, &[2], 0.0, f32::INFINITY, None).is_err());
    assert!(random_uniform(&g, &[2], 1.0, 0.0, None)
        .unwrap_err()
        .to_string()
        .contains("minval"));
    assert!(truncated_normal(&g, &[usize::MAX, 2], 0.0, 1.0, None).is_err());
    assert_eq!(g.len(), 0);
    // Empty shapes are fine.
    let e = random_uniform(&g, &[0, 3], 0.0, 1.0, None).unwrap();
    assert_eq!(
        Session::new(&g).eval(&e, &FeedDict::new()).unwrap().shape(),
        &[0, 3]
    );
}
