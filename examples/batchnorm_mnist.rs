//! A batch-normalized network on MNIST, as TensorFlow 1.x's documentation of
//! `tf.compat.v1.layers.batch_normalization` writes it: dense layers, batch normalization
//! with `training` fed through a placeholder, its moving averages updated by running
//! `UPDATE_OPS` with the train step (`control_dependencies`), dropout switched by the same
//! placeholder, Adam, and an exponentially decaying learning rate of the global step.
//!
//!     cargo run --release --example batchnorm_mnist -- --data-dir ../shared/mnist

use rustflow::layers::{self, BatchNormalization, Dense};
use rustflow::prelude::*;
use rustflow::{argmax, cast, equal, nn, reduce_mean, GraphKeys};

fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let arg = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1).cloned())
    };
    let data_dir = arg("--data-dir")
        .or_else(|| std::env::var("MNIST_DATA_DIR").ok())
        .unwrap_or_else(|| "MNIST_data".into());
    let steps: usize = arg("--steps").and_then(|s| s.parse().ok()).unwrap_or(3000);
    let mnist = mnist::read_data_sets(&data_dir, true)?;

    let g = Graph::new();
    g.set_random_seed(1);
    let x = g.placeholder_named(F32, shape![?, 784], "x");
    let y_ = g.placeholder_named(F32, shape![?, 10], "y_");
    let training = g.placeholder_named(Bool, shape![], "training");

    let mut h = x.clone();
    for units in [256, 128] {
        let z = Dense::new(units).use_bias(false).apply(&h)?;
        let z = BatchNormalization::new().apply(&z, &training)?;
        h = layers::dropout(&nn::relu(&z)?, 0.1, &training)?;
    }
    let logits = layers::dense(&h, 10, None)?;
    let loss = reduce_mean(
        &nn::softmax_cross_entropy_with_logits_v2(&y_, &logits)?,
        None,
        false,
    )?;

    let global_step = train::get_or_create_global_step(&g)?;
    let lr = train::exponential_decay(1e-3, &global_step, 1000.0, 0.5, false)?;
    let update_ops: Vec<Operation> = g
        .get_collection(GraphKeys::UPDATE_OPS)
        .iter()
        .map(|i| i.op())
        .collect();
    let train_op = g.control_dependencies(&update_ops.iter().collect::<Vec<_>>(), |_| {
        train::AdamOptimizer::new(&lr).minimize_with(&loss, Some(&global_step), None)
    })??;
    let correct = equal(&argmax(&logits, 1)?, &argmax(&y_, 1)?)?;
    let accuracy = reduce_mean(&cast(&correct, F32)?, None, false)?;

    let sess = Session::new(&g);
    sess.run_op(&g.global_variables_initializer()?, &feed! {})?;
    let mut data = mnist.train;
    for step in 0..steps {
        let (xs, ys) = data.next_batch(100);
        let feeds = feed! { &x => xs, &y_ => ys, &training => true };
        let out = sess.run(&fetches![&train_op, &loss], &feeds)?;
        if step % 500 == 0 {
            println!(
                "step {step}: loss {:.4}",
                out.value(1)?.scalar_value::<f32>()?
            );
        }
    }
    let test = &mnist.test;
    let feeds = feed! { &x => test.images(), &y_ => test.labels().clone(), &training => false };
    let acc = sess.eval(&accuracy, &feeds)?.scalar_value::<f32>()?;
    println!("test accuracy {acc:.4}");
    Ok(())
}
