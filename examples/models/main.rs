//! The model suite for speed: networks people train, on synthetic data of the right shape,
//! each built as its TensorFlow twin (`scripts/tf_models.py`) builds it. Prints the median
//! training step, the median evaluation of a batch of 1000 and the peak resident memory;
//! `scripts/compare.sh MODEL` runs both programs interleaved.
//!
//! ```text
//! cargo run --release --example models -- --model cifar --bench 100
//! cargo run --release --example models -- --model vgg --bench 50 --profile
//! ```
//!
//! - `mlp`: "TensorFlow Mechanics 101", 784→128→32→10 with relu, batch 100, gradient descent.
//! - `cifar`: the CIFAR-10 tutorial's network on 24x24x3 crops, batch 128: conv 5x5x64, relu,
//!   max pool 3x3/2, LRN, conv 5x5x64, relu, LRN, max pool 3x3/2, dense 2304→384→192→10,
//!   weight decay on the dense layers, gradient descent.
//! - `vgg`: 32x32x3, batch 64: two 3x3 convolutions of 64 channels, 2x2 pool, two of 128,
//!   2x2 pool, dense 8192→256→10, batch normalization after every convolution, momentum.

#[path = "../common/bench.rs"]
mod bench;

use bench::{one_malloc_arena, peak_rss_mb, percentiles, Profile};
use clap::{Parser, ValueEnum};
use rustflow::layers::{BatchNormalization, Conv2D};
use rustflow::nn::{self, Padding};
use rustflow::prelude::*;
use rustflow::{add_n, constant, l2_loss, reduce_mean, reshape, truncated_normal, GraphKeys};
use rustflow::{RunMetadata, RunOptions};
use std::time::Instant;

type Res<T> = std::result::Result<T, Box<dyn std::error::Error>>;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Model {
    Mlp,
    Cifar,
    Vgg,
}

/// One model of the suite, timed.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    #[arg(long, value_enum)]
    model: Model,
    /// Timed training steps (after 10 warm-up steps).
    #[arg(long, default_value_t = 100)]
    bench: usize,
    /// Timed evaluations of a batch of 1000 (after one warm-up).
    #[arg(long, default_value_t = 10)]
    evals: usize,
    /// Print the time per op type over the timed steps and evaluations.
    #[arg(long)]
    profile: bool,
    /// Open the session with `KernelPolicy::Fast` (Winograd where it applies).
    #[arg(long)]
    fast: bool,
}

/// A built model: what to feed, what to run.
struct Net {
    g: Graph,
    x: Tensor,
    labels: Tensor,
    /// The bool `training` placeholder, for models that have one.
    training: Option<Tensor>,
    train_op: Operation,
    loss: Tensor,
    logits: Tensor,
    /// One image's dimensions and the training batch.
    image: Vec<usize>,
    batch: usize,
}

fn weight(g: &Graph, shape: &[usize], stddev: f32) -> Result<Variable> {
    g.variable(&truncated_normal(g, shape, 0.0, stddev, None)?, "weights")
}

fn bias(g: &Graph, n: usize, value: f32) -> Result<Variable> {
    g.variable(&rustflow::fill(g, &[n], value, "Const")?, "biases")
}

fn sparse_loss(labels: &Tensor, logits: &Tensor) -> Result<Tensor> {
    reduce_mean(
        &nn::sparse_softmax_cross_entropy_with_logits(labels, logits)?,
        None,
        false,
    )
}

/// TensorFlow Mechanics 101's `mnist.inference` + `training`.
fn mlp() -> Result<Net> {
    let g = Graph::new();
    g.set_random_seed(1);
    let x = g.placeholder(F32, shape![?, 784]);
    let labels = g.placeholder(I64, shape![?]);
    let mut h = x.clone();
    let mut fan_in = 784;
    for units in [128, 32] {
        let w = weight(&g, &[fan_in, units], 1.0 / (fan_in as f32).sqrt())?;
        h = h.matmul(&w)?.add(&*bias(&g, units, 0.0)?)?.relu()?;
        fan_in = units;
    }
    let w = weight(&g, &[32, 10], 1.0 / 32f32.sqrt())?;
    let logits = h.matmul(&w)?.add(&*bias(&g, 10, 0.0)?)?;
    let loss = sparse_loss(&labels, &logits)?;
    let train_op = train::GradientDescentOptimizer::new(0.01).minimize(&loss)?;
    Ok(Net {
        g,
        x,
        labels,
        training: None,
        train_op,
        loss,
        logits,
        image: vec![784],
        batch: 100,
    })
}

