//! The softmax regression of the README, verbatim: the first half of TensorFlow's
//! "Deep MNIST for Experts" (`MNIST_DATA_DIR=../shared/mnist cargo run --release --example
//! softmax_regression`). Kept identical to the README's sample so that the sample compiles.

use rustflow::prelude::*;
use rustflow::{argmax, cast, equal, nn, reduce_mean};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mnist = mnist::read_data_sets("MNIST_data", true)?;
    let g = Graph::new();
    let x = g.placeholder(F32, shape![?, 784]);
    let y_ = g.placeholder(F32, shape![?, 10]);
    let w = g.variable(&g.zeros(&[784, 10])?, "W")?;
    let b = g.variable(&g.zeros(&[10])?, "b")?;
    let y = nn::softmax(&x.matmul(&w)?.add(&b)?)?;
    let cross_entropy = y_.mul(&y.log()?)?.reduce_sum(None)?.neg()?;
    let train_step = train::GradientDescentOptimizer::new(0.01).minimize(&cross_entropy)?;

    let _sess = InteractiveSession::new(&g);
    g.global_variables_initializer()?.run(&feed! {})?;
    let mut train = mnist.train;
    for _ in 0..1000 {
        let (xs, ys) = train.next_batch(50);
        train_step.run(&feed! { &x => xs, &y_ => ys })?;
    }
    let correct = equal(&argmax(&y, 1)?, &argmax(&y_, 1)?)?;
    let accuracy = reduce_mean(&cast(&correct, F32)?, None, false)?;
    let test = &mnist.test;
    let acc = accuracy.eval(&feed! { &x => test.images(), &y_ => test.labels().clone() })?;
    println!("test accuracy {:.4}", acc.scalar_value::<f32>()?);
    Ok(())
}
