//! Resident memory over many training steps: it must stay flat (no leak per run).
//!
//! ```text
//! cargo run --release --example memory_over_runs -- --data-dir ../shared/mnist --steps 10000
//! ```

#[path = "deep_mnist/tutorial.rs"]
#[allow(dead_code)]
mod tutorial;

use clap::Parser;
use rustflow::prelude::*;
use std::path::PathBuf;

/// Trains the tutorial's CNN and prints the resident memory every `--every` steps.
#[derive(Parser, Debug)]
struct Args {
    /// Where the four MNIST files are (default: $MNIST_DATA_DIR, else MNIST_data).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Training steps.
    #[arg(long, default_value_t = 10000)]
    steps: usize,
    /// Print the resident memory every this many steps.
    #[arg(long, default_value_t = 1000)]
    every: usize,
}

/// The current and peak resident memory in MB, from /proc.
fn rss_mb() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| {
                l.split_whitespace()
                    .nth(1)
                    .and_then(|kb| kb.parse::<u64>().ok())
            })
            .map_or(0, |kb| kb / 1024)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn main() -> tutorial::Res<()> {
    let args = Args::parse();
    let dir = args
        .data_dir
        .or_else(|| std::env::var_os("MNIST_DATA_DIR").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from("MNIST_data"));
    let mut mnist = mnist::read_data_sets(dir, true)?;
    let net = tutorial::build_cnn(0)?;
    let sess = Session::with_options(&net.g, tutorial::FAST);
    sess.run_op(&net.g.global_variables_initializer()?, &feed! {})?;
    for i in 1..=args.steps {
        let (xs, ys) = mnist.train.next_batch(50);
        sess.run_op(
            &net.train_step,
            &feed! { &net.x => xs, &net.y_ => ys, &net.keep_prob => 0.5f32 },
        )?;
        if i % args.every.max(1) == 0 {
            let (rss, peak) = rss_mb();
            println!("step {i}: RSS {rss} MB, peak {peak} MB");
        }
    }
    Ok(())
}