/// The CIFAR-10 tutorial's `cifar10.inference` + `loss` + `train` (without the moving
/// averages), on 24x24 crops.
fn cifar() -> Result<Net> {
    let g = Graph::new();
    g.set_random_seed(1);
    let x = g.placeholder(F32, shape![?, 24, 24, 3]);
    let labels = g.placeholder(I64, shape![?]);
    let conv = |x: &Tensor, w: &Variable, b: &Variable| -> Result<Tensor> {
        nn::bias_add(&nn::conv2d(x, w, [1, 1, 1, 1], Padding::Same)?, b)?.relu()
    };
    let pool = |x: &Tensor| nn::max_pool(x, [1, 3, 3, 1], [1, 2, 2, 1], Padding::Same);
    let norm = |x: &Tensor| nn::local_response_normalization(x, 4, 1.0, 0.001 / 9.0, 0.75);
    let conv1 = conv(&x, &weight(&g, &[5, 5, 3, 64], 5e-2)?, &bias(&g, 64, 0.0)?)?;
    let norm1 = norm(&pool(&conv1)?)?;
    let conv2 = conv(
        &norm1,
        &weight(&g, &[5, 5, 64, 64], 5e-2)?,
        &bias(&g, 64, 0.1)?,
    )?;
    let pool2 = pool(&norm(&conv2)?)?;
    let mut decay = vec![];
    let mut dense = |h: &Tensor, n_in, n_out, stddev, wd: f32| -> Result<Tensor> {
        let w = weight(&g, &[n_in, n_out], stddev)?;
        if wd > 0.0 {
            decay.push(l2_loss(&w)?.mul(&constant(&g, wd, "weight_decay"))?);
        }
        h.matmul(&w)?.add(&*bias(&g, n_out, 0.1)?)
    };
    let flat = reshape(&pool2, &[-1, 2304])?;
    let local3 = dense(&flat, 2304, 384, 0.04, 0.004)?.relu()?;
    let local4 = dense(&local3, 384, 192, 0.04, 0.004)?.relu()?;
    let logits = dense(&local4, 192, 10, 1.0 / 192.0, 0.0)?;
    let mut losses = vec![sparse_loss(&labels, &logits)?];
    losses.extend(decay);
    let loss = add_n(&losses.iter().collect::<Vec<_>>())?;
    let train_op = train::GradientDescentOptimizer::new(0.1).minimize(&loss)?;
    Ok(Net {
        g,
        x,
        labels,
        training: None,
        train_op,
        loss,
        logits,
        image: vec![24, 24, 3],
        batch: 128,
    })
}

/// A small VGG: 3x3 convolutions (no bias) each followed by batch normalization and relu,
/// `training` fed, the moving statistics updated through `UPDATE_OPS`, momentum.
fn vgg() -> Result<Net> {
    let g = Graph::new();
    g.set_random_seed(1);
    let x = g.placeholder(F32, shape![?, 32, 32, 3]);
    let labels = g.placeholder(I64, shape![?]);
    let training = g.placeholder(Bool, shape![]);
    let mut h = x.clone();
    for filters in [64, 128] {
        for _ in 0..2 {
            let z = Conv2D::new(filters, [3, 3])
                .padding(Padding::Same)
                .use_bias(false)
                .apply(&h)?;
            h = BatchNormalization::new().apply(&z, &training)?.relu()?;
        }
        h = nn::max_pool(&h, [1, 2, 2, 1], [1, 2, 2, 1], Padding::Same)?;
    }
    let flat = reshape(&h, &[-1, 8192])?;
    let w1 = weight(&g, &[8192, 256], 0.01)?;
    let fc = flat.matmul(&w1)?.add(&*bias(&g, 256, 0.0)?)?.relu()?;
    let w2 = weight(&g, &[256, 10], 1.0 / 16.0)?;
    let logits = fc.matmul(&w2)?.add(&*bias(&g, 10, 0.0)?)?;
    let loss = sparse_loss(&labels, &logits)?;
    let updates: Vec<Operation> = g
        .get_collection(GraphKeys::UPDATE_OPS)
        .iter()
        .map(|i| i.op())
        .collect();
    let train_op = g.control_dependencies(&updates.iter().collect::<Vec<_>>(), |_| {
        train::MomentumOptimizer::new(0.01, 0.9).minimize(&loss)
    })??;
    Ok(Net {
        g,
        x,
        labels,
        training: Some(training),
        train_op,
        loss,
        logits,
        image: vec![32, 32, 3],
        batch: 64,
    })
}

