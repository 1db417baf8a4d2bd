#!/usr/bin/env python3
"""TensorFlow's side of the comparison: the Deep MNIST tutorial's network, graph mode.

Measures the same things as `deep_mnist --bench N`: median/p10/p90 ms per training step at
batch 50 after a warm-up, the test-set evaluation (10,000 images in chunks of 1,000), the
softmax regression's 1000 steps, and the peak resident memory. Not used by the tests.

    pip install tensorflow-cpu
    python3 scripts/tf_deep_mnist.py --data-dir ../shared/mnist --steps 200
"""
import argparse, gzip, os, resource, time

import numpy as np


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load(d):
    xs = read_idx(os.path.join(d, "train-images-idx3-ubyte.gz")).reshape(-1, 784).astype(np.float32) / 255
    ys = np.eye(10, dtype=np.float32)[read_idx(os.path.join(d, "train-labels-idx1-ubyte.gz"))]
    tx = read_idx(os.path.join(d, "t10k-images-idx3-ubyte.gz")).reshape(-1, 784).astype(np.float32) / 255
    ty = np.eye(10, dtype=np.float32)[read_idx(os.path.join(d, "t10k-labels-idx1-ubyte.gz"))]
    return xs[5000:], ys[5000:], tx, ty


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data-dir", default=os.environ.get("MNIST_DATA_DIR", "MNIST_data"))
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--warmup", type=int, default=20)
    p.add_argument("--batch", type=int, default=50)
    p.add_argument("--seed", type=int, default=0, help="seeds the batch order")
    p.add_argument("--softmax-only", action="store_true")
    a = p.parse_args()
    import tensorflow as tf
    tf1 = tf.compat.v1
    tf1.disable_eager_execution()
    xs, ys, tx, ty = load(a.data_dir)
    rng = np.random.default_rng(a.seed)

    def batches():
        while True:
            perm = rng.permutation(len(xs))
            for i in range(0, len(xs) - a.batch + 1, a.batch):
                j = perm[i:i + a.batch]
                yield xs[j], ys[j]

    # Softmax regression: 1000 steps + evaluation, wall time.
    g = tf.Graph()
    with g.as_default():
        x = tf1.placeholder(tf.float32, [None, 784]); y_ = tf1.placeholder(tf.float32, [None, 10])
        W = tf.Variable(tf.zeros([784, 10])); b = tf.Variable(tf.zeros([10]))
        y = tf.nn.softmax(tf.matmul(x, W) + b)
        ce = -tf.reduce_sum(y_ * tf.math.log(y))
        step = tf1.train.GradientDescentOptimizer(0.01).minimize(ce)
        acc = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(y, 1), tf.argmax(y_, 1)), tf.float32))
        with tf1.Session(graph=g) as s:
            s.run(tf1.global_variables_initializer())
            it = batches(); t0 = time.perf_counter()
            for _ in range(1000):
                bx, by = next(it); s.run(step, {x: bx, y_: by})
            r = s.run(acc, {x: tx, y_: ty})
            print(f"softmax: 1000 steps + eval {time.perf_counter() - t0:.3f} s, test accuracy {r:.4f}")
    if a.softmax_only:
        return

    g = tf.Graph()
    with g.as_default():
        x = tf1.placeholder(tf.float32, [None, 784]); y_ = tf1.placeholder(tf.float32, [None, 10])
        wv = lambda s: tf.Variable(tf1.truncated_normal(s, stddev=0.1))
        bv = lambda s: tf.Variable(tf.constant(0.1, shape=s))
        conv = lambda x, W: tf.nn.conv2d(x, W, strides=[1, 1, 1, 1], padding="SAME")
        pool = lambda x: tf.nn.max_pool(x, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")
        xi = tf.reshape(x, [-1, 28, 28, 1])
        h1 = pool(tf.nn.relu(conv(xi, wv([5, 5, 1, 32])) + bv([32])))
        h2 = pool(tf.nn.relu(conv(h1, wv([5, 5, 32, 64])) + bv([64])))
        f1 = tf.nn.relu(tf.matmul(tf.reshape(h2, [-1, 3136]), wv([3136, 1024])) + bv([1024]))
        kp = tf1.placeholder(tf.float32)
        yc = tf.matmul(tf1.nn.dropout(f1, kp), wv([1024, 10])) + bv([10])
        ce = tf.reduce_mean(tf1.nn.softmax_cross_entropy_with_logits_v2(labels=tf.stop_gradient(y_), logits=yc))
        step = tf1.train.AdamOptimizer(1e-4).minimize(ce)
        acc = tf.reduce_mean(tf.cast(tf.equal(tf.argmax(yc, 1), tf.argmax(y_, 1)), tf.float32))
        with tf1.Session(graph=g) as s:
            s.run(tf1.global_variables_initializer())
            it = batches(); times = []
            for i in range(a.warmup + a.steps):
                bx, by = next(it); t0 = time.perf_counter()
                s.run(step, {x: bx, y_: by, kp: 0.5})
                if i >= a.warmup:
                    times.append((time.perf_counter() - t0) * 1e3)
            t = np.array(times)
            print(f"train step: median {np.median(t):.1f} ms, p10 {np.percentile(t, 10):.1f} ms, "
                  f"p90 {np.percentile(t, 90):.1f} ms over {a.steps} steps, batch {a.batch}")
            t0 = time.perf_counter(); total = 0.0
            for i in range(0, len(tx), 1000):
                total += s.run(acc, {x: tx[i:i + 1000], y_: ty[i:i + 1000], kp: 1.0}) * 1000
            print(f"test eval: {time.perf_counter() - t0:.3f} s (accuracy {total / len(tx):.4f} after {a.steps + a.warmup} steps)")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
