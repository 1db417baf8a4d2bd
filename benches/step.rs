//! The tutorial's CNN: one training step at batch 50 (forward, backward, Adam) and the
//! 10,000-image test-set evaluation, on the real MNIST files (`MNIST_DATA_DIR`, default
//! `../shared/mnist`): `cargo bench --bench step`.

#[path = "../examples/deep_mnist/tutorial.rs"]
#[allow(dead_code)]
mod tutorial;

use criterion::{criterion_group, criterion_main, Criterion};
use rustflow::prelude::*;
use std::path::PathBuf;

fn step(c: &mut Criterion) {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let dir = std::env::var_os("MNIST_DATA_DIR")
        .map_or_else(|| root.join("../shared/mnist"), |d| root.join(d));
    let mut mnist = mnist::read_data_sets(dir, true).expect("MNIST files");
    let net = tutorial::build_cnn(0).expect("the network");
    let sess = Session::with_options(&net.g, tutorial::FAST);
    sess.run_op(
        &net.g.global_variables_initializer().expect("init"),
        &feed! {},
    )
    .expect("init");
    c.bench_function("cnn training step, batch 50", |b| {
        b.iter(|| {
            let (xs, ys) = mnist.train.next_batch(50);
            net.train_step
                .run_in(
                    &sess,
                    &feed! { &net.x => xs, &net.y_ => ys, &net.keep_prob => 0.5f32 },
                )
                .expect("step")
        })
    });
    c.bench_function(
        "cnn test-set evaluation, 10,000 images in chunks of 1,000",
        |b| b.iter(|| tutorial::test_accuracy(&net, &sess, &mnist.test, 1000).expect("eval")),
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10).measurement_time(std::time::Duration::from_secs(10));
    targets = step
}
criterion_main!(benches);
