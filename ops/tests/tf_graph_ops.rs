//! The ops TensorFlow's graphs hold that rustflow's builders did not make: `Shape`,
//! `SelectV2`, the comparisons and `RandomUniform` with a run-time shape, against naive
//! references and central differences.

mod support;

use rustflow_graph::{shape, DType, Graph, Value};
use rustflow_graph::{Result, Tensor};
use rustflow_ops::{
    constant, greater, greater_equal, less, less_equal, not_equal, placeholder,
    random_uniform_shaped, select_v2, shape,
};
use rustflow_runtime::{FeedDict, Session};
use support::{check_gradients, pseudo, random_value};

#[test]
fn comparisons_broadcast_like_numpy() {
    let g = Graph::new();
    let a = Value::new(&[2, 3], (0..6).map(|i| i as f32).collect()).unwrap();
    let b = Value::new(&[3], vec![1.0f32, 4.0, 2.0]).unwrap();
    let (ta, tb) = (constant(&g, a.clone(), "a"), constant(&g, b.clone(), "b"));
    let sess = Session::new(&g);
    type Build = fn(&Tensor, &Tensor) -> Result<Tensor>;
    for (c, build, f) in [
        (
            "greater",
            greater as Build,
            (|x, y| x > y) as fn(f32, f32) -> bool,
        ),
        ("greater_equal", greater_equal, |x, y| x >= y),
        ("less", less, |x, y| x < y),
        ("less_equal", less_equal, |x, y| x <= y),
        ("not_equal", not_equal, |x, y| x != y),
    ] {
        let y = build(&ta, &tb).unwrap();
        assert_eq!(y.shape().to_string(), "[2,3]");
        let got = sess.eval(&y, &FeedDict::new()).unwrap();
        let want: Vec<bool> = (0..6)
            .map(|k| {
                f(
                    a.as_slice::<f32>().unwrap()[k],
                    b.as_slice::<f32>().unwrap()[k % 3],
                )
            })
            .collect();
        assert_eq!(got.as_slice::<bool>().unwrap(), want.as_slice(), "{c:?}");
    }
    // Integers, a scalar on the left, and a dtype mismatch at build time.
    let i = less(&constant(&g, 2i32, ""), &constant(&g, [1i32, 2, 3], "")).unwrap();
    assert_eq!(
        sess.eval(&i, &FeedDict::new())
            .unwrap()
            .as_slice::<bool>()
            .unwrap(),
        &[false, false, true]
    );
    assert!(less(&ta, &constant(&g, 1i32, "")).is_err());
    assert!(less(&ta, &constant(&g, [1.0f32, 2.0], "")).is_err());
}

#[test]
fn select_v2_values_and_gradients() {
    let g = Graph::new();
    let c = Value::new(&[2, 1], vec![true, false]).unwrap();
    let t = random_value(&[2, 3], 1);
    let e = random_value(&[3], 2);
    let y = select_v2(
        &constant(&g, c, ""),
        &constant(&g, t.clone(), ""),
        &constant(&g, e.clone(), ""),
    )
    .unwrap();
    assert_eq!(y.shape().to_string(), "[2,3]");
    let got = Session::new(&g).eval(&y, &FeedDict::new()).unwrap();
    let (t, e) = (t.as_slice::<f32>().unwrap(), e.as_slice::<f32>().unwrap());
    let want: Vec<f32> = (0..6)
        .map(|k| if k < 3 { t[k] } else { e[k % 3] })
        .collect();
    assert_eq!(got.as_slice::<f32>().unwrap(), want.as_slice());
    // Gradients reach t and e (e summed over the broadcast rows).
    let cond = Value::new(&[2, 3], (0..6).map(|k| pseudo(k, 5) > 0.0).collect()).unwrap();
    check_gradients(
        &[random_value(&[2, 3], 3), random_value(&[3], 4)],
        &[],
        |g, x| select_v2(&constant(g, cond.clone(), "c"), &x[0], &x[1]),
        1e-2,
        1e-2,
        1e-3,
    );
    assert!(select_v2(
        &constant(&g, 1.0f32, ""),
        &constant(&g, 1.0f32, ""),
        &constant(&g, 1.0f32, "")
    )
    .is_err());
}

#[test]
fn shape_and_random_uniform_of_a_run_time_shape() {
    let g = Graph::new();
    let x = placeholder(&g, DType::F32, shape![?, 3], "x");
    let s = shape(&x, DType::I32).unwrap();
    let s64 = shape(&x, DType::I64).unwrap();
    let u = random_uniform_shaped(&s, Some(7)).unwrap();
    assert_eq!(u.shape().to_string(), "[?,?]");
    assert!(shape(&x, DType::F32).is_err());
    let sess = Session::new(&g);
    let feed = FeedDict::new().with(&x, Value::new(&[500, 3], vec![0f32; 1500]).unwrap());
    assert_eq!(
        sess.eval(&s, &feed).unwrap().as_slice::<i32>().unwrap(),
        &[500, 3]
    );
    assert_eq!(
        sess.eval(&s64, &feed).unwrap().as_slice::<i64>().unwrap(),
        &[500, 3]
    );
    let v = sess.eval(&u, &feed).unwrap();
    assert_eq!(v.shape(), &[500, 3]);
    let d = v.as_slice::<f32>().unwrap();
    assert!(d.iter().all(|&x| (0.0..1.0).contains(&x)));
    let mean = d.iter().sum::<f32>() / d.len() as f32;
    assert!((mean - 0.5).abs() < 0.05, "{mean}");
    // A new draw each run.
    assert_ne!(sess.eval(&u, &feed).unwrap().as_slice::<f32>().unwrap(), d);
}
