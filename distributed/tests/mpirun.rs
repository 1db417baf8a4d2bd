//! The collectives and the distributed optimizer under `mpirun -np 2`.
//!
//! Each test launches this test binary again under `mpirun -np 2 --allow-run-as-root
//! --oversubscribe`, running only itself; inside, the two processes run the test's body and
//! check what they computed against values each process works out on its own (a mean of
//! gathered gradients, a hand-applied update). So `cargo test -p rustflow-mpi` runs them
//! without a wrapper; Open MPI's `mpirun` must be on the path.

use ndarray::{Array1, Array2};
use rustflow_graph::{shape, DType, Error, Graph, Tensor, Value};
use rustflow_mnist::DataSet;
use rustflow_mpi::{
    allgather, allreduce, broadcast, broadcast_global_variables, DistributedOptimizer, ReduceOp,
    World,
};
use rustflow_ops::train::{AdamOptimizer, GradientDescentOptimizer, Optimizer};
use rustflow_ops::{
    constant, global_variables_initializer, gradients, matmul, nn, reduce_mean, reduce_sum,
    GraphOps, TensorOps, Variable,
};
use rustflow_runtime::{FeedDict, Fetch, Session};
use std::process::Command;

/// Runs test `name` of this binary in 2 processes under `mpirun` and checks they succeed;
/// returns false there. Inside `mpirun`, returns true: the caller runs the test's body.
fn inside_mpirun(name: &str, env: &[(&str, &str)]) -> bool {
    if std::env::var_os("OMPI_COMM_WORLD_SIZE").is_some() {
        return true;
    }
    let exe = std::env::current_exe().expect("test binary");
    // Each rank's output goes to a file of its own (on a shared terminal the two ranks'
    // writes interleave within lines).
    let dir = std::env::temp_dir().join(format!("rustflow-mpirun-{}-{name}", std::process::id()));
    let out = Command::new("mpirun")
        .args(["-np", "2", "--allow-run-as-root", "--oversubscribe"])
        .arg("--output-filename")
        .arg(&dir)
        .arg(exe)
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .envs(env.iter().copied())
        .output()
        .expect("mpirun (Open MPI) on the path");
    let rank = |r: usize, stream: &str| {
        std::fs::read_to_string(dir.join(format!("1/rank.{r}/{stream}"))).unwrap_or_default()
    };
    let text = format!(
        "{}{}\n[rank 0]\n{}{}\n[rank 1]\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
        rank(0, "stdout"),
        rank(0, "stderr"),
        rank(1, "stdout"),
        rank(1, "stderr"),
    );
    let ran = (0..2).all(|r| rank(r, "stdout").contains("test result: ok. 1 passed"));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(out.status.success(), "mpirun -np 2 {name}:\n{text}");
    assert!(ran, "both ranks ran {name}:\n{text}");
    false
}

fn start() -> World {
    let w = rustflow_mpi::init().unwrap();
    assert_eq!(w.size, 2, "run under mpirun -np 2");
    w
}

fn floats(v: &Value) -> Vec<f32> {
    v.as_slice::<f32>().unwrap().to_vec()
}

fn eval(sess: &Session, t: &Tensor) -> Vec<f32> {
    floats(&sess.eval(t, &FeedDict::new()).unwrap())
}

/// Rank r's test tensor: element i is `(r + 1) * (i + 1) + 0.25 * i * i`.
fn per_rank(r: usize, n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (r as f32 + 1.0) * (i as f32 + 1.0) + 0.25 * (i * i) as f32)
        .collect()
}

