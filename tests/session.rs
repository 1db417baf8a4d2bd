//! TensorFlow 1.x's Session semantics (../shared/TF1-SEMANTICS.md §1, §3, §7): fetches,
//! feeds, pruning, errors, variables, the default session, names.

use rustflow::prelude::*;
use rustflow::{identity, stop_gradient, RunOptions};

fn f32s(v: &Value) -> Vec<f32> {
    v.as_slice::<f32>().unwrap().to_vec()
}

#[test]
fn fetches_come_back_in_order_with_none_for_operations() -> Result<()> {
    let g = Graph::new();
    let x = g.placeholder_named(F32, shape![1, 3], "x");
    let two = g.constant(2.0f32);
    let y = x.mul(&two)?;
    let z = y.reduce_sum(None)?;
    let noop = rustflow::group(&g, &[], "noop")?;
    let sess = Session::new(&g);
    let out = sess.run(
        &fetches![&y, &noop, &z, &z],
        &feed! { &x => [[1.0f32, 2.0, 3.0]] },
    )?;
    assert_eq!(f32s(out.value(0)?), vec![2.0, 4.0, 6.0]);
    assert_eq!(out.0[1], None);
    assert_eq!(out.value(2)?.shape(), &[] as &[usize]);
    assert_eq!(out.value(2)?.scalar_value::<f32>()?, 12.0);
    assert_eq!(out.value(3)?, out.value(2)?);
    assert!(sess.run(&[], &feed! {})?.is_empty());
    Ok(())
}

#[test]
fn an_op_fetched_twice_runs_once() -> Result<()> {
    let g = Graph::new();
    let v = g.variable(&g.constant(10.0f32), "v")?;
    let inc = v.assign_add(&g.constant(1.0f32))?;
    let sess = Session::new(&g);
    sess.run_op(&g.global_variables_initializer()?, &feed! {})?;
    let out = sess.run(&fetches![&inc, &inc], &feed! {})?;
    assert_eq!(out.value(0)?.scalar_value::<f32>()?, 11.0);
    assert_eq!(out.value(1)?.scalar_value::<f32>()?, 11.0);
    assert_eq!(sess.eval(&v, &feed! {})?.scalar_value::<f32>()?, 11.0);
    Ok(())
}

#[test]
fn feeding_any_tensor_prunes_its_producers_and_fetching_it_returns_the_feed() -> Result<()> {
    let g = Graph::new();
    let x = g.placeholder_named(F32, shape![?, 3], "x");
    let h = x.mul(&g.constant(2.0f32))?;
    let y = h.add(&g.constant(1.0f32))?;
    let sess = Session::new(&g);
    assert_eq!(
        f32s(&sess.eval(&y, &feed! { &h => [[10.0f32, 20.0, 30.0]] })?),
        vec![11.0, 21.0, 31.0]
    );
    let out = sess.run(&fetches![&h, &y], &feed! { &h => [[5.0f32, 5.0, 5.0]] })?;
    assert_eq!(f32s(out.value(0)?), vec![5.0; 3]);
    assert_eq!(f32s(out.value(1)?), vec![6.0; 3]);
    assert_eq!(
        f32s(&sess.eval(&x, &feed! { &x => [[7.0f32, 8.0, 9.0]] })?),
        vec![7.0, 8.0, 9.0]
    );
    let mut by_name = FeedDict::new();
    by_name.insert_by_name(&g, "mul:0", [[1.0f32, 1.0, 1.0]])?;
    assert_eq!(f32s(&sess.eval(&y, &by_name)?), vec![2.0; 3]);
    // A fed non-placeholder is checked against its static shape too.
    let e = sess
        .eval(&y, &feed! { &h => [[1.0f32, 2.0, 3.0, 4.0]] })
        .unwrap_err();
    insta::assert_snapshot!(e, @"Cannot feed value of shape (1, 4) for Tensor 'mul:0', which has shape '[?,3]'");
    Ok(())
}

