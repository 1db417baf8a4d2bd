//! Test support: a numeric gradient check by central differences.

#![allow(dead_code)]

use rustflow_graph::{DType, Graph, Result, Tensor, Value};
use rustflow_ops::{constant, gradients, mul, placeholder, reduce_sum};
use rustflow_runtime::{FeedDict, Fetch, Session};

/// A deterministic pseudo-random f32 in [-1, 1) from a counter (no RNG crate needed).
pub fn pseudo(i: usize, seed: u64) -> f32 {
    let mut z = (i as u64).wrapping_add(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15));
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    (z >> 40) as f32 / (1u64 << 23) as f32 - 1.0
}

/// A float32 value of `shape` with pseudo-random elements in [-1, 1).
pub fn random_value(shape: &[usize], seed: u64) -> Value {
    let n: usize = shape.iter().product();
    Value::new(shape, (0..n).map(|i| pseudo(i, seed)).collect()).unwrap()
}

/// Checks the gradient rule of the graph `build` makes from placeholders shaped like
/// `inputs`: for L = sum(build(x) * U) with a fixed random U, compares `gradients(L, x_i)`
/// with central differences `(L(x + h e_j) - L(x - h e_j)) / 2h` for every element of every
/// float input listed in `check` (all float inputs when `check` is empty). Variables of the
/// graph are initialized first.
/// Passes iff |analytic - numeric| <= atol + rtol * |numeric| everywhere.
pub fn check_gradients(
    inputs: &[Value],
    check: &[usize],
    build: impl Fn(&Graph, &[Tensor]) -> Result<Tensor>,
    h: f32,
    rtol: f32,
    atol: f32,
) {
    let g = Graph::new();
    let xs: Vec<Tensor> = inputs
        .iter()
        .enumerate()
        .map(|(i, v)| placeholder(&g, v.dtype(), v.shape().to_vec(), &format!("x{i}")))
        .collect();
    let y = build(&g, &xs).expect("build");
    let sess = Session::new(&g);
    // Variables the graph made (a recurrent cell's weights) hold their initial values.
    let init = rustflow_ops::global_variables_initializer(&g).expect("init");
    sess.run_op(&init, &FeedDict::new()).expect("init");
    let feeds = |vals: &[Value]| {
        let mut f = FeedDict::new();
        for (x, v) in xs.iter().zip(vals) {
            f.insert(x, v.clone());
        }
        f
    };
    let y_val = sess.eval(&y, &feeds(inputs)).expect("forward");
    let u = constant(&g, random_value(y_val.shape(), 99), "U");
    let loss = reduce_sum(&mul(&y, &u).unwrap(), None, false).unwrap();
    let check: Vec<usize> = if check.is_empty() {
        (0..inputs.len())
            .filter(|&i| inputs[i].dtype() == DType::F32)
            .collect()
    } else {
        check.to_vec()
    };
    let wrt: Vec<&Tensor> = check.iter().map(|&i| &xs[i]).collect();
    let grads = gradients(&[&loss], &wrt, None).expect("gradients");
    let loss_at = |vals: &[Value]| -> f64 {
        sess.eval(&loss, &feeds(vals))
            .unwrap()
            .scalar_value::<f32>()
            .unwrap() as f64
    };
    for (k, &i) in check.iter().enumerate() {
        let gt = grads[k]
            .as_ref()
            .unwrap_or_else(|| panic!("no gradient for input {i}"));
        let analytic = sess
            .run(&[Fetch::from(gt)], &feeds(inputs))
            .expect("backward")
            .take(0)
            .unwrap();
        assert_eq!(
            analytic.shape(),
            inputs[i].shape(),
            "gradient shape of input {i}"
        );
        let analytic = analytic.as_slice::<f32>().unwrap().to_vec();
        for (j, &a) in analytic.iter().enumerate() {
            let mut plus = inputs.to_vec();
            let mut minus = inputs.to_vec();
            plus[i].data_mut::<f32>().unwrap()[j] += h;
            minus[i].data_mut::<f32>().unwrap()[j] -= h;
            let numeric = (loss_at(&plus) - loss_at(&minus)) / (2.0 * h as f64);
            let a = a as f64;
            assert!(
                (a - numeric).abs() <= atol as f64 + rtol as f64 * numeric.abs(),
                "input {i} element {j}: analytic {a} vs numeric {numeric}"
            );
        }
    }
}
