#!/usr/bin/env python3
"""TensorFlow's own "TensorFlow Mechanics 101" (fully_connected_feed.py with mnist.py), TF1
graph mode, on the MNIST files of --data-dir: the program examples/fully_connected_feed.rs is
compared with. Validation is the first 5,000 training images, as in TF's input_data.

    pip install tensorflow-cpu
    python3 scripts/tf_fully_connected_feed.py --data-dir ../shared/mnist
"""
import argparse, gzip, math, os, tempfile, time

import numpy as np

NUM_CLASSES = 10
IMAGE_PIXELS = 28 * 28


def read_idx(path):
    with gzip.open(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


class DataSet:
    """input_data.DataSet's next_batch: shuffled epochs."""

    def __init__(self, images, labels, rng):
        self.images, self.labels, self.rng = images, labels, rng
        self.num_examples = len(images)
        self.order = rng.permutation(self.num_examples)
        self.index = 0

    def next_batch(self, n):
        if self.index + n > self.num_examples:
            self.order = self.rng.permutation(self.num_examples)
            self.index = 0
        j = self.order[self.index:self.index + n]
        self.index += n
        return self.images[j], self.labels[j]


def load(d, seed):
    rng = np.random.default_rng(seed)
    xs = read_idx(os.path.join(d, "train-images-idx3-ubyte.gz")).reshape(-1, 784).astype(np.float32) / 255
    ys = read_idx(os.path.join(d, "train-labels-idx1-ubyte.gz")).astype(np.int32)
    tx = read_idx(os.path.join(d, "t10k-images-idx3-ubyte.gz")).reshape(-1, 784).astype(np.float32) / 255
    ty = read_idx(os.path.join(d, "t10k-labels-idx1-ubyte.gz")).astype(np.int32)
    return DataSet(xs[5000:], ys[5000:], rng), DataSet(xs[:5000], ys[:5000], rng), DataSet(tx, ty, rng)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--data-dir", default=os.environ.get("MNIST_DATA_DIR", "MNIST_data"))
    p.add_argument("--learning-rate", type=float, default=0.01)
    p.add_argument("--max-steps", type=int, default=2000)
    p.add_argument("--hidden1", type=int, default=128)
    p.add_argument("--hidden2", type=int, default=32)
    p.add_argument("--batch-size", type=int, default=100)
    p.add_argument("--log-dir", default=os.path.join(tempfile.gettempdir(), "tf_fully_connected_feed"))
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    import tensorflow as tf
    tf1 = tf.compat.v1
    tf1.disable_eager_execution()
    train, validation, test = load(a.data_dir, a.seed)

    def inference(images):
        def layer(x, name, n_in, n_out):
            with tf1.name_scope(name):
                w = tf.Variable(tf1.truncated_normal([n_in, n_out], stddev=1.0 / math.sqrt(float(n_in))), name="weights")
                b = tf.Variable(tf.zeros([n_out]), name="biases")
                return tf.matmul(x, w) + b
        h1 = tf.nn.relu(layer(images, "hidden1", IMAGE_PIXELS, a.hidden1))
        h2 = tf.nn.relu(layer(h1, "hidden2", a.hidden1, a.hidden2))
        return layer(h2, "softmax_linear", a.hidden2, NUM_CLASSES)

    with tf.Graph().as_default():
        images = tf1.placeholder(tf.float32, shape=(a.batch_size, IMAGE_PIXELS))
        labels = tf1.placeholder(tf.int32, shape=(a.batch_size,))
        logits = inference(images)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.cast(labels, tf.int64), logits=logits))
        global_step = tf.Variable(0, name="global_step", trainable=False)
        train_op = tf1.train.GradientDescentOptimizer(a.learning_rate).minimize(loss, global_step=global_step)
        eval_correct = tf.reduce_sum(tf.cast(tf1.nn.in_top_k(logits, labels, 1), tf.int32))
        saver = tf1.train.Saver()
        sess = tf1.Session()
        sess.run(tf1.global_variables_initializer())

        def do_eval(data):
            steps = data.num_examples // a.batch_size
            n = steps * a.batch_size
            true_count = 0
            for _ in range(steps):
                xs, ys = data.next_batch(a.batch_size)
                true_count += sess.run(eval_correct, {images: xs, labels: ys})
            precision = float(true_count) / n
            print("  Num examples: %d  Num correct: %d  Precision @ 1: %0.04f" % (n, true_count, precision))
            return precision

        start = time.time()
        last = [0.0] * 3
        for step in range(a.max_steps):
            xs, ys = train.next_batch(a.batch_size)
            _, loss_value = sess.run([train_op, loss], {images: xs, labels: ys})
            if step % 100 == 0:
                print("Step %d: loss = %.2f (%.3f sec)" % (step, loss_value, time.time() - start))
            if (step + 1) % 1000 == 0 or step + 1 == a.max_steps:
                saver.save(sess, os.path.join(a.log_dir, "model.ckpt"), global_step=step)
                for k, (name, data) in enumerate([("Training", train), ("Validation", validation), ("Test", test)]):
                    print("%s Data Eval:" % name)
                    last[k] = do_eval(data)
        print("final precision: train %.4f  validation %.4f  test %.4f" % tuple(last))


if __name__ == "__main__":
    main()