#[test]
fn only_what_the_fetches_need_runs() -> Result<()> {
    let g = Graph::new();
    let _x = g.placeholder_named(F32, shape![?, 3], "x");
    let v = g.variable(&g.constant(10.0f32), "v")?;
    let inc = v.assign_add(&g.constant(1.0f32))?;
    let z = v.mul(&g.constant(1.0f32))?;
    let sess = Session::new(&g);
    sess.run_op(&g.global_variables_initializer()?, &feed! {})?;
    // x is not needed, inc is not fetched: neither is a problem and inc does not run.
    assert_eq!(sess.eval(&z, &feed! {})?.scalar_value::<f32>()?, 10.0);
    assert_eq!(sess.eval(&v, &feed! {})?.scalar_value::<f32>()?, 10.0);
    // A control dependency is needed too (w's value races with inc, as in TensorFlow).
    let w = g.control_dependencies(&[&inc.op()], |_| identity(&z))??;
    sess.eval(&w, &feed! {})?;
    assert_eq!(sess.eval(&v, &feed! {})?.scalar_value::<f32>()?, 11.0);
    // A read created inside the block sees the new value.
    let r = g.control_dependencies(&[&inc.op()], |_| identity(&v))??;
    assert_eq!(sess.eval(&r, &feed! {})?.scalar_value::<f32>()?, 12.0);
    Ok(())
}

