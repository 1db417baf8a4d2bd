//! The hot kernels at the tutorial's shapes (batch 50) and the VGG model's 3x3 convolution,
//! each run through a session as the training step runs it: `cargo bench --bench kernels`.

use criterion::{criterion_group, criterion_main, Criterion};
use rustflow::nn::{self, Padding};
use rustflow::prelude::*;

fn value(shape: &[usize], seed: u32) -> Value {
    let n: usize = shape.iter().product();
    let data = (0..n).map(|i| {
        ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) >> 8) as f32 / (1u32 << 24) as f32
            - 0.5
    });
    Value::new(shape, data.collect()).expect("shape and data agree")
}

/// Benchmarks `build`'s output on fed placeholders of the given shapes, in a session with
/// the default options.
fn bench(
    c: &mut Criterion,
    name: &str,
    shapes: &[&[usize]],
    build: impl Fn(&[Tensor]) -> Result<Tensor>,
) {
    bench_with(c, name, SessionOptions::default(), shapes, build)
}

/// [`bench`] in a session with `options`.
fn bench_with(
    c: &mut Criterion,
    name: &str,
    options: SessionOptions,
    shapes: &[&[usize]],
    build: impl Fn(&[Tensor]) -> Result<Tensor>,
) {
    let g = Graph::new();
    let xs: Vec<Tensor> = shapes
        .iter()
        .map(|s| g.placeholder(F32, Shape::known(s)))
        .collect();
    let y = build(&xs).expect("build");
    let sess = Session::with_options(&g, options);
    let mut feeds = FeedDict::new();
    for (i, (x, s)) in xs.iter().zip(shapes).enumerate() {
        feeds.insert(x, value(s, i as u32));
    }
    c.bench_function(name, |b| b.iter(|| sess.eval(&y, &feeds).expect("run")));
}

fn kernels(c: &mut Criterion) {
    let same = Padding::Same;
    bench(
        c,
        "conv1 forward 50x28x28x1 * 5x5x1x32",
        &[&[50, 28, 28, 1], &[5, 5, 1, 32]],
        |x| nn::conv2d(&x[0], &x[1], [1; 4], same),
    );
    bench(
        c,
        "conv1 filter grad",
        &[&[50, 28, 28, 1], &[5, 5, 1, 32], &[50, 28, 28, 32]],
        |x| nn::conv2d_backprop_filter(&x[0], &x[1], &x[2], [1; 4], same),
    );
    // The convolutions' forward passes and the second's gradients both ways: direct sums (the
    // default) and Winograd.
    let winograd = SessionOptions {
        kernels: KernelPolicy::Fast,
        ..Default::default()
    };
    bench_with(
        c,
        "conv1 forward 50x28x28x1 * 5x5x1x32 winograd",
        winograd,
        &[&[50, 28, 28, 1], &[5, 5, 1, 32]],
        |x| nn::conv2d(&x[0], &x[1], [1; 4], same),
    );
    for (how, options) in [("", SessionOptions::default()), (" winograd", winograd)] {
        bench_with(
            c,
            &format!("conv2 forward 50x14x14x32 * 5x5x32x64{how}"),
            options,
            &[&[50, 14, 14, 32], &[5, 5, 32, 64]],
            |x| nn::conv2d(&x[0], &x[1], [1; 4], same),
        );
        bench_with(
            c,
            &format!("conv2 filter grad{how}"),
            options,
            &[&[50, 14, 14, 32], &[5, 5, 32, 64], &[50, 14, 14, 64]],
            |x| nn::conv2d_backprop_filter(&x[0], &x[1], &x[2], [1; 4], same),
        );
        bench_with(
            c,
            &format!("conv2 input grad{how}"),
            options,
            &[&[50, 14, 14, 32], &[5, 5, 32, 64], &[50, 14, 14, 64]],
            |x| nn::conv2d_backprop_input(&x[0], &x[1], &x[2], [1; 4], same),
        );
    }
    // The VGG model's second 3x3 convolution (batch 64): im2col + GEMM (the default) and
    // Winograd F(4x4, 3x3).
    for (how, options) in [("", SessionOptions::default()), (" winograd", winograd)] {
        let shapes: [&[usize]; 3] = [&[64, 32, 32, 64], &[3, 3, 64, 64], &[64, 32, 32, 64]];
        bench_with(
            c,
            &format!("vgg conv2 forward 64x32x32x64 * 3x3x64x64{how}"),
            options,
            &shapes[..2],
            |x| nn::conv2d(&x[0], &x[1], [1; 4], same),
        );
        bench_with(
            c,
            &format!("vgg conv2 filter grad{how}"),
            options,
            &shapes,
            |x| nn::conv2d_backprop_filter(&x[0], &x[1], &x[2], [1; 4], same),
        );
        bench_with(
            c,
            &format!("vgg conv2 input grad{how}"),
            options,
            &shapes,
            |x| nn::conv2d_backprop_input(&x[0], &x[1], &x[2], [1; 4], same),
        );
    }
    bench(
        c,
        "fc1 forward 50x3136 * 3136x1024",
        &[&[50, 3136], &[3136, 1024]],
        |x| x[0].matmul(&x[1]),
    );
    bench(
        c,
        "fc1 weight grad 3136x50 * 50x1024",
        &[&[50, 3136], &[50, 1024]],
        |x| rustflow::matmul_t(&x[0], &x[1], true, false),
    );
    bench(
        c,
        "fc1 input grad 50x1024 * 1024x3136",
        &[&[50, 1024], &[3136, 1024]],
        |x| rustflow::matmul_t(&x[0], &x[1], false, true),
    );
    // Evaluation's layers, on a chunk of 250 test images: each convolutional layer runs as
    // one fused step (FusedConv2D), as `deep_mnist` runs them (Winograd for conv2).
    let layer = |x: &[Tensor]| {
        let h = nn::conv2d(&x[0], &x[1], [1; 4], same)?.add(&x[2])?.relu()?;
        nn::max_pool(&h, [1, 2, 2, 1], [1, 2, 2, 1], same)
    };
    for (how, options) in [("", SessionOptions::default()), (" winograd", winograd)] {
        bench_with(
            c,
            &format!("eval layer1 250x28x28x1 conv+bias+relu+pool{how}"),
            options,
            &[&[250, 28, 28, 1], &[5, 5, 1, 32], &[32]],
            layer,
        );
    }
    bench_with(
        c,
        "eval layer2 250x14x14x32 conv+bias+relu+pool winograd",
        winograd,
        &[&[250, 14, 14, 32], &[5, 5, 32, 64], &[64]],
        layer,
    );
    bench(
        c,
        "eval fc1 1000x3136 * 3136x1024",
        &[&[1000, 3136], &[3136, 1024]],
        |x| x[0].matmul(&x[1]),
    );
    bench(c, "max_pool 50x28x28x32 k2 s2", &[&[50, 28, 28, 32]], |x| {
        nn::max_pool(&x[0], [1, 2, 2, 1], [1, 2, 2, 1], same)
    });
    bench(
        c,
        "max_pool grad 50x28x28x32 k2 s2",
        &[&[50, 28, 28, 32], &[50, 14, 14, 32]],
        |x| nn::max_pool_grad(&x[0], &x[1], [1, 2, 2, 1], [1, 2, 2, 1], same),
    );
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = kernels
}
criterion_main!(benches);