#[test]
fn allreduce_sums_averages_and_its_gradient_is_the_allreduce_of_the_upstream() {
    if !inside_mpirun(
        "allreduce_sums_averages_and_its_gradient_is_the_allreduce_of_the_upstream",
        &[],
    ) {
        return;
    }
    let w = start();
    let g = Graph::new();
    let mine = per_rank(w.rank, 6);
    let x = constant(&g, Value::new(&[2, 3], mine).unwrap(), "x");
    let sum = allreduce(&x, ReduceOp::Sum).unwrap();
    let mean = allreduce(&x, ReduceOp::Average).unwrap();
    assert_eq!(sum.shape(), shape![2, 3]);
    let ints = allreduce(&constant(&g, [w.rank as i64 + 5, 7], "i"), ReduceOp::Sum).unwrap();
    // loss = sum(c_r * allreduce(x)): d loss / d x on rank r is the sum over ranks of c_r'.
    let c = constant(&g, [1.0f32 + w.rank as f32 * 10.0, -2.0, 0.5], "c");
    let loss = reduce_sum(&sum.mul(&c).unwrap(), None, false).unwrap();
    let dx = gradients(&[&loss], &[&x], None).unwrap()[0]
        .clone()
        .unwrap();
    let sess = Session::new(&g);
    let expected_sum: Vec<f32> = (0..6)
        .map(|i| per_rank(0, 6)[i] + per_rank(1, 6)[i])
        .collect();
    assert_eq!(eval(&sess, &sum), expected_sum);
    let expected_mean: Vec<f32> = expected_sum.iter().map(|s| s / 2.0).collect();
    assert_eq!(eval(&sess, &mean), expected_mean);
    let i = sess.eval(&ints, &FeedDict::new()).unwrap();
    assert_eq!(i.as_slice::<i64>().unwrap(), &[11, 14]);
    // c summed over ranks: [1 + 11, -4, 1], for each of the two rows.
    assert_eq!(eval(&sess, &dx), vec![12.0, -4.0, 1.0, 12.0, -4.0, 1.0]);
}

#[test]
fn broadcast_gives_the_roots_value_and_the_root_the_summed_gradient() {
    if !inside_mpirun(
        "broadcast_gives_the_roots_value_and_the_root_the_summed_gradient",
        &[],
    ) {
        return;
    }
    let w = start();
    let g = Graph::new();
    let x = constant(&g, Value::new(&[4], per_rank(w.rank, 4)).unwrap(), "x");
    let y = broadcast(&x, 1).unwrap();
    let c = constant(&g, [1.0f32, 2.0, 3.0, 4.0 + w.rank as f32], "c");
    let loss = reduce_sum(&y.mul(&c).unwrap(), None, false).unwrap();
    let dx = gradients(&[&loss], &[&x], None).unwrap()[0]
        .clone()
        .unwrap();
    assert!(broadcast(&x, 2).is_err(), "no rank 2 in a job of 2");
    let sess = Session::new(&g);
    assert_eq!(eval(&sess, &y), per_rank(1, 4));
    let expected = if w.rank == 1 {
        vec![2.0, 4.0, 6.0, 9.0]
    } else {
        vec![0.0; 4]
    };
    assert_eq!(eval(&sess, &dx), expected);
}

#[test]
fn allgather_concatenates_rows_of_any_count_and_routes_the_gradient_back() {
    if !inside_mpirun(
        "allgather_concatenates_rows_of_any_count_and_routes_the_gradient_back",
        &[],
    ) {
        return;
    }
    let w = start();
    let g = Graph::new();
    // Rank 0 has one row, rank 1 two rows, of 3 columns each.
    let rows = w.rank + 1;
    let x = g.placeholder(DType::F32, shape![?, 3]);
    let all = allgather(&x).unwrap();
    assert_eq!(all.shape(), shape![?, 3]);
    let weights: Vec<f32> = (0..9)
        .map(|i| (i as f32 + 1.0) * (w.rank as f32 + 1.0))
        .collect();
    let c = constant(&g, Value::new(&[3, 3], weights).unwrap(), "c");
    let loss = reduce_sum(&all.mul(&c).unwrap(), None, false).unwrap();
    let dx = gradients(&[&loss], &[&x], None).unwrap()[0]
        .clone()
        .unwrap();
    let sess = Session::new(&g);
    let feed = || {
        let mut f = FeedDict::new();
        f.insert(
            &x,
            Value::new(&[rows, 3], per_rank(w.rank, rows * 3)).unwrap(),
        );
        f
    };
    let got = sess.eval(&all, &feed()).unwrap();
    assert_eq!(got.shape(), &[3, 3]);
    let mut expected = per_rank(0, 3);
    expected.extend(per_rank(1, 6));
    assert_eq!(floats(&got), expected);
    // The summed weights are 3 * (i + 1); this rank's rows start at row `rank`.
    let summed: Vec<f32> = (0..9).map(|i| 3.0 * (i as f32 + 1.0)).collect();
    let mine = &summed[w.rank * 3..(w.rank + rows) * 3];
    assert_eq!(floats(&sess.eval(&dx, &feed()).unwrap()), mine);
}

