//! The tutorial's two networks, node for node as TensorFlow's "Deep MNIST for Experts" builds
//! them. Shared by the example and the training tests.

use rustflow::nn::{self, Padding};
use rustflow::prelude::*;
use rustflow::{argmax, cast, equal, reduce_mean, reshape, truncated_normal};
use rustflow::{RunMetadata, RunOptions};

/// The session options of the tutorial's programs: Winograd's F(4x4, 5x5) for the second
/// convolution and its gradients (4.8x fewer multiplications at its 14x14) and for the first
/// one's forward pass, and F(6x6, 5x5) for the second one's forward pass over evaluation
/// chunks (see [`KernelPolicy::Fast`] for their rounding).
pub const FAST: SessionOptions = SessionOptions {
    kernels: KernelPolicy::Fast,
    memory_limit: None,
};

/// What the example's and tests' functions return.
pub type Res<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The first half: softmax regression trained by gradient descent.
pub fn softmax_regression(mnist: &mut mnist::Datasets, steps: usize, batch: usize) -> Res<f32> {
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
    for _ in 0..steps {
        let (xs, ys) = mnist.train.next_batch(batch);
        train_step.run(&feed! { &x => xs, &y_ => ys })?;
    }
    let correct_prediction = equal(&argmax(&y, 1)?, &argmax(&y_, 1)?)?;
    let accuracy = reduce_mean(&cast(&correct_prediction, F32)?, None, false)?;
    let test = &mnist.test;
    Ok(accuracy
        .eval(&feed! { &x => test.images(), &y_ => test.labels().clone() })?
        .scalar_value::<f32>()?)
}

/// `weight_variable`: truncated normal with standard deviation 0.1.
fn weight_variable(g: &Graph, shape: &[usize]) -> Result<Variable> {
    g.variable(&truncated_normal(g, shape, 0.0, 0.1, None)?, "")
}

/// `bias_variable`: the constant 0.1.
fn bias_variable(g: &Graph, shape: &[usize]) -> Result<Variable> {
    g.variable(&rustflow::fill(g, shape, 0.1f32, "Const")?, "")
}

fn conv2d(x: &Tensor, w: &Tensor) -> Result<Tensor> {
    nn::conv2d(x, w, [1, 1, 1, 1], Padding::Same)
}

fn max_pool_2x2(x: &Tensor) -> Result<Tensor> {
    nn::max_pool(x, [1, 2, 2, 1], [1, 2, 2, 1], Padding::Same)
}

/// The second half's graph and the tensors a program feeds and fetches.
pub struct Cnn {
    pub g: Graph,
    pub x: Tensor,
    pub y_: Tensor,
    pub keep_prob: Tensor,
    pub cross_entropy: Tensor,
    pub train_step: Operation,
    pub accuracy: Tensor,
}

/// Builds the convolutional network; `seed` is the graph-level random seed.
pub fn build_cnn(seed: u64) -> Result<Cnn> {
    build_cnn_with(seed, |loss| train::AdamOptimizer::new(1e-4).minimize(loss))
}

/// [`build_cnn`] with the training step that `minimize` builds from the loss.
pub fn build_cnn_with(
    seed: u64,
    minimize: impl FnOnce(&Tensor) -> Result<Operation>,
) -> Result<Cnn> {
    let g = Graph::new();
    g.set_random_seed(seed);
    let x = g.placeholder(F32, shape![?, 784]);
    let y_ = g.placeholder(F32, shape![?, 10]);

    let w_conv1 = weight_variable(&g, &[5, 5, 1, 32])?;
    let b_conv1 = bias_variable(&g, &[32])?;
    let x_image = reshape(&x, &[-1, 28, 28, 1])?;
    let h_conv1 = conv2d(&x_image, &w_conv1)?.add(&b_conv1)?.relu()?;
    let h_pool1 = max_pool_2x2(&h_conv1)?;

    let w_conv2 = weight_variable(&g, &[5, 5, 32, 64])?;
    let b_conv2 = bias_variable(&g, &[64])?;
    let h_conv2 = conv2d(&h_pool1, &w_conv2)?.add(&b_conv2)?.relu()?;
    let h_pool2 = max_pool_2x2(&h_conv2)?;

    let w_fc1 = weight_variable(&g, &[7 * 7 * 64, 1024])?;
    let b_fc1 = bias_variable(&g, &[1024])?;
    let h_pool2_flat = reshape(&h_pool2, &[-1, 7 * 7 * 64])?;
    let h_fc1 = h_pool2_flat.matmul(&w_fc1)?.add(&b_fc1)?.relu()?;

    let keep_prob = g.placeholder(F32, shape![]);
    let h_fc1_drop = nn::dropout(&h_fc1, &keep_prob)?;

    let w_fc2 = weight_variable(&g, &[1024, 10])?;
    let b_fc2 = bias_variable(&g, &[10])?;
    let y_conv = h_fc1_drop.matmul(&w_fc2)?.add(&b_fc2)?;

    let cross_entropy = reduce_mean(
        &nn::softmax_cross_entropy_with_logits(&y_, &y_conv)?,
        None,
        false,
    )?;
    let train_step = minimize(&cross_entropy)?;
    let correct_prediction = equal(&argmax(&y_conv, 1)?, &argmax(&y_, 1)?)?;
    let accuracy = reduce_mean(&cast(&correct_prediction, F32)?, None, false)?;
    Ok(Cnn {
        g,
        x,
        y_,
        keep_prob,
        cross_entropy,
        train_step,
        accuracy,
    })
}

/// Accuracy over the whole test set, evaluated `chunk` images at a time.
pub fn test_accuracy(net: &Cnn, sess: &Session, test: &mnist::DataSet, chunk: usize) -> Res<f32> {
    test_accuracy_with(net, sess, test, chunk, &RunOptions::default(), |_| {})
}

/// [`test_accuracy`] with run options; `seen` receives each chunk's run metadata.
pub fn test_accuracy_with(
    net: &Cnn,
    sess: &Session,
    test: &mnist::DataSet,
    chunk: usize,
    options: &RunOptions,
    mut seen: impl FnMut(&RunMetadata),
) -> Res<f32> {
    let n = test.num_examples();
    let labels = test.labels();
    let mut correct = 0.0f64;
    for start in (0..n).step_by(chunk.max(1)) {
        let end = (start + chunk.max(1)).min(n);
        let ys = labels.slice(ndarray::s![start..end, ..]).to_owned();
        let feeds = feed! { &net.x => test.images_rows(start..end), &net.y_ => ys, &net.keep_prob => 1.0f32 };
        let (mut out, meta) = sess.run_with(&fetches![&net.accuracy], &feeds, options)?;
        seen(&meta);
        let acc = out.take(0)?.scalar_value::<f32>()?;
        correct += acc as f64 * (end - start) as f64;
    }
    Ok((correct / n as f64) as f32)
}
