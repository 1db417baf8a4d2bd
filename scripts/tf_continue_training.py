"""TensorFlow's side of `interop/tests/training.rs`: continues training the tutorial CNN from
../shared/interop/deep_mnist (import_meta_graph + Saver.restore), STEPS Adam steps on the
training files' examples 5000.. in file order (batch 50, keep_prob 1.0, so no dropout), and
writes the loss of each step (before its update) and the test-set count after the last to
tests/data/deep_mnist_continue.json.

    TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 python scripts/tf_continue_training.py
"""
import gzip
import json
import os

import numpy as np
import tensorflow as tf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INTEROP = os.path.join(ROOT, "..", "shared", "interop", "deep_mnist")
MNIST = os.path.join(ROOT, "..", "shared", "mnist")
STEPS, BATCH, FIRST = 20, 50, 5000


def idx(name, offset):
    with gzip.open(os.path.join(MNIST, name)) as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset)


def main():
    tf.compat.v1.disable_eager_execution()
    tf.compat.v1.disable_resource_variables()
    images = idx("train-images-idx3-ubyte.gz", 16).reshape(-1, 784).astype(np.float32) / 255.0
    labels = np.eye(10, dtype=np.float32)[idx("train-labels-idx1-ubyte.gz", 8)]
    test_x = idx("t10k-images-idx3-ubyte.gz", 16).reshape(-1, 784).astype(np.float32) / 255.0
    test_y = idx("t10k-labels-idx1-ubyte.gz", 8)
    exp = json.load(open(os.path.join(INTEROP, "expected.json")))
    names, nodes = exp["tensors"], exp["nodes"]
    with tf.compat.v1.Session(graph=tf.Graph()) as sess:
        saver = tf.compat.v1.train.import_meta_graph(os.path.join(INTEROP, "model.ckpt.meta"))
        saver.restore(sess, os.path.join(INTEROP, "model.ckpt"))
        g = sess.graph
        x, y_, keep = (g.get_tensor_by_name(names[k]) for k in ("x", "y_", "keep_prob"))
        loss = g.get_tensor_by_name(names["cross_entropy"])
        train = g.get_operation_by_name(nodes["train_step"])
        logits = g.get_tensor_by_name(names["logits"])
        losses = []
        for s in range(STEPS):
            rows = slice(FIRST + s * BATCH, FIRST + (s + 1) * BATCH)
            l, _ = sess.run([loss, train], {x: images[rows], y_: labels[rows], keep: 1.0})
            losses.append(float(l))
        correct = 0
        for start in range(0, 10000, 1000):
            out = sess.run(logits, {x: test_x[start:start + 1000], keep: 1.0})
            correct += int((out.argmax(1) == test_y[start:start + 1000]).sum())
    out = {
        "tf_version": tf.__version__,
        "steps": STEPS,
        "batch": BATCH,
        "first_train_example": FIRST,
        "keep_prob": 1.0,
        "losses": losses,
        "test_correct_before": exp["test_correct"],
        "test_correct_after": correct,
    }
    path = os.path.join(ROOT, "tests", "data", "deep_mnist_continue.json")
    with open(path, "w") as f:
        json.dump(out, f, indent=1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
