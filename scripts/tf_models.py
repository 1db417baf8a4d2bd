#!/usr/bin/env python3
"""TensorFlow's side of the model suite (`cargo run --release --example models`), graph mode.

Builds the same networks on synthetic data of the same shapes and prints the same lines:
the median/p10/p90 training step after 10 warm-up steps, the median evaluation (logits) of a
batch of 1000, and the peak resident memory. Not used by the tests.

    python3 scripts/tf_models.py --model cifar --bench 100
"""
import argparse, resource, time

import numpy as np


def build(model, tf, tf1):
    """Returns (x, labels, training or None, train_op, loss, logits, image dims, batch)."""
    tn = lambda shape, stddev: tf.Variable(tf1.truncated_normal(shape, stddev=stddev))
    const = lambda n, v: tf.Variable(tf.constant(v, shape=[n]))
    xent = lambda labels, logits: tf.reduce_mean(
        tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits))
    labels = tf1.placeholder(tf.int64, [None])
    if model == "mlp":
        x = tf1.placeholder(tf.float32, [None, 784])
        h, fan_in = x, 784
        for units in (128, 32):
            h = tf.nn.relu(tf.matmul(h, tn([fan_in, units], 1 / np.sqrt(fan_in))) + const(units, 0.0))
            fan_in = units
        logits = tf.matmul(h, tn([32, 10], 1 / np.sqrt(32))) + const(10, 0.0)
        loss = xent(labels, logits)
        train_op = tf1.train.GradientDescentOptimizer(0.01).minimize(loss)
        return x, labels, None, train_op, loss, logits, [784], 100
    if model == "cifar":
        x = tf1.placeholder(tf.float32, [None, 24, 24, 3])
        conv = lambda x, w, b: tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, w, [1, 1, 1, 1], "SAME"), b))
        pool = lambda x: tf.nn.max_pool(x, ksize=[1, 3, 3, 1], strides=[1, 2, 2, 1], padding="SAME")
        norm = lambda x: tf.nn.lrn(x, 4, bias=1.0, alpha=0.001 / 9.0, beta=0.75)
        conv1 = conv(x, tn([5, 5, 3, 64], 5e-2), const(64, 0.0))
        norm1 = norm(pool(conv1))
        conv2 = conv(norm1, tn([5, 5, 64, 64], 5e-2), const(64, 0.1))
        pool2 = pool(norm(conv2))
        decay = []

        def dense(h, n_in, n_out, stddev, wd):
            w = tn([n_in, n_out], stddev)
            if wd > 0:
                decay.append(tf.nn.l2_loss(w) * wd)
            return tf.matmul(h, w) + const(n_out, 0.1)

        flat = tf.reshape(pool2, [-1, 2304])
        local3 = tf.nn.relu(dense(flat, 2304, 384, 0.04, 0.004))
        local4 = tf.nn.relu(dense(local3, 384, 192, 0.04, 0.004))
        logits = dense(local4, 192, 10, 1 / 192.0, 0.0)
        loss = tf.add_n([xent(labels, logits)] + decay)
        train_op = tf1.train.GradientDescentOptimizer(0.1).minimize(loss)
        return x, labels, None, train_op, loss, logits, [24, 24, 3], 128
    if model == "vgg":
        x = tf1.placeholder(tf.float32, [None, 32, 32, 3])
        training = tf1.placeholder(tf.bool, [])
        h, cin = x, 3

        def batch_norm(z, c):
            # tf.compat.v1.layers.batch_normalization(z, training=training) as it builds it
            # (Keras 3 has no tf.compat.v1.layers): fused kernels under a cond, the moving
            # statistics updated through UPDATE_OPS with momentum 0.99.
            gamma, beta = tf.Variable(tf.ones([c])), tf.Variable(tf.zeros([c]))
            mm = tf.Variable(tf.zeros([c]), trainable=False)
            mv = tf.Variable(tf.ones([c]), trainable=False)
            fbn = tf1.nn.fused_batch_norm
            y, m, v = tf.cond(
                training,
                lambda: fbn(z, gamma, beta, epsilon=1e-3, is_training=True),
                lambda: (fbn(z, gamma, beta, mm, mv, epsilon=1e-3, is_training=False)[0],
                         tf.identity(mm), tf.identity(mv)))
            for var, stat in ((mm, m), (mv, v)):
                tf1.add_to_collection(tf1.GraphKeys.UPDATE_OPS,
                                      tf1.assign_sub(var, (var - stat) * 0.01))
            return y

        for filters in (64, 128):
            for _ in range(2):
                w = tn([3, 3, cin, filters], np.sqrt(2.0 / (9 * cin)))
                z = tf.nn.conv2d(h, w, [1, 1, 1, 1], "SAME")
                h, cin = tf.nn.relu(batch_norm(z, filters)), filters
            h = tf.nn.max_pool(h, ksize=[1, 2, 2, 1], strides=[1, 2, 2, 1], padding="SAME")
        flat = tf.reshape(h, [-1, 8192])
        fc = tf.nn.relu(tf.matmul(flat, tn([8192, 256], 0.01)) + const(256, 0.0))
        logits = tf.matmul(fc, tn([256, 10], 1 / 16.0)) + const(10, 0.0)
        loss = xent(labels, logits)
        with tf.control_dependencies(tf1.get_collection(tf1.GraphKeys.UPDATE_OPS)):
            train_op = tf1.train.MomentumOptimizer(0.01, 0.9).minimize(loss)
        return x, labels, training, train_op, loss, logits, [32, 32, 3], 64
    raise SystemExit(f"unknown model {model}")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--model", required=True, choices=["mlp", "cifar", "vgg"])
    p.add_argument("--bench", type=int, default=100, help="timed training steps")
    p.add_argument("--evals", type=int, default=10, help="timed evaluations of 1000")
    a = p.parse_args()
    import tensorflow as tf
    tf1 = tf.compat.v1
    tf1.disable_eager_execution()
    g = tf.Graph()
    with g.as_default():
        tf1.set_random_seed(1)
        x, labels, training, train_op, loss, logits, image, batch = build(a.model, tf, tf1)
        rng = np.random.default_rng(0)
        data = lambda n: (rng.random([n] + image, dtype=np.float32), rng.integers(0, 10, n))
        batches = [data(batch) for _ in range(8)]

        def feeds(xs, ys, train):
            f = {x: xs, labels: ys}
            if training is not None:
                f[training] = train
            return f

        pct = lambda t: (f"median {np.median(t):.1f} ms, p10 {np.percentile(t, 10):.1f} ms, "
                         f"p90 {np.percentile(t, 90):.1f} ms")
        with tf1.Session(graph=g) as s:
            s.run(tf1.global_variables_initializer())
            times = []
            for i in range(10 + a.bench):
                f = feeds(*batches[i % len(batches)], True)
                t0 = time.perf_counter()
                s.run([train_op, loss], f)
                if i >= 10:
                    times.append((time.perf_counter() - t0) * 1e3)
            print(f"train step: {pct(times)} over {a.bench} steps, batch {batch}")
            f = feeds(*data(1000), False)
            evals = []
            for i in range(a.evals + 1):
                t0 = time.perf_counter()
                s.run(logits, f)
                if i > 0:
                    evals.append((time.perf_counter() - t0) * 1e3)
            print(f"eval 1000: {pct(evals)} over {a.evals} runs")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


if __name__ == "__main__":
    main()
