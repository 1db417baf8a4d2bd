//! TensorFlow's "TensorFlow Mechanics 101" (`fully_connected_feed.py` with `mnist.py`), as a
//! TF1 user writes it: two hidden layers (128 and 32 units) built in name scopes, sparse
//! softmax cross-entropy, gradient descent at 0.01 counting a global step, feed dicts of 100
//! images, and every 1000 steps a checkpoint and the precision of the training, validation
//! and test sets (correct predictions counted with `in_top_k`, k = 1). The loss goes to
//! TensorBoard's event file in `--log-dir` every 100 steps, with the graph.
//!
//!     cargo run --release --example fully_connected_feed -- --data-dir ../shared/mnist
//!
//! TensorFlow's own program on the same data: `scripts/tf_fully_connected_feed.py`.

use rustflow::prelude::*;
use rustflow::{cast, nn, reduce_mean, reduce_sum, summary, truncated_normal};
use std::path::PathBuf;

const NUM_CLASSES: usize = 10;
const IMAGE_PIXELS: usize = 28 * 28;

struct Flags {
    learning_rate: f32,
    max_steps: usize,
    hidden1: usize,
    hidden2: usize,
    batch_size: usize,
    data_dir: PathBuf,
    log_dir: PathBuf,
}

fn flags() -> Flags {
    let mut f = Flags {
        learning_rate: 0.01,
        max_steps: 2000,
        hidden1: 128,
        hidden2: 32,
        batch_size: 100,
        data_dir: std::env::var("MNIST_DATA_DIR")
            .unwrap_or_else(|_| "MNIST_data".into())
            .into(),
        log_dir: std::env::temp_dir().join("fully_connected_feed"),
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let v = pair.get(1).map(String::as_str).unwrap_or_default();
        match pair[0].as_str() {
            "--learning-rate" => f.learning_rate = v.parse().unwrap_or(f.learning_rate),
            "--max-steps" => f.max_steps = v.parse().unwrap_or(f.max_steps),
            "--hidden1" => f.hidden1 = v.parse().unwrap_or(f.hidden1),
            "--hidden2" => f.hidden2 = v.parse().unwrap_or(f.hidden2),
            "--batch-size" => f.batch_size = v.parse().unwrap_or(f.batch_size),
            "--data-dir" => f.data_dir = v.into(),
            "--log-dir" | "--logdir" => f.log_dir = v.into(),
            other => eprintln!("ignoring unknown flag {other}"),
        }
    }
    f
}

/// One fully-connected layer in its name scope: `weights` (truncated normal, stddev
/// 1/sqrt(inputs)) and `biases` (zeros), as `mnist.inference` builds them.
fn layer(x: &Tensor, name: &str, inputs: usize, units: usize) -> Result<Tensor> {
    let g = x.graph().clone();
    g.name_scope(name, |g| {
        let init = truncated_normal(g, &[inputs, units], 0.0, 1.0 / (inputs as f32).sqrt(), None)?;
        let weights = g.variable(&init, "weights")?;
        let biases = g.variable(&g.zeros(&[units])?, "biases")?;
        x.matmul(&weights)?.add(&biases)
    })
}

/// `mnist.inference`: the logits.
fn inference(images: &Tensor, hidden1: usize, hidden2: usize) -> Result<Tensor> {
    let h1 = nn::relu(&layer(images, "hidden1", IMAGE_PIXELS, hidden1)?)?;
    let h2 = nn::relu(&layer(&h1, "hidden2", hidden1, hidden2)?)?;
    layer(&h2, "softmax_linear", hidden2, NUM_CLASSES)
}

/// `mnist.evaluation`: how many of the batch's labels are the top prediction.
fn evaluation(logits: &Tensor, labels: &Tensor) -> Result<Tensor> {
    let correct = nn::in_top_k(logits, labels, 1)?;
    reduce_sum(&cast(&correct, I32)?, None, false)
}