#[test]
fn feed_errors_are_caught_before_anything_runs() -> Result<()> {
    let g = Graph::new();
    let x = g.placeholder_named(F32, shape![?, 3], "x");
    let n = g.placeholder_named(I32, shape![], "n");
    let v = g.variable(&g.constant(0.0f32), "v")?;
    let inc = v.assign_add(&g.constant(1.0f32))?;
    let y = x.reduce_sum(None)?;
    let sess = Session::new(&g);
    sess.run_op(&g.global_variables_initializer()?, &feed! {})?;

    let e = sess.run(&fetches![&inc, &y], &feed! {}).unwrap_err();
    insta::assert_snapshot!(e, @r"
    You must feed a value for placeholder tensor 'x' with dtype float and shape [?,3]
    	 [[{{node x}}]]
    ");
    let e = sess
        .run(
            &fetches![&inc, &y],
            &feed! { &x => [[1.0f32, 2.0, 3.0, 4.0]] },
        )
        .unwrap_err();
    insta::assert_snapshot!(e, @"Cannot feed value of shape (1, 4) for Tensor 'x:0', which has shape '[?,3]'");
    let e = sess
        .run(&fetches![&inc, &y], &feed! { &x => [1.0f32, 2.0, 3.0] })
        .unwrap_err();
    insta::assert_snapshot!(e, @"Cannot feed value of shape (3,) for Tensor 'x:0', which has shape '[?,3]'");
    let e = sess
        .run(&fetches![&inc, &y], &feed! { &x => [[1i32, 2, 3]] })
        .unwrap_err();
    insta::assert_snapshot!(e, @"Cannot feed value of dtype int32 for Tensor 'x:0', which has dtype float32");
    let e = sess.eval(&n, &feed! { &n => [1i32] }).unwrap_err();
    insta::assert_snapshot!(e, @"Cannot feed value of shape (1,) for Tensor 'n:0', which has shape '[]'");
    // Nothing ran: the variable is unchanged.
    assert_eq!(sess.eval(&v, &feed! {})?.scalar_value::<f32>()?, 0.0);
    // The session is still usable.
    assert_eq!(
        sess.eval(&y, &feed! { &x => [[1.0f32, 2.0, 3.0]] })?
            .scalar_value::<f32>()?,
        6.0
    );
    Ok(())
}

#[test]
fn tensors_of_another_graph_are_rejected() -> Result<()> {
    let g = Graph::new();
    let other = Graph::new();
    let foreign = other.placeholder_named(F32, shape![], "foreign");
    let mine = g.placeholder_named(F32, shape![], "mine");
    let sess = Session::new(&g);
    let e = sess.eval(&foreign, &feed! {}).unwrap_err();
    insta::assert_snapshot!(e, @r#"Tensor("foreign:0", shape=[], dtype=float32) is not an element of this graph."#);
    let e = sess.eval(&mine, &feed! { &foreign => 1.0f32 }).unwrap_err();
    insta::assert_snapshot!(e, @r#"Tensor("foreign:0", shape=[], dtype=float32) is not an element of this graph."#);
    assert!(mine.add(&foreign).is_err());
    Ok(())
}

#[test]
fn variables_belong_to_a_session_and_must_be_initialized() -> Result<()> {
    let g = Graph::new();
    let w = g.variable(&g.zeros(&[2])?, "W")?;
    let y = w.mul(&g.constant(2.0f32))?;
    let sess = Session::new(&g);
    let e = sess.eval(&y, &feed! {}).unwrap_err();
    insta::assert_snapshot!(e, @"Attempting to use uninitialized value W");
    let init = g.global_variables_initializer()?;
    assert_eq!(init.name(), "init");
    sess.run_op(&init, &feed! {})?;
    sess.eval(&w.assign(&g.constant([3.0f32, 4.0]))?, &feed! {})?;
    assert_eq!(f32s(&sess.eval(&y, &feed! {})?), vec![6.0, 8.0]);
    // Values persist across runs, and re-running init resets them.
    assert_eq!(f32s(&sess.eval(&w, &feed! {})?), vec![3.0, 4.0]);
    sess.run_op(&init, &feed! {})?;
    assert_eq!(f32s(&sess.eval(&w, &feed! {})?), vec![0.0, 0.0]);
    // A new session starts uninitialized.
    let sess2 = Session::new(&g);
    assert!(matches!(
        sess2.eval(&w, &feed! {}),
        Err(Error::Uninitialized { .. })
    ));
    // An initializer made before a variable existed does not cover it.
    let late = g.variable(&g.ones(&[1])?, "late")?;
    sess.run_op(&init, &feed! {})?;
    assert!(matches!(
        sess.eval(&late, &feed! {}),
        Err(Error::Uninitialized { .. })
    ));
    // Assigning a wrong shape is a build-time error.
    assert!(w.assign(&g.constant([1.0f32, 2.0, 3.0])).is_err());
    Ok(())
}

#[test]
fn interactive_session_is_the_default_until_dropped() -> Result<()> {
    let g = Graph::new();
    let c = g.constant(3.0f32);
    let v = g.variable(&c, "v")?;
    let sess = InteractiveSession::new(&g);
    g.global_variables_initializer()?.run(&feed! {})?;
    assert_eq!(v.eval(&feed! {})?.scalar_value::<f32>()?, 3.0);
    assert_eq!(c.eval_in(&sess, &feed! {})?.scalar_value::<f32>()?, 3.0);
    drop(sess);
    let e = c.eval(&feed! {}).unwrap_err();
    insta::assert_snapshot!(e, @"Cannot evaluate tensor using `eval()`: No default session is registered. Create an InteractiveSession or pass a session explicitly");
    let e = g
        .global_variables_initializer()?
        .run(&feed! {})
        .unwrap_err();
    assert!(matches!(e, Error::NoDefaultSession { .. }));
    Ok(())
}

#[test]
fn a_closed_session_refuses_to_run() {
    let g = Graph::new();
    let c = g.constant(1.0f32);
    let sess = Session::new(&g);
    sess.close();
    let e = sess.eval(&c, &feed! {}).unwrap_err();
    insta::assert_snapshot!(e, @"Attempted to use a closed Session.");
}

#[test]
fn plans_are_cached_per_signature() -> Result<()> {
    let g = Graph::new();
    let x = g.placeholder_named(F32, shape![?], "x");
    let y = x.add(&x)?;
    let sess = Session::new(&g);
    for i in 0..5 {
        sess.eval(&y, &feed! { &x => vec![i as f32] })?;
    }
    assert_eq!(sess.cached_plans(), 1);
    sess.run(&fetches![&x, &y], &feed! { &x => vec![1.0f32] })?;
    assert_eq!(sess.cached_plans(), 2);
    Ok(())
}

#[test]
fn names_follow_tensorflow() -> Result<()> {
    let g = Graph::new();
    let a = g.variable(&g.constant(0.0f32), "")?;
    let b = g.variable(&g.constant(0.0f32), "")?;
    assert_eq!(
        (a.name(), b.name()),
        ("Variable:0".into(), "Variable_1:0".into())
    );
    assert_eq!(g.unique_name("foo"), "foo");
    assert_eq!(g.unique_name("foo_1"), "foo_1");
    assert_eq!(g.unique_name("Foo"), "Foo_2");
    assert_eq!(g.unique_name("foo_1"), "foo_1_1");
    g.name_scope("conv1", |g| -> Result<()> {
        let w = g.variable(&g.constant(1.0f32), "W")?;
        assert_eq!(w.name(), "conv1/W:0");
        g.name_scope("inner", |_| {
            assert_eq!(identity(&w).unwrap().op().name(), "conv1/inner/Identity")
        });
        Ok(())
    })?;
    g.name_scope("conv1", |g| assert_eq!(g.unique_name("W"), "conv1_1/W"));
    g.name_scope("conv1/", |g| assert_eq!(g.unique_name("z"), "conv1/z"));
    let x = g.placeholder(F32, shape![]);
    let y = x.mul(&x)?;
    let s = stop_gradient(&x)?;
    let d1 = rustflow::gradients(&[&y], &[&x], None)?;
    let d2 = rustflow::gradients(&[&y], &[&x], None)?;
    assert!(d1[0]
        .as_ref()
        .unwrap()
        .op()
        .name()
        .starts_with("gradients/"));
    assert!(d2[0]
        .as_ref()
        .unwrap()
        .op()
        .name()
        .starts_with("gradients_1/"));
    assert_eq!(s.op().name(), "StopGradient");
    Ok(())
}

#[test]
fn a_traced_run_records_every_node_and_exports_chrome_json() -> Result<()> {
    let g = Graph::new();
    let x = g.placeholder_named(F32, shape![?, 2], "x");
    let y = x.mul(&x)?.reduce_sum(None)?;
    let sess = Session::new(&g);
    let opts = RunOptions {
        trace: true,
        ..RunOptions::default()
    };
    let (_, meta) = sess.run_with(&fetches![&y], &feed! { &x => [[1.0f32, 2.0]] }, &opts)?;
    let mut names: Vec<_> = meta.nodes.iter().map(|n| n.node.as_str()).collect();
    names.sort();
    assert_eq!(names, ["Sum", "mul"]);
    let json: serde_json::Value =
        serde_json::from_str(&meta.to_chrome_trace()).expect("valid JSON");
    assert_eq!(json["traceEvents"].as_array().map(Vec::len), Some(2));
    assert_eq!(meta.by_op_type().len(), 2);
    Ok(())
}

#[test]
fn a_short_plan_runs_its_nodes_on_the_calling_thread_once_a_run_was_short() -> Result<()> {
    // Two independent branches: the first run spreads them over the pool; once the plan is
    // known to take under SEQUENTIAL_BELOW_US, it runs them one by one where `run` is called.
    let g = Graph::new();
    let x = g.placeholder_named(F32, shape![2], "x");
    let (a, b) = (x.mul(&x)?, x.add(&x)?);
    let y = a.sub(&b)?;
    let sess = Session::new(&g);
    let opts = RunOptions {
        trace: true,
        ..RunOptions::default()
    };
    let feeds = feed! { &x => [3.0f32, 4.0] };
    let first = sess.run_with(&fetches![&y], &feeds, &opts)?;
    assert_eq!(first.0.value(0)?.as_slice::<f32>()?, [3.0, 8.0]);
    // The second run is sequential unless the machine is so loaded that the first took
    // longer than the threshold; then a later one is. The test's own thread is outside the
    // pool: traces record it as usize::MAX.
    let mut sequential = None;
    for _ in 0..50 {
        let (out, meta) = sess.run_with(&fetches![&y], &feeds, &opts)?;
        assert_eq!(out.value(0)?.as_slice::<f32>()?, [3.0, 8.0]);
        if meta.nodes.iter().all(|n| n.thread == usize::MAX) {
            sequential = Some(meta);
            break;
        }
    }
    let meta = sequential.expect("no run of the short plan ran on the calling thread");
    assert_eq!(meta.nodes.len(), 3);
    Ok(())
}

#[test]
fn a_numerics_checked_run_names_the_first_node_with_nan() -> Result<()> {
    let g = Graph::new();
    let x = g.placeholder_named(F32, shape![2], "x");
    let y = x.mul(&x)?;
    let z = y.add(&x)?;
    let checked = rustflow::check_numerics(&z, "after add")?;
    let sess = Session::new(&g);
    let opts = RunOptions {
        check_numerics: true,
        ..RunOptions::default()
    };
    let e = sess
        .run_with(
            &fetches![&z],
            &feed! { &x => [1.0f32, f32::INFINITY] },
            &opts,
        )
        .unwrap_err();
    insta::assert_snapshot!(e, @r"
    found by the run's numerics check : Tensor had Inf values
    	 [[{{node mul}} = Mul]]
    ");
    // Without the option, only the check_numerics op complains.
    let e = sess
        .eval(&checked, &feed! { &x => [f32::NAN, 1.0] })
        .unwrap_err();
    insta::assert_snapshot!(e, @r"
    after add : Tensor had NaN values
    	 [[{{node CheckNumerics}} = CheckNumerics]]
    ");
    assert!(sess
        .eval(&z, &feed! { &x => [f32::NAN, 1.0] })?
        .as_slice::<f32>()?[0]
        .is_nan());
    Ok(())
}
