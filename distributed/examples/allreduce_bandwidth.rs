//! The all-reduce of the Deep MNIST CNN's gradient (3,274,634 floats, 13.1 MB, in the
//! network's 8 tensors), against Open MPI's `MPI_Allreduce` on one plain buffer of the same
//! size.
//!
//! ```text
//! mpirun -np 2 target/release/examples/allreduce_bandwidth --plain   # the floor
//! mpirun -np 2 target/release/examples/allreduce_bandwidth           # rustflow
//! ```
//!
//! rustflow's figure is the median of (training step with `DistributedOptimizer`) minus
//! (the same step without it), over interleaved steps: the gradient is cheap (the loss is
//! the sum of the variables) and plain gradient descent applies it, so the difference is the
//! fused reduction with its packing and hand-off.

use mpi::collective::SystemOperation;
use mpi::traits::*;
use rustflow_graph::{Graph, Operation, Result};
use rustflow_mpi::DistributedOptimizer;
use rustflow_ops::train::{GradientDescentOptimizer, Optimizer};
use rustflow_ops::{add_n, constant, global_variables_initializer, reduce_sum, GraphOps, Variable};
use rustflow_runtime::{FeedDict, Session};
use std::time::Instant;

/// The CNN's variables: conv1, conv2, fc1, fc2 weights and biases.
const SHAPES: [&[usize]; 8] = [
    &[5, 5, 1, 32],
    &[32],
    &[5, 5, 32, 64],
    &[64],
    &[3136, 1024],
    &[1024],
    &[1024, 10],
    &[10],
];
const STEPS: usize = 50;

fn main() -> Result<()> {
    let n: usize = SHAPES.iter().map(|s| s.iter().product::<usize>()).sum();
    let mb = n as f64 * 4.0 / 1e6;
    if std::env::args().any(|a| a == "--plain") {
        let universe = mpi::initialize().expect("MPI");
        let world = universe.world();
        let send = vec![1.0f32; n];
        let mut recv = vec![0.0f32; n];
        let mut times = Vec::new();
        for i in 0..STEPS + 5 {
            world.barrier();
            let t = Instant::now();
            world.all_reduce_into(&send[..], &mut recv[..], SystemOperation::sum());
            if i >= 5 {
                times.push(t.elapsed().as_secs_f64() * 1e3);
            }
        }
        report(world.rank(), "MPI_Allreduce, one buffer", mb, times);
        return Ok(());
    }
    let w = rustflow_mpi::init()?;
    let (local, dist) = (step_graph(false)?, step_graph(true)?);
    let (sl, sd) = (Session::new(&local.0), Session::new(&dist.0));
    let none = FeedDict::new();
    for (g, s) in [(&local.0, &sl), (&dist.0, &sd)] {
        s.run_op(&global_variables_initializer(g)?, &none)?;
    }
    let mut diffs = Vec::new();
    for i in 0..STEPS + 5 {
        let t = Instant::now();
        sl.run_op(&local.1, &none)?;
        let l = t.elapsed().as_secs_f64();
        let t = Instant::now();
        sd.run_op(&dist.1, &none)?;
        let d = t.elapsed().as_secs_f64();
        if i >= 5 {
            diffs.push((d - l) * 1e3);
        }
    }
    report(
        w.rank as i32,
        "rustflow fused (distributed - local step)",
        mb,
        diffs,
    );
    Ok(())
}

/// A graph whose gradient has the CNN's shapes, and its training step.
fn step_graph(distributed: bool) -> Result<(Graph, Operation)> {
    let g = Graph::new();
    let vars: Vec<Variable> = SHAPES
        .iter()
        .map(|s| {
            let n = s.iter().product::<usize>();
            let v = rustflow_graph::Value::new(s, vec![0.5f32; n])?;
            g.variable(&constant(&g, v, ""), "")
        })
        .collect::<Result<_>>()?;
    let sums: Vec<_> = vars
        .iter()
        .map(|v| reduce_sum(v, None, false))
        .collect::<Result<_>>()?;
    let loss = add_n(&sums.iter().collect::<Vec<_>>())?;
    let gd = GradientDescentOptimizer::new(0.0);
    let step = if distributed {
        DistributedOptimizer::new(gd).minimize(&loss)?
    } else {
        gd.minimize(&loss)?
    };
    Ok((g, step))
}

fn report(rank: i32, what: &str, mb: f64, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    let med = ms[ms.len() / 2];
    if rank == 0 {
        println!(
            "{what}: {mb:.1} MB, median {med:.2} ms (p10 {:.2}, p90 {:.2}) over {} runs, {:.2} GB/s",
            ms[ms.len() / 10],
            ms[ms.len() * 9 / 10],
            ms.len(),
            mb / med
        );
    }
}
