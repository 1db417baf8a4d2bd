//! The cost of one `while_loop` iteration: a loop whose body adds 1 to a scalar, 10,000
//! iterations per run; prints the median over runs in microseconds per iteration.
//!
//! ```text
//! cargo run --release --example while_loop_overhead
//! ```

use rustflow::prelude::*;
use rustflow::{add, constant, less, while_loop, WhileOptions};
use std::time::Instant;

fn main() -> Result<()> {
    const N: i32 = 10_000;
    let g = Graph::new();
    let n = constant(&g, N, "n");
    let one = constant(&g, 1i32, "one");
    let out = while_loop(
        |v| less(&v[0], &n),
        |v| Ok(vec![add(&v[0], &one)?]),
        &[&constant(&g, 0i32, "i")],
        WhileOptions::default(),
    )?;
    let sess = Session::new(&g);
    let mut times: Vec<f64> = (0..11)
        .map(|_| {
            let t = Instant::now();
            let v = sess.eval(&out[0], &feed! {})?;
            assert_eq!(v.scalar_value::<i32>()?, N);
            Ok(t.elapsed().as_secs_f64() * 1e6 / f64::from(N))
        })
        .collect::<Result<_>>()?;
    times.sort_by(f64::total_cmp);
    println!(
        "while_loop: median {:.2} us per iteration (min {:.2}) over {} runs of {N} iterations",
        times[times.len() / 2],
        times[0],
        times.len()
    );
    Ok(())
}
