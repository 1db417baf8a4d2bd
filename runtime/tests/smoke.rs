use rustflow_graph::{shape, DType, Graph};
use rustflow_ops::train::{GradientDescentOptimizer, Optimizer};
use rustflow_ops::*;
use rustflow_runtime::{feed, fetches, Session};

#[test]
fn gd_on_a_quadratic_returns_pre_update_loss() {
    let g = Graph::new();
    let w = Variable::new(&constant(&g, 3.0f32, ""), "w").unwrap();
    let loss = mul(&w, &w).unwrap();
    let step = GradientDescentOptimizer::new(0.1).minimize(&loss).unwrap();
    let init = global_variables_initializer(&g).unwrap();
    let sess = Session::new(&g);
    assert!(sess.run(&fetches![&loss], &feed! {}).is_err());
    sess.run(&fetches![&init], &feed! {}).unwrap();
    let out = sess.run(&fetches![&step, &loss], &feed! {}).unwrap();
    assert_eq!(out.0[0], None);
    assert_eq!(out.value(1).unwrap().scalar_value::<f32>().unwrap(), 9.0);
    let w_now = sess
        .eval(&w, &feed! {})
        .unwrap()
        .scalar_value::<f32>()
        .unwrap();
    assert!((w_now - 2.4).abs() < 1e-6, "{w_now}");
}

#[test]
fn feeding_an_intermediate_prunes_its_producers() {
    let g = Graph::new();
    let x = placeholder(&g, DType::F32, shape![?, 3], "x");
    let two = constant(&g, 2.0f32, "");
    let h = mul(&x, &two).unwrap();
    let one = constant(&g, 1.0f32, "");
    let y = add(&h, &one).unwrap();
    let sess = Session::new(&g);
    let v = sess
        .eval(&y, &feed! { &h => [[10.0f32, 20.0, 30.0]] })
        .unwrap();
    assert_eq!(v.as_slice::<f32>().unwrap(), &[11.0, 21.0, 31.0]);
    let err = sess.eval(&y, &feed! {}).unwrap_err();
    assert!(
        err.to_string().starts_with(
            "You must feed a value for placeholder tensor 'x' with dtype float and shape [?,3]"
        ),
        "{err}"
    );
    let e = sess
        .eval(&y, &feed! { &x => [1.0f32, 2.0, 3.0] })
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "Cannot feed value of shape (3,) for Tensor 'x:0', which has shape '[?,3]'"
    );
}
