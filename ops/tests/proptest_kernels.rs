//! Property tests: every kernel against a naive reference written here (f64 accumulation),
//! on random shapes and attributes. Each property runs a modest number of cases on small
//! shapes, so the file runs in seconds in release.

mod support;

use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use rustflow_graph::{DType, Graph, Tensor, Value};
use rustflow_ops::nn::{self, Padding};
use rustflow_ops::{
    add, div, matmul_t, mul, placeholder, reduce_max, reduce_mean, reduce_sum, reshape, sub,
    transpose, Axes,
};
use rustflow_runtime::{FeedDict, Fetch, Session};
use support::pseudo;

// ---------------------------------------------------------------------------------------
// Helpers

fn config() -> ProptestConfig {
    ProptestConfig {
        cases: 64,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn numel(shape: &[usize]) -> usize {
    shape.iter().product()
}

/// Pseudo-random float32 data in [-1, 1) of `shape`.
fn data(shape: &[usize], seed: u64) -> Vec<f32> {
    (0..numel(shape)).map(|i| pseudo(i, seed)).collect()
}

/// Data with many ties (multiples of 0.25 in [-1, 1]), to exercise tie rules.
fn tied_data(shape: &[usize], seed: u64) -> Vec<f32> {
    (0..numel(shape))
        .map(|i| (pseudo(i, seed) * 4.0).round() / 4.0)
        .collect()
}

fn val(shape: &[usize], d: &[f32]) -> Value {
    Value::new(shape, d.to_vec()).unwrap()
}

/// Runs `fetches` with `feeds` (placeholder, shape, data) and returns each fetched value's
/// shape and data.
fn run(
    g: &Graph,
    fetches: &[&Tensor],
    feeds: &[(&Tensor, &[usize], &[f32])],
) -> Vec<(Vec<usize>, Vec<f32>)> {
    let sess = Session::new(g);
    let mut fd = FeedDict::new();
    for (t, s, d) in feeds {
        fd.insert(*t, val(s, d));
    }
    let f: Vec<Fetch> = fetches.iter().map(|t| Fetch::from(*t)).collect();
    let mut out = sess.run(&f, &fd).expect("run");
    (0..fetches.len())
        .map(|i| {
            let v = out.take(i).unwrap();
            (v.shape().to_vec(), v.as_slice::<f32>().unwrap().to_vec())
        })
        .collect()
}

fn ph(g: &Graph, shape: &[usize], name: &str) -> Tensor {
    placeholder(g, DType::F32, shape.to_vec(), name)
}

/// |got - want| <= 1e-4 + 1e-4 |want| everywhere.
fn check_close(what: &str, got: &[f32], want: &[f64]) -> Result<(), TestCaseError> {
    prop_assert_eq!(got.len(), want.len(), "{}: length", what);
    for (i, (&g, &w)) in got.iter().zip(want).enumerate() {
        prop_assert!(
            (g as f64 - w).abs() <= 1e-4 + 1e-4 * w.abs(),
            "{}: element {}: got {}, want {}",
            what,
            i,
            g,
            w
        );
    }
    Ok(())
}

fn strides_of(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// The multi-index of flat index `i` in `shape`.
fn unravel(mut i: usize, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0; shape.len()];
    for d in (0..shape.len()).rev() {
        idx[d] = i % shape[d];
        i /= shape[d];
    }
    idx
}

/// Output size and padding before, from TF1-SEMANTICS §5.1; `None` when VALID does not fit.
fn geometry(size: usize, k: usize, s: usize, pad: Padding) -> Option<(usize, i64)> {
    match pad {
        Padding::Valid => (k <= size).then(|| ((size - k) / s + 1, 0)),
        Padding::Same => {
            let out = size.div_ceil(s);
            let total = ((out as i64 - 1) * s as i64 + k as i64 - size as i64).max(0);
            Some((out, total / 2))
        }
    }
}

fn padding() -> impl Strategy<Value = Padding> {
    prop_oneof![Just(Padding::Same), Just(Padding::Valid)]
}

// ---------------------------------------------------------------------------------------
// Matmul

fn ref_matmul(
    a: &[f32],
    b: &[f32],
    (m, n, k): (usize, usize, usize),
    ta: bool,
    tb: bool,
) -> Vec<f64> {
    let at = |i: usize, kk: usize| if ta { a[kk * m + i] } else { a[i * k + kk] } as f64;
    let bt = |kk: usize, j: usize| if tb { b[j * k + kk] } else { b[kk * n + j] } as f64;
    let mut c = vec![0f64; m * n];
    for i in 0..m {
        for j in 0..n {
            c[i * n + j] = (0..k).map(|kk| at(i, kk) * bt(kk, j)).sum();
        }
    }
    c
}

fn check_matmul(
    (m, n, k): (usize, usize, usize),
    ta: bool,
    tb: bool,
    seed: u64,
) -> Result<(), TestCaseError> {
    let sa = if ta { [k, m] } else { [m, k] };
    let sb = if tb { [n, k] } else { [k, n] };
    let (da, db) = (data(&sa, seed), data(&sb, seed + 1));
    let g = Graph::new();
    let (a, b) = (ph(&g, &sa, "a"), ph(&g, &sb, "b"));
    let c = matmul_t(&a, &b, ta, tb).unwrap();
    let out = run(&g, &[&c], &[(&a, &sa, &da), (&b, &sb, &db)]);
    prop_assert_eq!(&out[0].0, &vec![m, n]);
    check_close(
        &format!("matmul m={m} n={n} k={k} ta={ta} tb={tb}"),
        &out[0].1,
        &ref_matmul(&da, &db, (m, n, k), ta, tb),
    )
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn matmul_matches_reference(
        m in 1usize..9, n in 1usize..9, k in 1usize..9,
        ta in any::<bool>(), tb in any::<bool>(), seed in any::<u64>(),
    ) {
        check_matmul((m, n, k), ta, tb, seed)?;
    }

    /// m <= 256 and k >= 256 with B transposed takes the dot-product kernel of
    /// `kernels/abt.rs`; n crosses its 64-row task blocks.
    #[test]
    fn matmul_a_bt_path_matches_reference(
        m in 1usize..12, n in 1usize..140, k in 256usize..300,
        ta in any::<bool>(), seed in any::<u64>(),
    ) {
        check_matmul((m, n, k), ta, true, seed)?;
        check_matmul((m, n, k), ta, false, seed)?;
    }
}

// ---------------------------------------------------------------------------------------
// Convolution

#[derive(Debug, Clone, Copy)]
struct ConvCase {
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    kh: usize,
    kw: usize,
    co: usize,
    sh: usize,
    sw: usize,
    pad: Padding,
    seed: u64,
}

fn conv_case() -> impl Strategy<Value = ConvCase> {
    (
        (1usize..3, 1usize..8, 1usize..8, 1usize..4),
        (1usize..5, 1usize..5, 1usize..4),
        (1usize..4, 1usize..4, padding(), any::<u64>()),
    )
        .prop_map(
            |((n, h, w, c), (kh, kw, co), (sh, sw, pad, seed))| ConvCase {
                n,
                h,
                w,
                c,
                kh,
                kw,
                co,
                sh,
                sw,
                pad,
                seed,
            },
        )
        // A VALID window larger than the input is a build-time error, not a kernel case.
        .prop_filter("VALID window fits", |c| {
            c.pad == Padding::Same || (c.kh <= c.h && c.kw <= c.w)
        })
}

/// Calls `f(n, oy, ox, iy, ix, ty, tx)` for every output position and in-bounds tap.
fn for_each_tap(
    (n, h, w): (usize, usize, usize),
    (kh, kw): (usize, usize),
    (oh, ow, pt, pl): (usize, usize, i64, i64),
    (sh, sw): (usize, usize),
    mut f: impl FnMut(usize, usize, usize, usize, usize, usize, usize),
) {
    for b in 0..n {
        for oy in 0..oh {
            for ox in 0..ow {
                for ty in 0..kh {
                    let iy = (oy * sh) as i64 + ty as i64 - pt;
                    if iy < 0 || iy >= h as i64 {
                        continue;
                    }
                    for tx in 0..kw {
                        let ix = (ox * sw) as i64 + tx as i64 - pl;
                        if ix < 0 || ix >= w as i64 {
                            continue;
                        }
                        f(b, oy, ox, iy as usize, ix as usize, ty, tx);
                    }
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn conv2d_and_its_gradients_match_reference(cc in conv_case()) {
        let ConvCase { n, h, w, c, kh, kw, co, sh, sw, pad, seed } = cc;
        let (oh, pt) = geometry(h, kh, sh, pad).unwrap();
        let (ow, pl) = geometry(w, kw, sw, pad).unwrap();
        let (sx, sf, sy) = ([n, h, w, c], [kh, kw, c, co], [n, oh, ow, co]);
        let (dx_in, df_in, ddy) = (data(&sx, seed), data(&sf, seed + 1), data(&sy, seed + 2));
        let g = Graph::new();
        let (x, f, dy) = (ph(&g, &sx, "x"), ph(&g, &sf, "f"), ph(&g, &sy, "dy"));
        let strides = [1, sh, sw, 1];
        let y = nn::conv2d(&x, &f, strides, pad).unwrap();
        let gx = nn::conv2d_backprop_input(&x, &f, &dy, strides, pad).unwrap();
        let gf = nn::conv2d_backprop_filter(&x, &f, &dy, strides, pad).unwrap();
        let out = run(
            &g,
            &[&y, &gx, &gf],
            &[(&x, &sx, &dx_in), (&f, &sf, &df_in), (&dy, &sy, &ddy)],
        );
        let mut want_y = vec![0f64; numel(&sy)];
        let mut want_dx = vec![0f64; numel(&sx)];
        let mut want_df = vec![0f64; numel(&sf)];
        let xi = |b: usize, iy: usize, ix: usize, ci: usize| ((b * h + iy) * w + ix) * c + ci;
        let fi = |ty: usize, tx: usize, ci: usize, o: usize| ((ty * kw + tx) * c + ci) * co + o;
        let yi = |b: usize, oy: usize, ox: usize, o: usize| ((b * oh + oy) * ow + ox) * co + o;
        for_each_tap((n, h, w), (kh, kw), (oh, ow, pt, pl), (sh, sw), |b, oy, ox, iy, ix, ty, tx| {
            for ci in 0..c {
                for o in 0..co {
                    let (xv, fv, dyv) = (
                        dx_in[xi(b, iy, ix, ci)] as f64,
                        df_in[fi(ty, tx, ci, o)] as f64,
                        ddy[yi(b, oy, ox, o)] as f64,
                    );
                    want_y[yi(b, oy, ox, o)] += xv * fv;
                    want_dx[xi(b, iy, ix, ci)] += dyv * fv;
                    want_df[fi(ty, tx, ci, o)] += dyv * xv;
                }
            }
        });
        prop_assert_eq!(&out[0].0, &sy.to_vec());
        prop_assert_eq!(&out[1].0, &sx.to_vec());
        prop_assert_eq!(&out[2].0, &sf.to_vec());
        check_close(&format!("conv2d {cc:?}"), &out[0].1, &want_y)?;
        check_close(&format!("conv2d_backprop_input {cc:?}"), &out[1].1, &want_dx)?;
        check_close(&format!("conv2d_backprop_filter {cc:?}"), &out[2].1, &want_df)?;
    }
}

// ---------------------------------------------------------------------------------------
// Pooling

#[derive(Debug, Clone, Copy)]
struct PoolCase {
    n: usize,
    h: usize,
    w: usize,
    c: usize,
    kh: usize,
    kw: usize,
    sh: usize,
    sw: usize,
    pad: Padding,
    ties: bool,
    seed: u64,
}

fn pool_case() -> impl Strategy<Value = PoolCase> {
    (
        (1usize..3, 1usize..8, 1usize..8, 1usize..4),
        (1usize..4, 1usize..4, 1usize..4, 1usize..4),
        (padding(), any::<bool>(), any::<u64>()),
    )
        .prop_map(
            |((n, h, w, c), (kh, kw, sh, sw), (pad, ties, seed))| PoolCase {
                n,
                h,
                w,
                c,
                kh,
                kw,
                sh,
                sw,
                pad,
                ties,
                seed,
            },
        )
        .prop_filter("VALID window fits", |c| {
            c.pad == Padding::Same || (c.kh <= c.h && c.kw <= c.w)
        })
}

proptest! {
    #![proptest_config(config())]

    /// Max pooling and its gradient; the gradient goes to the window's first maximum in
    /// row-major order (TensorFlow's tie rule), and `ties` makes many equal values.
    #[test]
    fn max_pool_and_grad_match_reference(pc in pool_case()) {
        let PoolCase { n, h, w, c, kh, kw, sh, sw, pad, ties, seed } = pc;
        let (oh, pt) = geometry(h, kh, sh, pad).unwrap();
        let (ow, pl) = geometry(w, kw, sw, pad).unwrap();
        let (sx, sy) = ([n, h, w, c], [n, oh, ow, c]);
        let xd = if ties { tied_data(&sx, seed) } else { data(&sx, seed) };
        let dyd = data(&sy, seed + 1);
        let g = Graph::new();
        let (x, dy) = (ph(&g, &sx, "x"), ph(&g, &sy, "dy"));
        let (k, s) = ([1, kh, kw, 1], [1, sh, sw, 1]);
        let y = nn::max_pool(&x, k, s, pad).unwrap();
        let dx = nn::max_pool_grad(&x, &dy, k, s, pad).unwrap();
        let out = run(&g, &[&y, &dx], &[(&x, &sx, &xd), (&dy, &sy, &dyd)]);
        // (max, flat index of the first max) per output element.
        let mut best: Vec<Option<(f32, usize)>> = vec![None; numel(&sy)];
        for_each_tap((n, h, w), (kh, kw), (oh, ow, pt, pl), (sh, sw), |b, oy, ox, iy, ix, _, _| {
            for ch in 0..c {
                let o = ((b * oh + oy) * ow + ox) * c + ch;
                let i = ((b * h + iy) * w + ix) * c + ch;
                if best[o].is_none_or(|(m, _)| xd[i] > m) {
                    best[o] = Some((xd[i], i));
                }
            }
        });
        let want_y: Vec<f64> = best.iter().map(|b| b.unwrap().0 as f64).collect();
        let mut want_dx = vec![0f64; numel(&sx)];
        for (o, b) in best.iter().enumerate() {
            want_dx[b.unwrap().1] += dyd[o] as f64;
        }
        prop_assert_eq!(&out[0].0, &sy.to_vec());
        prop_assert_eq!(&out[1].0, &sx.to_vec());
        check_close(&format!("max_pool {pc:?}"), &out[0].1, &want_y)?;
        check_close(&format!("max_pool_grad {pc:?}"), &out[1].1, &want_dx)?;
    }

    /// Average pooling divides by the number of in-bounds taps (SAME padding is not counted).
    #[test]
    fn avg_pool_and_grad_match_reference(pc in pool_case()) {
        let PoolCase { n, h, w, c, kh, kw, sh, sw, pad, seed, .. } = pc;
        let (oh, pt) = geometry(h, kh, sh, pad).unwrap();
        let (ow, pl) = geometry(w, kw, sw, pad).unwrap();
        let (sx, sy) = ([n, h, w, c], [n, oh, ow, c]);
        let (xd, dyd) = (data(&sx, seed), data(&sy, seed + 1));
        let g = Graph::new();
        let (x, dy) = (ph(&g, &sx, "x"), ph(&g, &sy, "dy"));
        let (k, s) = ([1, kh, kw, 1], [1, sh, sw, 1]);
        let y = nn::avg_pool(&x, k, s, pad).unwrap();
        let dx = nn::avg_pool_grad(&x, &dy, k, s, pad).unwrap();
        let out = run(&g, &[&y, &dx], &[(&x, &sx, &xd), (&dy, &sy, &dyd)]);
        let mut count = vec![0usize; n * oh * ow];
        for_each_tap((n, h, w), (kh, kw), (oh, ow, pt, pl), (sh, sw), |b, oy, ox, _, _, _, _| {
            count[(b * oh + oy) * ow + ox] += 1;
        });
        let mut want_y = vec![0f64; numel(&sy)];
        let mut want_dx = vec![0f64; numel(&sx)];
        for_each_tap((n, h, w), (kh, kw), (oh, ow, pt, pl), (sh, sw), |b, oy, ox, iy, ix, _, _| {
            let cnt = count[(b * oh + oy) * ow + ox] as f64;
            for ch in 0..c {
                let o = ((b * oh + oy) * ow + ox) * c + ch;
                let i = ((b * h + iy) * w + ix) * c + ch;
                want_y[o] += xd[i] as f64 / cnt;
                want_dx[i] += dyd[o] as f64 / cnt;
            }
        });
        prop_assert_eq!(&out[0].0, &sy.to_vec());
        prop_assert_eq!(&out[1].0, &sx.to_vec());
        check_close(&format!("avg_pool {pc:?}"), &out[0].1, &want_y)?;
        check_close(&format!("avg_pool_grad {pc:?}"), &out[1].1, &want_dx)?;
    }
}

// ---------------------------------------------------------------------------------------
// Element-wise: bias_add and broadcasting binary ops

/// A broadcast pair: each operand takes a suffix of `out` with some dims set to 1.
fn broadcast_pair() -> impl Strategy<Value = (Vec<usize>, Vec<usize>)> {
    (
        prop::collection::vec(1usize..5, 0..5),
        0usize..6,
        0usize..6,
        any::<u64>(),
        any::<u64>(),
    )
        .prop_map(|(out, ra, rb, ma, mb)| {
            let derive = |r: usize, mask: u64| -> Vec<usize> {
                let r = r.min(out.len());
                out[out.len() - r..]
                    .iter()
                    .enumerate()
                    .map(|(i, &d)| if mask >> i & 1 == 1 { 1 } else { d })
                    .collect()
            };
            // A size-1 dim in about a quarter of the places.
            (
                derive(ra, ma & (ma >> 8) & 0xff),
                derive(rb, mb & (mb >> 8) & 0xff),
            )
        })
}

fn broadcast_shape(a: &[usize], b: &[usize]) -> Vec<usize> {
    let r = a.len().max(b.len());
    (0..r)
        .map(|i| {
            let da = if i + a.len() >= r {
                a[i + a.len() - r]
            } else {
                1
            };
            let db = if i + b.len() >= r {
                b[i + b.len() - r]
            } else {
                1
            };
            da.max(db)
        })
        .collect()
}

/// The flat index into `s` (right-aligned, size-1 dims broadcast) of output index `idx`.
fn broadcast_index(idx: &[usize], s: &[usize]) -> usize {
    let off = idx.len() - s.len();
    let st = strides_of(s);
    s.iter()
        .enumerate()
        .map(|(i, &d)| if d == 1 { 0 } else { idx[off + i] * st[i] })
        .sum()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn bias_add_matches_reference(
        // TensorFlow's BiasAdd needs rank >= 2.
        shape in prop::collection::vec(1usize..5, 2..5), seed in any::<u64>(),
    ) {
        let cdim = *shape.last().unwrap();
        let (xd, bd) = (data(&shape, seed), data(&[cdim], seed + 1));
        let g = Graph::new();
        let (x, b) = (ph(&g, &shape, "x"), ph(&g, &[cdim], "b"));
        let y = nn::bias_add(&x, &b).unwrap();
        let out = run(&g, &[&y], &[(&x, &shape, &xd), (&b, &[cdim], &bd)]);
        let want: Vec<f64> =
            xd.iter().enumerate().map(|(i, &v)| v as f64 + bd[i % cdim] as f64).collect();
        prop_assert_eq!(&out[0].0, &shape);
        check_close("bias_add", &out[0].1, &want)?;
    }

    #[test]
    fn broadcasting_binary_ops_match_reference(
        (sa, sb) in broadcast_pair(), swap in any::<bool>(), seed in any::<u64>(),
    ) {
        let (sa, sb) = if swap { (sb, sa) } else { (sa, sb) };
        let ad = data(&sa, seed);
        // Divisors of magnitude in [0.5, 1.5), either sign.
        let bd: Vec<f32> = data(&sb, seed + 1)
            .iter()
            .map(|&v| if v < 0.0 { v - 0.5 } else { v + 0.5 })
            .collect();
        let g = Graph::new();
        let (a, b) = (ph(&g, &sa, "a"), ph(&g, &sb, "b"));
        let ops = [
            add(&a, &b).unwrap(),
            sub(&a, &b).unwrap(),
            mul(&a, &b).unwrap(),
            div(&a, &b).unwrap(),
        ];
        let out = run(&g, &ops.iter().collect::<Vec<_>>(), &[(&a, &sa, &ad), (&b, &sb, &bd)]);
        let so = broadcast_shape(&sa, &sb);
        let fs: [fn(f64, f64) -> f64; 4] = [|x, y| x + y, |x, y| x - y, |x, y| x * y, |x, y| x / y];
        for (k, f) in fs.iter().enumerate() {
            let want: Vec<f64> = (0..numel(&so))
                .map(|i| {
                    let idx = unravel(i, &so);
                    f(ad[broadcast_index(&idx, &sa)] as f64, bd[broadcast_index(&idx, &sb)] as f64)
                })
                .collect();
            prop_assert_eq!(&out[k].0, &so, "op {} shapes {:?} {:?}", k, sa, sb);
            check_close(&format!("binary op {k} {sa:?} {sb:?}"), &out[k].1, &want)?;
        }
    }
}

// ---------------------------------------------------------------------------------------
// Reductions, softmax, transpose, reshape

/// A shape and a list of axes (each as given, possibly negative, maybe repeated), or all.
fn reduce_case() -> impl Strategy<Value = (Vec<usize>, Option<Vec<i64>>, bool, u64)> {
    prop::collection::vec(1usize..5, 1..5).prop_flat_map(|shape| {
        let r = shape.len() as i64;
        (
            Just(shape),
            prop::option::weighted(0.85, prop::collection::vec(-r..r, 0..4)),
            any::<bool>(),
            any::<u64>(),
        )
    })
}

/// Sum, mean and max of `shape` over `axes` (all when `None`) against f64 sums.
fn check_reductions(
    shape: Vec<usize>,
    axes: Option<Vec<i64>>,
    keep: bool,
    seed: u64,
) -> Result<(), TestCaseError> {
    let r = shape.len();
    let reduced: Vec<bool> = match &axes {
        None => vec![true; r],
        Some(l) => (0..r)
            .map(|d| l.iter().any(|&a| (a + r as i64) as usize % r == d))
            .collect(),
    };
    let out_full: Vec<usize> = (0..r)
        .map(|d| if reduced[d] { 1 } else { shape[d] })
        .collect();
    let out_shape: Vec<usize> = if keep {
        out_full.clone()
    } else {
        (0..r).filter(|&d| !reduced[d]).map(|d| shape[d]).collect()
    };
    let xd = data(&shape, seed);
    let g = Graph::new();
    let x = ph(&g, &shape, "x");
    let ax = || axes.clone().map_or(Axes::All, Axes::List);
    let ys = [
        reduce_sum(&x, ax(), keep).unwrap(),
        reduce_mean(&x, ax(), keep).unwrap(),
        reduce_max(&x, ax(), keep).unwrap(),
    ];
    let out = run(&g, &ys.iter().collect::<Vec<_>>(), &[(&x, &shape, &xd)]);
    let n_out = numel(&out_full);
    let mut sum = vec![0f64; n_out];
    let mut max = vec![f64::NEG_INFINITY; n_out];
    let ost = strides_of(&out_full);
    for (i, &v) in xd.iter().enumerate() {
        let idx = unravel(i, &shape);
        let o: usize = (0..r)
            .map(|d| if reduced[d] { 0 } else { idx[d] * ost[d] })
            .sum();
        sum[o] += v as f64;
        max[o] = max[o].max(v as f64);
    }
    let count = (numel(&shape) / n_out) as f64;
    let mean: Vec<f64> = sum.iter().map(|s| s / count).collect();
    for (k, (name, want)) in [("sum", &sum), ("mean", &mean), ("max", &max)]
        .iter()
        .enumerate()
    {
        prop_assert_eq!(
            &out[k].0,
            &out_shape,
            "reduce_{} {:?} axes {:?}",
            name,
            shape,
            axes
        );
        check_close(
            &format!("reduce_{name} {shape:?} axes {axes:?}"),
            &out[k].1,
            want,
        )?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn reductions_match_reference((shape, axes, keep, seed) in reduce_case()) {
        check_reductions(shape, axes, keep, seed)?;
    }

    /// Shapes large enough for the kernel's parallel passes and blocks of rows.
    #[test]
    fn large_reductions_match_reference(
        shape in prop::collection::vec(prop::sample::select(vec![1usize, 2, 3, 64, 129, 1500]), 1..4)
            .prop_filter("at most 2M elements", |s| s.iter().product::<usize>() <= 1 << 21),
        axes in prop::collection::vec(-3i64..3, 1..3),
        keep in any::<bool>(),
        seed in any::<u64>(),
    ) {
        let r = shape.len() as i64;
        let axes = axes.into_iter().map(|a| a.rem_euclid(r)).collect();
        check_reductions(shape, Some(axes), keep, seed)?;
    }

    #[test]
    fn softmax_matches_reference(
        shape in prop::collection::vec(1usize..7, 1..4), scale in 0.1f32..30.0, seed in any::<u64>(),
    ) {
        let xd: Vec<f32> = data(&shape, seed).iter().map(|v| v * scale).collect();
        let g = Graph::new();
        let x = ph(&g, &shape, "x");
        let y = nn::softmax(&x).unwrap();
        let out = run(&g, &[&y], &[(&x, &shape, &xd)]);
        let c = *shape.last().unwrap();
        let mut want = Vec::with_capacity(xd.len());
        for row in xd.chunks(c) {
            let m = row.iter().fold(f64::NEG_INFINITY, |a, &v| a.max(v as f64));
            let e: Vec<f64> = row.iter().map(|&v| (v as f64 - m).exp()).collect();
            let s: f64 = e.iter().sum();
            want.extend(e.iter().map(|v| v / s));
        }
        prop_assert_eq!(&out[0].0, &shape);
        check_close(&format!("softmax {shape:?}"), &out[0].1, &want)?;
    }

    #[test]
    fn transpose_matches_reference(
        (shape, perm) in prop::collection::vec(1usize..5, 0..6).prop_flat_map(|s| {
            let r = s.len();
            (Just(s), Just((0..r).collect::<Vec<usize>>()).prop_shuffle())
        }),
        seed in any::<u64>(),
    ) {
        let xd = data(&shape, seed);
        let g = Graph::new();
        let x = ph(&g, &shape, "x");
        let y = transpose(&x, Some(&perm)).unwrap();
        let out = run(&g, &[&y], &[(&x, &shape, &xd)]);
        let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
        let ist = strides_of(&shape);
        let want: Vec<f64> = (0..xd.len())
            .map(|i| {
                let idx = unravel(i, &out_shape);
                xd[perm.iter().zip(&idx).map(|(&p, &j)| j * ist[p]).sum::<usize>()] as f64
            })
            .collect();
        prop_assert_eq!(&out[0].0, &out_shape);
        check_close(&format!("transpose {shape:?} {perm:?}"), &out[0].1, &want)?;
    }

    /// Reshape to a permutation of the dims with adjacent ones merged, maybe with one -1.
    #[test]
    fn reshape_matches_reference(
        (shape, order) in prop::collection::vec(1usize..5, 0..5).prop_flat_map(|s| {
            let r = s.len();
            (Just(s), Just((0..r).collect::<Vec<usize>>()).prop_shuffle())
        }),
        merges in any::<u64>(), infer in any::<Option<prop::sample::Index>>(), seed in any::<u64>(),
    ) {
        let mut target: Vec<usize> = Vec::new();
        for (i, &o) in order.iter().enumerate() {
            match target.last_mut() {
                Some(last) if merges >> i & 1 == 1 => *last *= shape[o],
                _ => target.push(shape[o]),
            }
        }
        let mut spec: Vec<i64> = target.iter().map(|&d| d as i64).collect();
        if let (Some(ix), false) = (infer, spec.is_empty()) {
            let i = ix.index(spec.len());
            spec[i] = -1;
        }
        let xd = data(&shape, seed);
        let g = Graph::new();
        let x = ph(&g, &shape, "x");
        let y = reshape(&x, &spec).unwrap();
        prop_assert_eq!(y.shape().to_known(), Some(target.clone()));
        let out = run(&g, &[&y], &[(&x, &shape, &xd)]);
        prop_assert_eq!(&out[0].0, &target);
        prop_assert_eq!(&out[0].1, &xd);
    }
}
