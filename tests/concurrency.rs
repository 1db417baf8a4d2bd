//! A Session shared by many threads: read-only runs equal serial runs, concurrent training
//! steps never tear a variable and never deadlock.

use rustflow::prelude::*;
use std::sync::Arc;
use std::thread;

fn assert_send_sync<T: Send + Sync>() {}

#[test]
fn session_is_send_and_sync() {
    assert_send_sync::<Session>();
    assert_send_sync::<Graph>();
    assert_send_sync::<Tensor>();
}

/// y = relu-free two-layer net on a fixed input; big enough to take real time per run.
fn net(g: &Graph) -> Result<(Tensor, Tensor, Variable, Variable)> {
    let x = g.placeholder_named(F32, shape![?, 64], "x");
    let w1 = g.variable(
        &g.constant(Value::new(
            &[64, 128],
            (0..64 * 128)
                .map(|i| ((i % 17) as f32 - 8.0) / 64.0)
                .collect(),
        )?),
        "W1",
    )?;
    let w2 = g.variable(
        &g.constant(Value::new(
            &[128, 8],
            (0..128 * 8)
                .map(|i| ((i % 13) as f32 - 6.0) / 128.0)
                .collect(),
        )?),
        "W2",
    )?;
    let y = x.matmul(&w1)?.matmul(&w2)?;
    Ok((x, y, w1, w2))
}

fn input(seed: usize) -> Value {
    Value::new(
        &[32, 64],
        (0..32 * 64)
            .map(|i| (((i * 31 + seed * 7) % 23) as f32 - 11.0) / 23.0)
            .collect(),
    )
    .unwrap()
}

#[test]
fn concurrent_read_only_runs_equal_serial_runs() -> Result<()> {
    let g = Graph::new();
    let (x, y, ..) = net(&g)?;
    let sess = Session::new(&g);
    sess.run_op(&g.global_variables_initializer()?, &feed! {})?;
    let serial: Vec<Value> = (0..16)
        .map(|i| sess.eval(&y, &feed! { &x => input(i) }))
        .collect::<Result<_>>()?;
    let serial = Arc::new(serial);
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let (sess, x, y, serial) = (sess.clone(), x.clone(), y.clone(), serial.clone());
            thread::spawn(move || {
                for round in 0..20 {
                    let i = (t + round) % 16;
                    let v = sess.eval(&y, &feed! { &x => input(i) }).unwrap();
                    assert_eq!(v, serial[i], "thread {t} round {round}");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("a reader thread failed");
    }
    Ok(())
}

#[test]
fn concurrent_updates_are_atomic_per_variable() -> Result<()> {
    // Every thread adds 1 to every element of a large variable many times; a torn update would
    // lose increments or leave elements unequal.
    let g = Graph::new();
    let v = g.variable(&g.zeros(&[100_000])?, "v")?;
    let inc = v.assign_add(&g.ones(&[100_000])?)?;
    let sess = Session::new(&g);
    sess.run_op(&g.global_variables_initializer()?, &feed! {})?;
    let handles: Vec<_> = (0..8)
        .map(|_| {
            let (sess, inc) = (sess.clone(), inc.op());
            thread::spawn(move || {
                for _ in 0..50 {
                    sess.run_op(&inc, &feed! {}).unwrap();
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("an updating thread failed");
    }
    let now = sess.eval(&v, &feed! {})?;
    assert!(now.as_slice::<f32>()?.iter().all(|&x| x == 400.0));
    Ok(())
}

#[test]
fn concurrent_training_steps_finish_and_stay_finite() -> Result<()> {
    let g = Graph::new();
    let (x, y, ..) = net(&g)?;
    let loss = y.mul(&y)?.reduce_sum(None)?;
    let step = train::GradientDescentOptimizer::new(1e-4).minimize(&loss)?;
    let sess = Session::new(&g);
    sess.run_op(&g.global_variables_initializer()?, &feed! {})?;
    let handles: Vec<_> = (0..8)
        .map(|t| {
            let (sess, step, loss, x) = (sess.clone(), step.clone(), loss.clone(), x.clone());
            thread::spawn(move || {
                for i in 0..25 {
                    let out = sess
                        .run(&fetches![&step, &loss], &feed! { &x => input(t + i) })
                        .unwrap();
                    assert!(out
                        .value(1)
                        .unwrap()
                        .scalar_value::<f32>()
                        .unwrap()
                        .is_finite());
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("a training thread failed");
    }
    Ok(())
}

/// One value read by many nodes that run concurrently: every reader must see it, and the last
/// one may take it (a race here once lost the value mid-training).
#[test]
fn a_value_with_many_concurrent_readers_is_never_lost() -> Result<()> {
    let g = Graph::new();
    let x = g.placeholder_named(F32, shape![?], "x");
    let shared = x.mul(&g.constant(2.0f32))?;
    let readers: Vec<Tensor> = (0..16)
        .map(|i| shared.add(&g.constant(i as f32)))
        .collect::<Result<_>>()?;
    let fetch: Vec<Fetch> = readers.iter().map(Fetch::from).collect();
    let sess = Session::new(&g);
    for run in 0..3000 {
        let out = sess.run(&fetch, &feed! { &x => vec![1.0f32; 64] })?;
        for (i, v) in out.0.iter().enumerate() {
            let v = v.as_ref().expect("a tensor fetch has a value");
            assert_eq!(
                v.as_slice::<f32>()?[0],
                2.0 + i as f32,
                "run {run} reader {i}"
            );
        }
    }
    Ok(())
}