/// Synthetic data: `n` images of uniform values in [0, 1) and labels in 0..10, from a fixed
/// linear congruential sequence (the speed, not the accuracy, is measured).
fn batch(image: &[usize], n: usize, seed: u64) -> Res<(Value, Value)> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 40) as u32
    };
    let len: usize = n * image.iter().product::<usize>();
    let xs: Vec<f32> = (0..len)
        .map(|_| next() as f32 / (1u32 << 24) as f32)
        .collect();
    let ys: Vec<i64> = (0..n).map(|_| (next() % 10) as i64).collect();
    let mut dims = vec![n];
    dims.extend_from_slice(image);
    Ok((Value::new(&dims, xs)?, Value::new(&[n], ys)?))
}

fn feeds(net: &Net, (xs, ys): (Value, Value), training: bool) -> FeedDict {
    let mut f = feed! { &net.x => xs, &net.labels => ys };
    if let Some(t) = &net.training {
        f = f.with(t, training);
    }
    f
}

fn main() -> Res<()> {
    one_malloc_arena();
    let args = Args::parse();
    let net = match args.model {
        Model::Mlp => mlp()?,
        Model::Cifar => cifar()?,
        Model::Vgg => vgg()?,
    };
    let options = SessionOptions {
        kernels: if args.fast {
            KernelPolicy::Fast
        } else {
            KernelPolicy::default()
        },
        ..SessionOptions::default()
    };
    let sess = Session::with_options(&net.g, options);
    sess.run_op(&net.g.global_variables_initializer()?, &feed! {})?;
    let opts = RunOptions {
        trace: args.profile,
        ..RunOptions::default()
    };
    let data: Vec<_> = (0..8)
        .map(|i| batch(&net.image, net.batch, i))
        .collect::<Res<_>>()?;
    let step = |i: usize, profile: &mut Profile| -> Res<f64> {
        let f = feeds(&net, data[i % data.len()].clone(), true);
        let t = Instant::now();
        let (_, meta): (_, RunMetadata) =
            sess.run_with(&fetches![&net.train_op, &net.loss], &f, &opts)?;
        let ms = t.elapsed().as_secs_f64() * 1e3;
        profile.add(&meta);
        Ok(ms)
    };
    let mut warm = Profile::default();
    for i in 0..10 {
        step(i, &mut warm)?;
    }
    let mut profile = Profile::default();
    let mut times = (0..args.bench)
        .map(|i| step(i, &mut profile))
        .collect::<Res<Vec<_>>>()?;
    println!(
        "train step: {} over {} steps, batch {}",
        percentiles(&mut times),
        args.bench,
        net.batch
    );
    if args.profile {
        profile.print("ms/step", args.bench);
    }

    let eval = feeds(&net, batch(&net.image, 1000, 99)?, false);
    let mut eval_profile = Profile::default();
    let mut evals = vec![];
    for i in 0..=args.evals {
        let t = Instant::now();
        let (_, meta) = sess.run_with(&fetches![&net.logits], &eval, &opts)?;
        if i > 0 {
            evals.push(t.elapsed().as_secs_f64() * 1e3);
            eval_profile.add(&meta);
        }
    }
    println!(
        "eval 1000: {} over {} runs",
        percentiles(&mut evals),
        args.evals
    );
    if args.profile {
        eval_profile.print("ms/eval", args.evals);
    }
    println!("peak RSS {} MB", peak_rss_mb());
    Ok(())
}