/// A two-layer network and each rank's own batch.
fn model(g: &Graph, rank: usize) -> (Tensor, Vec<Variable>, FeedDict) {
    let x = g.placeholder(DType::F32, shape![?, 5]);
    let y = g.placeholder(DType::F32, shape![?, 3]);
    let init = |shape: &[usize], seed: usize, name: &str| {
        let n: usize = shape.iter().product();
        let v: Vec<f32> = (0..n)
            .map(|i| (((i * 7 + seed * 13) % 11) as f32 - 5.0) * 0.05)
            .collect();
        g.variable(&constant(g, Value::new(shape, v).unwrap(), ""), name)
            .unwrap()
    };
    let w1 = init(&[5, 8], 1, "w1");
    let b1 = init(&[8], 2, "b1");
    let w2 = init(&[8, 3], 3, "w2");
    let h = nn::relu(&matmul(&x, &w1).unwrap().add(&b1).unwrap()).unwrap();
    let logits = matmul(&h, &w2).unwrap();
    let loss = reduce_mean(
        &nn::softmax_cross_entropy_with_logits(&y, &logits).unwrap(),
        None,
        false,
    )
    .unwrap();
    let xs = Array2::from_shape_fn((4, 5), |(i, j)| ((i * 5 + j + rank * 3) % 7) as f32 * 0.3);
    let ys = Array2::from_shape_fn((4, 3), |(i, j)| f32::from((i + rank) % 3 == j));
    let mut feed = FeedDict::new();
    feed.insert(&x, xs);
    feed.insert(&y, ys);
    (loss, vec![w1, b1, w2], feed)
}

/// Every variable's bits, gathered from both ranks through a separate graph.
fn same_on_both_ranks(values: &[Value]) {
    let g = Graph::new();
    let gathered: Vec<Tensor> = values
        .iter()
        .map(|v| {
            let flat = v.reshaped(&[1, v.len()]).unwrap();
            allgather(&constant(&g, flat, "")).unwrap()
        })
        .collect();
    let sess = Session::new(&g);
    for (v, t) in values.iter().zip(&gathered) {
        let both = floats(&sess.eval(t, &FeedDict::new()).unwrap());
        let (a, b) = both.split_at(v.len());
        let bits = |s: &[f32]| s.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(a), bits(b), "a variable differs between the ranks");
    }
}