/// The feed of the next batch: images and their class ids.
fn fill_feed_dict(
    data: &mut mnist::DataSet,
    images: &Tensor,
    labels: &Tensor,
    batch: usize,
) -> Result<FeedDict> {
    let (xs, ys) = data.next_batch(batch);
    let ids = Value::new(&[batch], ys.iter().map(|&y| y as i32).collect())?;
    Ok(feed! { images => xs, labels => ids })
}

/// `do_eval`: runs one epoch of the data set and prints its precision.
fn do_eval(
    sess: &Session,
    eval_correct: &Tensor,
    images: &Tensor,
    labels: &Tensor,
    data: &mut mnist::DataSet,
    batch: usize,
) -> Result<f64> {
    let steps = data.num_examples() / batch;
    let num_examples = steps * batch;
    let mut true_count = 0i64;
    for _ in 0..steps {
        let feeds = fill_feed_dict(data, images, labels, batch)?;
        true_count += sess.eval(eval_correct, &feeds)?.scalar_value::<i32>()? as i64;
    }
    let precision = true_count as f64 / num_examples as f64;
    println!(
        "  Num examples: {num_examples}  Num correct: {true_count}  Precision @ 1: {precision:.4}"
    );
    Ok(precision)
}

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let f = flags();
    let mut data = mnist::read_data_sets(&f.data_dir, false)?;
    std::fs::create_dir_all(&f.log_dir)?;

    let g = Graph::new();
    let images = g.placeholder_named(F32, vec![f.batch_size, IMAGE_PIXELS], "images");
    let labels = g.placeholder_named(I32, vec![f.batch_size], "labels");
    let logits = inference(&images, f.hidden1, f.hidden2)?;
    let loss = reduce_mean(
        &nn::sparse_softmax_cross_entropy_with_logits(&labels, &logits)?,
        None,
        false,
    )?;
    let global_step = train::get_or_create_global_step(&g)?;
    let train_op = train::GradientDescentOptimizer::new(f.learning_rate).minimize_with(
        &loss,
        Some(&global_step),
        None,
    )?;
    let eval_correct = evaluation(&logits, &labels)?;
    summary::scalar("loss", &loss)?;
    let summaries = summary::merge_all(&g)?.ok_or("no summaries")?;
    let saver = train::Saver::new(&g);

    let sess = Session::new(&g);
    sess.run_op(&g.global_variables_initializer()?, &feed! {})?;
    let writer = summary::FileWriter::new(&f.log_dir, Some(&g))?;
    let start = std::time::Instant::now();
    let mut last = [0.0; 3];
    for step in 0..f.max_steps {
        let feeds = fill_feed_dict(&mut data.train, &images, &labels, f.batch_size)?;
        let out = sess.run(&fetches![&train_op, &loss], &feeds)?;
        let loss_value = out.value(1)?.scalar_value::<f32>()?;
        if step % 100 == 0 {
            println!(
                "Step {step}: loss = {loss_value:.2} ({:.3} sec)",
                start.elapsed().as_secs_f64()
            );
            // The step's loss, fed: the summary op does not run the network again.
            let loss_fed = feed! { &loss => out.value(1)?.clone() };
            writer.add_summary(&sess.eval(&summaries, &loss_fed)?, step as i64)?;
        }
        if (step + 1) % 1000 == 0 || step + 1 == f.max_steps {
            let path = saver.save(&sess, f.log_dir.join("model.ckpt"), Some(step as u64))?;
            println!("Saved {}", path.display());
            let sets = [
                ("Training", &mut data.train),
                ("Validation", &mut data.validation),
                ("Test", &mut data.test),
            ];
            for (k, (name, set)) in sets.into_iter().enumerate() {
                println!("{name} Data Eval:");
                last[k] = do_eval(&sess, &eval_correct, &images, &labels, set, f.batch_size)?;
            }
        }
    }
    writer.close()?;
    println!(
        "final precision: train {:.4}  validation {:.4}  test {:.4}",
        last[0], last[1], last[2]
    );
    Ok(())
}
