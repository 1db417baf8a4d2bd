//! TensorFlow's "Deep MNIST for Experts", node for node: the softmax regression, then the
//! convolutional network.
//!
//! ```text
//! MNIST_DATA_DIR=../shared/mnist cargo run --release --example deep_mnist            # both halves
//! cargo run --release --example deep_mnist -- --model softmax --data-dir ../shared/mnist
//! cargo run --release --example deep_mnist -- --model cnn --bench 200                # ms per step
//! cargo run --release --example deep_mnist -- --model cnn --checkpoint-dir ckpt      # resumable
//! cargo run --release --example deep_mnist -- --model cnn --logdir logs/run1         # TensorBoard
//! ```

#[path = "../common/bench.rs"]
mod bench;
mod board;
mod tutorial;

use clap::{Parser, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use rustflow::prelude::*;
use rustflow::train::{latest_checkpoint, Saver};
use rustflow::RunOptions;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Instant;

use bench::{one_malloc_arena, peak_rss_mb, percentiles, Profile};
use board::Board;
use tutorial::{build_cnn, softmax_regression, test_accuracy, test_accuracy_with, Cnn, Res, FAST};

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Model {
    Softmax,
    Cnn,
    Both,
}

/// The Deep MNIST tutorial, in rustflow.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Which half of the tutorial to run.
    #[arg(long, value_enum, default_value = "both")]
    model: Model,
    /// Training steps (default: 1000 for softmax, 20000 for the CNN; with `--model both` it
    /// sets the CNN's).
    #[arg(long)]
    steps: Option<usize>,
    /// Examples per training step.
    #[arg(long, default_value_t = 50)]
    batch: usize,
    /// Seeds the data shuffling and the graph's random ops. The default, 6, is the median run
    /// of seeds 0-11 for the softmax half (test accuracy 0.9014-0.9176, median 0.9115).
    #[arg(long, default_value_t = 6)]
    seed: u64,
    /// Where the four MNIST files are (default: $MNIST_DATA_DIR, else MNIST_data).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Print the training accuracy every this many steps.
    #[arg(long, default_value_t = 100)]
    log_every: usize,
    /// Save a checkpoint here every `--save-every` steps and at the end; resume from the
    /// latest one found here.
    #[arg(long)]
    checkpoint_dir: Option<PathBuf>,
    /// Steps between checkpoints.
    #[arg(long, default_value_t = 1000)]
    save_every: usize,
    /// Only evaluate the latest checkpoint of `--checkpoint-dir` on the test set.
    #[arg(long)]
    eval_only: bool,
    /// Time this many CNN training steps after a warm-up and print the median, then stop.
    #[arg(long)]
    bench: Option<usize>,
    /// With `--bench`: print the time per op type over the timed steps and the test-set
    /// evaluation.
    #[arg(long)]
    profile: bool,
    /// With `--bench`: write a Chrome trace (Perfetto, chrome://tracing) of one step here.
    #[arg(long)]
    trace: Option<PathBuf>,
    /// Compute every convolution by direct sums, with TensorFlow's rounding, instead of
    /// Winograd's F(4x4, 5x5) for the second one and the first one's forward pass, and
    /// F(6x6, 5x5) for the second one's in evaluation (slower; see `KernelPolicy::Fast`).
    #[arg(long)]
    exact_conv: bool,
    /// Test images per evaluation run, as TensorFlow's harness does: memory grows with it
    /// (1000 is the fastest measured, 3% ahead of 500 over three interleaved runs; a whole
    /// training run then peaks at about 190 MB).
    #[arg(long, default_value_t = 1000)]
    eval_chunk: usize,
    /// Train the CNN data-parallel over MPI (`mpirun -np N ...`; needs `--features
    /// distributed`): each process trains on its shard at `--batch`, gradients averaged
    /// across processes, Adam's learning rate scaled by N; rank 0 logs, saves and evaluates.
    #[arg(long)]
    distributed: bool,
    /// Write TensorBoard's event file here: the graph, cross-entropy and accuracy every
    /// `--log-every` steps, histograms of the variables every 1000, input images, one trace.
    #[arg(long)]
    logdir: Option<PathBuf>,
}

