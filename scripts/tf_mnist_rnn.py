#!/usr/bin/env python3
"""TensorFlow's side of the recurrent MNIST comparison (`examples/mnist_rnn.rs`), graph mode:
28 time steps of 28 pixels, BasicLSTMCell(128), dense to 10, Adam 0.001, batch 128.

Prints `train step: median M ms` like `mnist_rnn --bench N` (after 10 warm-up steps), with
static_rnn by default and dynamic_rnn with --dynamic. Not used by the tests.

    pip install tensorflow-cpu
    TF_USE_LEGACY_KERAS=1 python3 scripts/tf_mnist_rnn.py --data-dir ../shared/mnist --bench 20 [--dynamic]
"""
import argparse, gzip, os, time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
import numpy as np
import tensorflow as tf

tf.compat.v1.disable_eager_execution()


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data-dir", default=os.environ.get("MNIST_DATA_DIR", "MNIST_data"))
    p.add_argument("--bench", type=int, default=20)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--dynamic", action="store_true")
    a = p.parse_args()
    xs = read_idx(os.path.join(a.data_dir, "train-images-idx3-ubyte.gz")).reshape(-1, 784).astype(np.float32) / 255
    ys = np.eye(10, dtype=np.float32)[read_idx(os.path.join(a.data_dir, "train-labels-idx1-ubyte.gz"))]

    x = tf.compat.v1.placeholder(tf.float32, [None, 784])
    y_ = tf.compat.v1.placeholder(tf.float32, [None, 10])
    images = tf.reshape(x, [-1, 28, 28])
    cell = tf.compat.v1.nn.rnn_cell.BasicLSTMCell(128, forget_bias=1.0)
    if a.dynamic:
        _, state = tf.compat.v1.nn.dynamic_rnn(cell, images, dtype=tf.float32)
    else:
        _, state = tf.compat.v1.nn.static_rnn(cell, tf.unstack(images, 28, 1), dtype=tf.float32)
    w = tf.Variable(tf.random.normal([128, 10], stddev=0.1))
    b = tf.Variable(tf.zeros([10]))
    logits = tf.matmul(state.h, w) + b
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=y_, logits=logits))
    train = tf.compat.v1.train.AdamOptimizer(0.001).minimize(loss)
    sess = tf.compat.v1.Session()
    sess.run(tf.compat.v1.global_variables_initializer())
    rng = np.random.default_rng(0)
    times = []
    for i in range(10 + a.bench):
        idx = rng.integers(0, len(xs), a.batch)
        t = time.perf_counter()
        sess.run([train, loss], {x: xs[idx], y_: ys[idx]})
        if i >= 10:
            times.append((time.perf_counter() - t) * 1e3)
    times.sort()
    pct = lambda q: times[round((len(times) - 1) * q)]
    form = "dynamic_rnn" if a.dynamic else "static_rnn"
    print(f"train step: median {pct(0.5):.1f} ms, p10 {pct(0.1):.1f} ms, p90 {pct(0.9):.1f} ms "
          f"over {a.bench} steps, batch {a.batch} ({form}, TensorFlow {tf.__version__})")


if __name__ == "__main__":
    main()