#[test]
fn distributed_steps_apply_the_mean_gradient_and_keep_variables_bit_identical() {
    if !inside_mpirun(
        "distributed_steps_apply_the_mean_gradient_and_keep_variables_bit_identical",
        &[],
    ) {
        return;
    }
    let w = start();
    // Fusion buffers of 100 bytes (several buffers) and of 4 MiB (one), reduced during the
    // backward pass and after it.
    for (threshold, overlap) in [(100, true), (4 << 20, true), (100, false)] {
        let g = Graph::new();
        let (loss, vars, feed) = model(&g, w.rank);
        let lr = 0.5f32;
        let opt = DistributedOptimizer::new(GradientDescentOptimizer::new(lr))
            .with_fusion_threshold(threshold)
            .with_overlap(overlap);
        let train = opt.minimize(&loss).unwrap();
        let local: Vec<Tensor> = {
            let xs: Vec<&Tensor> = vars.iter().map(|v| &**v).collect();
            gradients(&[&loss], &xs, None)
                .unwrap()
                .into_iter()
                .map(Option::unwrap)
                .collect()
        };
        // Each gradient of both ranks, gathered as [2, n] to average by hand.
        let gathered: Vec<Tensor> = local
            .iter()
            .map(|t| {
                let n = t.shape().num_elements().unwrap() as i64;
                allgather(&t.reshape(&[1, n]).unwrap()).unwrap()
            })
            .collect();
        let sess = Session::new(&g);
        sess.run_op(&global_variables_initializer(&g).unwrap(), &FeedDict::new())
            .unwrap();
        for _ in 0..4 {
            let before: Vec<Vec<f32>> = vars.iter().map(|v| eval(&sess, v)).collect();
            let fetches: Vec<Fetch> = gathered.iter().map(|t| t.into()).collect();
            let grads = sess.run(&fetches, &feed).unwrap();
            sess.run_op(&train, &feed).unwrap();
            let mut after = Vec::new();
            for (i, v) in vars.iter().enumerate() {
                let both = floats(grads.value(i).unwrap());
                let (a, b) = both.split_at(both.len() / 2);
                let now = eval(&sess, v);
                for (k, x) in now.iter().enumerate() {
                    let expected = before[i][k] - lr * ((a[k] + b[k]) / 2.0);
                    assert!(
                        (x - expected).abs() <= 1e-6 * (1.0 + expected.abs()),
                        "{} [{k}]: {x} after the step, {expected} by hand",
                        v.name()
                    );
                }
                after.push(sess.eval(v, &FeedDict::new()).unwrap());
            }
            same_on_both_ranks(&after);
        }
    }
}

#[test]
fn broadcast_global_variables_starts_every_rank_from_the_roots_values() {
    if !inside_mpirun(
        "broadcast_global_variables_starts_every_rank_from_the_roots_values",
        &[],
    ) {
        return;
    }
    let w = start();
    let g = Graph::new();
    let v = g
        .variable(&constant(&g, [w.rank as f32 + 1.0, -3.0], "init"), "v")
        .unwrap();
    let step = g
        .variable(&constant(&g, 10i64 * w.rank as i64, "s"), "step")
        .unwrap();
    let loss = reduce_sum(&v.square().unwrap(), None, false).unwrap();
    let train = DistributedOptimizer::new(AdamOptimizer::new(0.1))
        .minimize(&loss)
        .unwrap();
    let sync = broadcast_global_variables(&g, 1).unwrap();
    let sess = Session::new(&g);
    sess.run_op(&global_variables_initializer(&g).unwrap(), &FeedDict::new())
        .unwrap();
    sess.run_op(&sync, &FeedDict::new()).unwrap();
    assert_eq!(eval(&sess, &v), vec![2.0, -3.0]);
    let s = sess.eval(&step, &FeedDict::new()).unwrap();
    assert_eq!(s.scalar_value::<i64>().unwrap(), 10);
    for _ in 0..3 {
        sess.run_op(&train, &FeedDict::new()).unwrap();
        same_on_both_ranks(&[sess.eval(&v, &FeedDict::new()).unwrap()]);
    }
}

#[test]
fn shards_of_the_ranks_are_disjoint_and_complete() {
    if !inside_mpirun("shards_of_the_ranks_are_disjoint_and_complete", &[]) {
        return;
    }
    let w = start();
    let n = 101;
    let images = Array2::from_shape_fn((n, 2), |(i, _)| i as f32);
    let labels = Array1::from_shape_fn(n, |i| i as f32).into_dyn();
    let ds = DataSet::new(images, labels, vec![0; n], 9).unwrap();
    let mut shard = ds.shard(w.rank, w.size).unwrap();
    // One epoch of this shard, in batches, gathered from both ranks.
    let (_, mine) = shard.next_batch(shard.num_examples());
    let g = Graph::new();
    let mine = Value::new(&[mine.len()], mine.iter().copied().collect()).unwrap();
    let all = allgather(&constant(&g, mine, "ids")).unwrap();
    let mut ids: Vec<usize> = eval(&Session::new(&g), &all)
        .iter()
        .map(|&x| x as usize)
        .collect();
    ids.sort_unstable();
    assert_eq!(
        ids,
        (0..n).collect::<Vec<_>>(),
        "each example in exactly one shard"
    );
}

