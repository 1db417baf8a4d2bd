//! TensorFlow 1.x's recurrent MNIST: each image read as 28 time steps of 28 pixels, one LSTM
//! layer of 128 units, a dense layer to 10 classes, Adam at 0.001, batches of 128.
//!
//! ```text
//! cargo run --release --example mnist_rnn -- --data-dir ../shared/mnist              # static_rnn
//! cargo run --release --example mnist_rnn -- --data-dir ../shared/mnist --dynamic    # dynamic_rnn
//! cargo run --release --example mnist_rnn -- --data-dir ../shared/mnist --bench 100  # ms per step
//! cargo run --release --example mnist_rnn -- --data-dir ../shared/mnist --bench 50 --profile
//! ```

#[path = "common/bench.rs"]
#[allow(dead_code)]
mod bench;

use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};
use rustflow::nn::{dynamic_rnn, static_rnn, BasicLSTMCell, RnnOptions};
use rustflow::prelude::*;
use std::io::IsTerminal;
use std::time::Instant;

type Res<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// Recurrent MNIST (LSTM 128) in rustflow.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Training steps.
    #[arg(long, default_value_t = 3000)]
    steps: usize,
    /// Examples per training step.
    #[arg(long, default_value_t = 128)]
    batch: usize,
    /// The MNIST files' folder (default: $MNIST_DATA_DIR, else MNIST_data).
    #[arg(long)]
    data_dir: Option<String>,
    /// Run the LSTM with dynamic_rnn (a while_loop) instead of static_rnn (unrolled).
    #[arg(long)]
    dynamic: bool,
    /// Time this many training steps after 10 warm-up steps, print the median, then stop.
    #[arg(long)]
    bench: Option<usize>,
    /// With --bench: also print the node time per op type (a traced run; a loop body's
    /// nodes count in their `While` node).
    #[arg(long)]
    profile: bool,
    /// Seeds the data shuffling and the graph's random ops.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Write the graph and the training loss every 100 steps to an event file here
    /// (TensorBoard).
    #[arg(long)]
    logdir: Option<String>,
}

struct Net {
    x: Tensor,
    y_: Tensor,
    train_step: Operation,
    loss: Tensor,
    accuracy: Tensor,
}

fn build(dynamic: bool, seed: u64) -> Res<(Graph, Net)> {
    let g = Graph::new();
    g.set_random_seed(seed);
    let x = g.placeholder(F32, shape![?, 784]);
    let y_ = g.placeholder(F32, shape![?, 10]);
    let images = rustflow::reshape(&x, &[-1, 28, 28])?;
    let cell = BasicLSTMCell::new(128, 1.0);
    let h = if dynamic {
        dynamic_rnn(&cell, &images, RnnOptions::default())?.1[1].clone()
    } else {
        let steps = rustflow::unstack(&images, 1, Some(28))?;
        static_rnn(&cell, &steps, RnnOptions::default())?.1[1].clone()
    };
    let w = g.variable(
        &rustflow::random_normal(&g, &[128, 10], 0.0, 0.1, None)?,
        "W",
    )?;
    let b = g.variable(&g.zeros(&[10])?, "b")?;
    let logits = h.matmul(&w)?.add(&b)?;
    let loss = rustflow::reduce_mean(
        &rustflow::nn::softmax_cross_entropy_with_logits_v2(&y_, &logits)?,
        None,
        false,
    )?;
    let train_step = train::AdamOptimizer::new(0.001).minimize(&loss)?;
    let correct = rustflow::equal(&rustflow::argmax(&logits, 1)?, &rustflow::argmax(&y_, 1)?)?;
    let accuracy = rustflow::reduce_mean(&rustflow::cast(&correct, F32)?, None, false)?;
    Ok((
        g,
        Net {
            x,
            y_,
            train_step,
            loss,
            accuracy,
        },
    ))
}

fn main() -> Res<()> {
    let args = Args::parse();
    let dir = args
        .data_dir
        .clone()
        .or_else(|| std::env::var("MNIST_DATA_DIR").ok())
        .unwrap_or_else(|| "MNIST_data".into());
    let mut mnist = mnist::read_data_sets_with(
        &dir,
        &mnist::ReadOptions {
            seed: args.seed,
            ..mnist::ReadOptions::default()
        },
    )?;
    let (g, net) = build(args.dynamic, args.seed)?;
    let loss_summary = rustflow::summary::scalar("loss", &net.loss)?;
    let writer = args
        .logdir
        .as_ref()
        .map(|d| rustflow::summary::FileWriter::new(d, Some(&g)))
        .transpose()?;
    let sess = Session::new(&g);
    sess.run_op(&g.global_variables_initializer()?, &feed! {})?;
    let mut profile = bench::Profile::default();
    let mut traced_step = |mnist: &mut mnist::Datasets, trace: bool| -> Res<f32> {
        let (xs, ys) = mnist.train.next_batch(args.batch);
        let options = rustflow::RunOptions {
            trace,
            ..rustflow::RunOptions::default()
        };
        let (out, meta) = sess.run_with(
            &fetches![&net.train_step, &net.loss],
            &feed! { &net.x => xs, &net.y_ => ys },
            &options,
        )?;
        profile.add(&meta);
        Ok(out.value(1)?.scalar_value::<f32>()?)
    };
    let form = if args.dynamic {
        "dynamic_rnn"
    } else {
        "static_rnn"
    };
    if let Some(n) = args.bench {
        for _ in 0..10 {
            traced_step(&mut mnist, false)?;
        }
        let mut times: Vec<f64> = (0..n)
            .map(|_| {
                let t = Instant::now();
                traced_step(&mut mnist, args.profile).map(|_| t.elapsed().as_secs_f64() * 1e3)
            })
            .collect::<Res<_>>()?;
        println!(
            "train step: {} over {n} steps, batch {} ({form})",
            bench::percentiles(&mut times),
            args.batch
        );
        if args.profile {
            profile.print("ms/step", n);
        }
        return Ok(());
    }
    let bar = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(args.steps as u64);
        if let Ok(style) =
            ProgressStyle::with_template("{bar:40} {pos}/{len} steps, {per_sec}, ETA {eta} {msg}")
        {
            bar.set_style(style);
        }
        bar
    } else {
        ProgressBar::hidden()
    };
    let t = Instant::now();
    for i in 0..args.steps {
        let loss = traced_step(&mut mnist, false)?;
        if i % 100 == 0 {
            bar.set_message(format!("loss {loss:.4}"));
            if let Some(w) = &writer {
                let fed = feed! { &net.loss => loss };
                w.add_summary(&sess.eval(&loss_summary, &fed)?, i as i64)?;
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    if let Some(w) = writer {
        w.close()?;
    }
    let train_s = t.elapsed().as_secs_f64();
    let test = &mnist.test;
    let acc = sess
        .eval(
            &net.accuracy,
            &feed! { &net.x => test.images(), &net.y_ => test.labels().clone() },
        )?
        .scalar_value::<f32>()?;
    println!("{form}: {} steps in {train_s:.1} s", args.steps);
    println!("test accuracy {acc:.4}");
    Ok(())
}
