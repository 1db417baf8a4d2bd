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

/// Runs `f` on a thread of its own and fails if it has not finished within `secs`: a
/// deadlock fails the test instead of hanging it.
fn with_watchdog(what: &str, secs: u64, f: impl FnOnce() + Send + 'static) {
    let (done, finished) = std::sync::mpsc::channel();
    let worker = thread::spawn(move || {
        f();
        done.send(()).ok();
    });
    match finished.recv_timeout(std::time::Duration::from_secs(secs)) {
        Ok(()) => worker.join().expect("the worker failed"),
        // The worker panicked: its sender is gone; join to report its panic.
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            worker.join().expect("the worker failed")
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what}: not finished after {secs} s (deadlock)")
        }
    }
}

/// A model whose training exercises every update path: `W` is a `MatMul`'s weight (Adam
/// computes its gradient itself, several blocks of rows), `big` a plain gradient of several
/// chunks, `b` a small one. Returns the input, the loss and the training op.
fn stress_model(g: &Graph, opt: &str) -> Result<(Tensor, Tensor, Operation)> {
    let x = g.placeholder_named(F32, shape![?, 64], "x");
    let w1 = g.variable(
        &rustflow::random_normal(g, &[64, 256], 0.0, 0.05, Some(1))?,
        "W1",
    )?;
    let w = g.variable(
        &rustflow::random_normal(g, &[256, 4096], 0.0, 0.05, Some(1))?,
        "W",
    )?;
    let b = g.variable(&g.zeros(&[4096])?, "b")?;
    let big = g.variable(&g.ones(&[1_000_000])?, "big")?;
    let y = x.matmul(&w1)?.matmul(&w)?.add(&b)?;
    let loss = y
        .mul(&y)?
        .reduce_mean(None)?
        .add(&big.mul(&big)?.reduce_mean(None)?)?;
    let step = match opt {
        "GradientDescent" => train::GradientDescentOptimizer::new(0.05).minimize(&loss)?,
        "Momentum" => train::MomentumOptimizer::new(0.02, 0.9).minimize(&loss)?,
        "Nesterov" => train::MomentumOptimizer::new(0.02, 0.9)
            .with_nesterov(true)
            .minimize(&loss)?,
        "Adagrad" => train::AdagradOptimizer::new(0.05).minimize(&loss)?,
        "RMSProp" => train::RMSPropOptimizer::new(1e-3)
            .with_momentum(0.5)
            .with_centered(true)
            .minimize(&loss)?,
        "Adadelta" => train::AdadeltaOptimizer::new(1.0).minimize(&loss)?,
        _ => train::AdamOptimizer::new(1e-3).minimize(&loss)?,
    };
    Ok((x, loss, step))
}

/// The issue-22 probe: training steps and evaluations from 12 threads over two sessions of
/// one graph, for every optimizer. Adam once held its variables' locks while it waited for
/// rayon's pool, whose threads were blocked on those locks: this hung nearly every time.
#[test]
fn training_and_evaluation_from_many_threads_never_deadlock() -> Result<()> {
    for opt in [
        "GradientDescent",
        "Momentum",
        "Nesterov",
        "Adagrad",
        "RMSProp",
        "Adadelta",
        "Adam",
    ] {
        let g = Graph::new();
        let (x, loss, step) = stress_model(&g, opt)?;
        let sessions: Vec<Session> = (0..2).map(|_| Session::new(&g)).collect();
        let mut before = Vec::new();
        for sess in &sessions {
            sess.run_op(&g.global_variables_initializer()?, &feed! {})?;
            before.push(sess.eval(&loss, &feed! { &x => input(0) })?);
        }
        let work = {
            let (sessions, x, loss, step) = (sessions.clone(), x.clone(), loss.clone(), step);
            move || {
                let mut handles = Vec::new();
                for sess in &sessions {
                    for t in 0..6 {
                        let (sess, x, loss, step) =
                            (sess.clone(), x.clone(), loss.clone(), step.clone());
                        handles.push(thread::spawn(move || {
                            for i in 0..25 {
                                let feeds = feed! { &x => input(t + i) };
                                // 4 trainers (fetching the loss too), 2 evaluators.
                                let out = if t < 4 {
                                    sess.run(&fetches![&step, &loss], &feeds).unwrap().take(1)
                                } else {
                                    sess.run(&fetches![&loss], &feeds).unwrap().take(0)
                                };
                                let l = out.unwrap().scalar_value::<f32>().unwrap();
                                assert!(l.is_finite(), "loss {l}");
                            }
                        }));
                    }
                }
                for h in handles {
                    h.join().expect("a training or evaluating thread failed");
                }
            }
        };
        with_watchdog(opt, 120, work);
        for (sess, before) in sessions.iter().zip(before) {
            let after = sess.eval(&loss, &feed! { &x => input(0) })?;
            let (a, b) = (after.scalar_value::<f32>()?, before.scalar_value::<f32>()?);
            assert!(a < b, "{opt}: the loss went from {b} to {a}");
        }
    }
    Ok(())
}