fn main() -> Res<()> {
    one_malloc_arena();
    quiet_broken_pipe();
    let args = Args::parse();
    let dir = args
        .data_dir
        .clone()
        .or_else(|| std::env::var_os("MNIST_DATA_DIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("MNIST_data"));
    let options = mnist::ReadOptions {
        seed: args.seed,
        ..mnist::ReadOptions::default()
    };
    let mut data = mnist::read_data_sets_with(&dir, &options)?;
    if args.model != Model::Cnn && args.bench.is_none() && !args.eval_only {
        let steps = match args.model {
            Model::Softmax => args.steps.unwrap_or(1000),
            _ => 1000,
        };
        let t0 = Instant::now();
        let acc = softmax_regression(&mut data, steps, args.batch)?;
        eprintln!(
            "softmax regression: {steps} steps and the test set in {:.2} s",
            t0.elapsed().as_secs_f64()
        );
        if args.model == Model::Softmax {
            println!("test accuracy {acc:.4}");
            return Ok(());
        }
        println!("softmax test accuracy {acc:.4}");
    }
    let t0 = Instant::now();
    let acc = convolutional(&mut data, &args)?;
    if let Some(acc) = acc {
        eprintln!(
            "convolutional network: {:.1} s, peak RSS {} MB",
            t0.elapsed().as_secs_f64(),
            peak_rss_mb()
        );
        println!("test accuracy {acc:.4}");
    }
    Ok(())
}

/// The second half: the convolutional network trained by Adam. `None` when only benchmarking.
fn convolutional(mnist: &mut mnist::Datasets, args: &Args) -> Res<Option<f32>> {
    let (net, lead) = distributed::build_cnn(args.distributed, args.seed, mnist)?;
    let board = args
        .logdir
        .as_ref()
        .filter(|_| lead)
        .map(|d| Board::new(d, &net))
        .transpose()?;
    let Cnn {
        g,
        x,
        y_,
        keep_prob,
        train_step,
        accuracy,
        ..
    } = &net;
    let options = if args.exact_conv {
        SessionOptions::default()
    } else {
        FAST
    };
    let sess = InteractiveSession::with_options(g, options);
    g.global_variables_initializer()?.run(&feed! {})?;
    distributed::sync(g, args.distributed)?;
    let saver = Saver::new(g).max_to_keep(3);
    let mut start = 0;
    if let Some(dir) = &args.checkpoint_dir {
        if let Some(path) = latest_checkpoint(dir)? {
            saver.restore(&sess, &path)?;
            start = step_of(&path);
            eprintln!("restored {} (step {start})", path.display());
        } else if args.eval_only {
            return Err(format!("--eval-only: no checkpoint in {}", dir.display()).into());
        }
    }
    if let Some(n) = args.bench {
        bench(&net, &sess, mnist, args, n)?;
        return Ok(None);
    }
    let steps = if args.eval_only {
        start
    } else {
        args.steps.unwrap_or(20000)
    };
    let bar = progress(steps as u64, start as u64);
    for i in start..steps {
        let (xs, ys) = mnist.train.next_batch(args.batch);
        if lead && args.log_every > 0 && i % args.log_every == 0 {
            let feeds = feed! { x => xs.clone(), y_ => ys.clone(), keep_prob => 1.0f32 };
            let train_accuracy = match &board {
                Some(b) => b.log(&sess, &net, &feeds, i)?,
                None => accuracy.eval(&feeds)?.scalar_value::<f32>()?,
            };
            log(
                &bar,
                format!("step {i}, training accuracy {train_accuracy:.4}"),
            );
        }
        let feeds = feed! { x => xs, y_ => ys, keep_prob => 0.5f32 };
        match board.as_ref().filter(|_| i == start + 1) {
            Some(b) => b.traced_step(&sess, &net, &feeds, i)?,
            None => train_step.run(&feeds)?,
        }
        bar.inc(1);
        if let Some(dir) = args.checkpoint_dir.as_ref().filter(|_| lead) {
            if (i + 1) % args.save_every == 0 || i + 1 == steps {
                saver.save(&sess, dir.join("model"), Some(i as u64 + 1))?;
            }
        }
    }
    bar.finish_and_clear();
    if let Some(b) = board {
        b.close()?;
    }
    if !lead {
        return Ok(None);
    }
    Ok(Some(test_accuracy(
        &net,
        &sess,
        &mnist.test,
        args.eval_chunk,
    )?))
}

/// `--bench N`: N timed training steps after 20 warm-up steps, then the test-set evaluation.
fn bench(net: &Cnn, sess: &Session, mnist: &mut mnist::Datasets, args: &Args, n: usize) -> Res<()> {
    let trace_opts = RunOptions {
        trace: true,
        ..RunOptions::default()
    };
    let step =
        |mnist: &mut mnist::Datasets, opts: &RunOptions| -> Res<(f64, rustflow::RunMetadata)> {
            let (xs, ys) = mnist.train.next_batch(args.batch);
            let feeds = feed! { &net.x => xs, &net.y_ => ys, &net.keep_prob => 0.5f32 };
            let t = Instant::now();
            let (_, meta) =
                sess.run_with(&fetches![&net.train_step, &net.cross_entropy], &feeds, opts)?;
            Ok((t.elapsed().as_secs_f64() * 1e3, meta))
        };
    for _ in 0..20 {
        step(mnist, &RunOptions::default())?;
    }
    let mut times = Vec::with_capacity(n);
    let mut profile = Profile::default();
    for _ in 0..n {
        let opts = if args.profile {
            &trace_opts
        } else {
            &RunOptions::default()
        };
        let (ms, meta) = step(mnist, opts)?;
        times.push(ms);
        profile.add(&meta);
    }
    println!(
        "train step: {} over {n} steps, batch {}",
        percentiles(&mut times),
        args.batch
    );
    if args.profile {
        profile.print("ms/step", n);
    }
    if let Some(path) = &args.trace {
        let (_, meta) = step(mnist, &trace_opts)?;
        std::fs::write(path, meta.to_chrome_trace())?;
        println!("trace of one step written to {}", path.display());
    }
    let t = Instant::now();
    let acc = test_accuracy(net, sess, &mnist.test, args.eval_chunk)?;
    println!(
        "test eval: {:.3} s for {} images (accuracy {acc:.4})",
        t.elapsed().as_secs_f64(),
        mnist.test.num_examples()
    );
    if args.profile {
        let mut profile = Profile::default();
        test_accuracy_with(net, sess, &mnist.test, args.eval_chunk, &trace_opts, |m| {
            profile.add(m)
        })?;
        profile.print("ms/eval", 1);
    }
    println!("peak RSS {} MB", peak_rss_mb());
    Ok(())
}

/// Ends the program quietly when its output's reader goes away (`deep_mnist ... | head -1`),
/// as command-line tools do, instead of panicking in `println!`.
fn quiet_broken_pipe() {
    #[cfg(unix)]
    // SAFETY: restores the default action of one signal, before any thread exists.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// The step number in a checkpoint's name (`model-1200.safetensors`).
fn step_of(path: &std::path::Path) -> usize {
    path.file_stem()
        .and_then(|s| s.to_str())
        .and_then(|s| s.rsplit('-').next())
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// A progress bar with steps/s and ETA on a terminal; hidden (plain log lines) otherwise.
fn progress(len: u64, pos: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len).with_position(pos);
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} steps, {per_sec}, ETA {eta}")
    {
        bar.set_style(style);
    }
    bar
}

fn log(bar: &ProgressBar, line: String) {
    if bar.is_hidden() {
        println!("{line}");
    } else {
        bar.println(line);
    }
}

/// `--distributed`: the MPI side of the CNN, with the `distributed` feature.
#[cfg(feature = "distributed")]
mod distributed {
    use crate::tutorial::{build_cnn_with, Cnn, Res};
    use rustflow::prelude::*;
    use rustflow_mpi::{broadcast_global_variables, DistributedOptimizer};

    /// The CNN, and whether this process leads (logs, saves, evaluates). Distributed: starts
    /// MPI, keeps this process's shard of the training set, and trains by Adam at 1e-4 x
    /// processes on gradients averaged across processes; each process's dropout has its own
    /// seed.
    pub fn build_cnn(on: bool, seed: u64, mnist: &mut mnist::Datasets) -> Res<(Cnn, bool)> {
        if !on {
            return Ok((crate::build_cnn(seed)?, true));
        }
        let w = rustflow_mpi::init()?;
        mnist.train = mnist.train.shard(w.rank, w.size)?;
        if w.rank == 0 {
            eprintln!(
                "{} processes, {} training images each",
                w.size,
                mnist.train.num_examples()
            );
        }
        let adam = train::AdamOptimizer::new(1e-4 * w.size as f32);
        let net = build_cnn_with(seed + w.rank as u64, |loss| {
            DistributedOptimizer::new(adam).minimize(loss)
        })?;
        Ok((net, w.rank == 0))
    }

    /// Distributed: every process starts from rank 0's variables.
    pub fn sync(g: &Graph, on: bool) -> Res<()> {
        if on {
            broadcast_global_variables(g, 0)?.run(&feed! {})?;
        }
        Ok(())
    }
}

/// Without the `distributed` feature, `--distributed` says how to get it.
#[cfg(not(feature = "distributed"))]
mod distributed {
    use crate::tutorial::{Cnn, Res};
    use rustflow::Graph;

    pub fn build_cnn(on: bool, seed: u64, _: &mut rustflow::mnist::Datasets) -> Res<(Cnn, bool)> {
        if on {
            return Err("--distributed needs MPI: build with `--features distributed`".into());
        }
        Ok((crate::build_cnn(seed)?, true))
    }

    pub fn sync(_: &Graph, _: bool) -> Res<()> {
        Ok(())
    }
}