#[test]
fn shapes_that_differ_between_ranks_are_reported_not_mixed() {
    if !inside_mpirun(
        "shapes_that_differ_between_ranks_are_reported_not_mixed",
        &[],
    ) {
        return;
    }
    let w = start();
    let g = Graph::new();
    let x = g.placeholder(DType::F32, shape![?]);
    let sum = allreduce(&x, ReduceOp::Sum).unwrap();
    let sess = Session::new(&g);
    let mut f = FeedDict::new();
    f.insert(
        &x,
        Value::new(&[2 + w.rank], vec![1.0f32; 2 + w.rank]).unwrap(),
    );
    let err = sess.eval(&sum, &f).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Unavailable { .. }), "{err}");
    assert!(
        msg.contains("rank 0: Sum float [2]") && msg.contains("rank 1: Sum float [3]"),
        "{msg}"
    );
    // The same collective with agreeing shapes still works afterwards.
    let mut f = FeedDict::new();
    f.insert(&x, Value::new(&[2], vec![1.0f32, 2.0]).unwrap());
    assert_eq!(floats(&sess.eval(&sum, &f).unwrap()), vec![2.0, 4.0]);
    // Gradients fused in a different order on each rank: the buffers' members disagree.
    let g = Graph::new();
    let a = g.variable(&constant(&g, [1.0f32, 2.0], "a0"), "a").unwrap();
    let b = g.variable(&constant(&g, [3.0f32], "b0"), "b").unwrap();
    let loss = reduce_sum(&a.square().unwrap(), None, false)
        .unwrap()
        .add(&reduce_sum(&b.square().unwrap(), None, false).unwrap())
        .unwrap();
    let vars = if w.rank == 0 {
        vec![a.clone(), b.clone()]
    } else {
        vec![b.clone(), a.clone()]
    };
    let opt = DistributedOptimizer::new(GradientDescentOptimizer::new(0.1));
    let train = opt.minimize_with(&loss, None, Some(&vars)).unwrap();
    let sess = Session::new(&g);
    sess.run_op(&global_variables_initializer(&g).unwrap(), &FeedDict::new())
        .unwrap();
    let err = sess
        .run_op(&train, &FeedDict::new())
        .unwrap_err()
        .to_string();
    assert!(err.contains("differs between processes"), "{err}");
    assert_eq!(eval(&sess, &a), vec![1.0, 2.0], "nothing applied");
}

#[test]
fn a_rank_that_never_arrives_is_named_after_the_timeout() {
    if !inside_mpirun(
        "a_rank_that_never_arrives_is_named_after_the_timeout",
        &[("RUSTFLOW_MPI_TIMEOUT", "1")],
    ) {
        return;
    }
    let w = start();
    let g = Graph::new();
    let sum = allreduce(&constant(&g, [1.0f32], "x"), ReduceOp::Sum).unwrap();
    if w.rank == 1 {
        // This process stalls (as a dead one would) until rank 0 has given up.
        std::thread::sleep(std::time::Duration::from_secs(3));
        return;
    }
    let started = std::time::Instant::now();
    let sess = Session::new(&g);
    let err = sess.eval(&sum, &FeedDict::new()).unwrap_err();
    let msg = err.to_string();
    assert!(matches!(err, Error::Unavailable { .. }), "{msg}");
    assert!(msg.contains("rank(s) 1 never reached it"), "{msg}");
    assert!(msg.contains("HorovodAllreduce"), "names the node: {msg}");
    assert!(
        started.elapsed().as_secs_f64() < 2.5,
        "{:?}",
        started.elapsed()
    );
    // The job cannot go on: later collectives fail at once with the same cause.
    let again = sess.eval(&sum, &FeedDict::new()).unwrap_err().to_string();
    assert!(again.contains("rank(s) 1 never reached it"), "{again}");
}