/// Name scopes and control dependencies belong to the thread that opened them, as in
/// TensorFlow 1.x: four threads build in one graph at once (while a fifth runs training
/// steps on it), each inside its own scope and control dependency, and every node gets
/// exactly its own thread's.
#[test]
fn name_scopes_and_control_dependencies_are_per_thread() -> Result<()> {
    let g = Graph::new();
    let (x, _, step) = stress_model(&g, "GradientDescent")?;
    let sess = Session::new(&g);
    sess.run_op(&g.global_variables_initializer()?, &feed! {})?;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let trainer = {
        let (sess, x, step, stop) = (sess.clone(), x.clone(), step.clone(), stop.clone());
        thread::spawn(move || {
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                sess.run_op(&step, &feed! { &x => input(1) }).unwrap();
            }
        })
    };
    let anchors: Vec<Operation> = (0..4)
        .map(|t| Ok(g.constant(t as f32).op()))
        .collect::<Result<_>>()?;
    let barrier = Arc::new(std::sync::Barrier::new(4));
    let builders: Vec<_> = (0..4)
        .map(|t| {
            let (g, anchor, barrier) = (g.clone(), anchors[t].clone(), barrier.clone());
            thread::spawn(move || -> Result<()> {
                g.name_scope(&format!("thread{t}"), |g| {
                    g.control_dependencies(&[&anchor], |g| -> Result<()> {
                        barrier.wait();
                        for i in 0..500 {
                            let c = g.constant(i as f32);
                            let name = c.op().name();
                            assert!(name.starts_with(&format!("thread{t}/")), "{name}");
                            let controls = g.node(c.node()).control_inputs;
                            assert_eq!(controls, vec![anchor.id()], "{name}");
                            assert_eq!(g.current_scope(), format!("thread{t}"));
                        }
                        Ok(())
                    })?
                })?;
                // Outside, this thread has neither, whatever the others are in.
                let plain = g.constant(0f32);
                assert!(g.node(plain.node()).control_inputs.is_empty());
                assert!(!plain.op().name().contains('/'));
                Ok(())
            })
        })
        .collect();
    for b in builders {
        b.join().expect("a building thread failed")?;
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    trainer.join().expect("the training thread failed");
    assert_eq!(g.current_scope(), "");
    assert!(!g.in_control_dependencies());
    Ok(())
}

/// Each thread's `InteractiveSession` is that thread's default session only: two threads
/// with sessions over one graph each see their own variable values, and a third thread has
/// no default session.
#[test]
fn interactive_sessions_on_two_threads_do_not_see_each_other() -> Result<()> {
    let g = Graph::new();
    let v = g.variable(&g.zeros(&[])?, "v")?;
    let p = g.placeholder_named(F32, shape![], "p");
    let set = v.assign(&p)?;
    let barrier = Arc::new(std::sync::Barrier::new(2));
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let (g, v, p, set, barrier) = (
                g.clone(),
                v.clone(),
                p.clone(),
                set.clone(),
                barrier.clone(),
            );
            thread::spawn(move || -> Result<()> {
                let _sess = InteractiveSession::new(&g);
                set.op()
                    .run(&feed! { &p => Value::scalar(t as f32 + 1.0) })?;
                barrier.wait();
                for _ in 0..500 {
                    assert_eq!(v.eval(&feed! {})?.scalar_value::<f32>()?, t as f32 + 1.0);
                }
                Ok(())
            })
        })
        .collect();
    for t in threads {
        t.join().expect("a session thread failed")?;
    }
    let other = {
        let v = v.clone();
        thread::spawn(move || v.eval(&feed! {}).map(|_| ()))
    };
    assert!(matches!(
        other.join().unwrap(),
        Err(Error::NoDefaultSession { .. })
    ));
    Ok(())
}
