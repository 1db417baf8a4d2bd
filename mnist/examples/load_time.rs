//! Loads the four MNIST files and prints the wall time.
//!
//! ```text
//! cargo run --release -p rustflow-mnist --example load_time [-- DIR]
//! ```
//!
//! The directory is the first argument, else `$MNIST_DATA_DIR`, else
//! `../shared/mnist` relative to the workspace root.

use std::path::PathBuf;
use std::time::Instant;

use rustflow_mnist::{read_data_sets_with, ReadOptions};

fn main() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let dir = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("MNIST_DATA_DIR").map(PathBuf::from))
        .map(|d| if d.is_relative() { root.join(d) } else { d })
        .unwrap_or_else(|| root.join("../shared/mnist"));
    let options = ReadOptions {
        download: false,
        ..ReadOptions::default()
    };
    let start = Instant::now();
    let data = match read_data_sets_with(&dir, &options) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(1);
        }
    };
    let elapsed = start.elapsed();
    println!(
        "loaded {} train, {} validation, {} test examples from {} in {:.3} s",
        data.train.num_examples(),
        data.validation.num_examples(),
        data.test.num_examples(),
        dir.display(),
        elapsed.as_secs_f64()
    );
}
