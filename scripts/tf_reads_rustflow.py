"""TensorFlow reads what rustflow writes: the tutorial CNN's GraphDef (binary and text) and
its V2 checkpoint, written by `tests/interop.rs`, give rustflow's logits in TensorFlow; its
whole training graph (gradients and Adam) trains one step in TensorFlow as in rustflow; the
wave-2 ops' GraphDef written by `interop/tests/export.rs` gives rustflow's outputs.

    RUSTFLOW_EXPORT_DIR=/tmp/rf MNIST_DATA_DIR=../shared/mnist \
        cargo test --release --test interop
    RUSTFLOW_EXPORT_DIR=/tmp/rf cargo test --release -p rustflow-interop --test export
    python scripts/tf_reads_rustflow.py /tmp/rf ../shared/mnist

Needs `pip install tensorflow-cpu numpy`.
"""
import gzip
import json
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import numpy as np
import tensorflow as tf
from google.protobuf import text_format

tf1 = tf.compat.v1
tf1.disable_eager_execution()
tf1.disable_resource_variables()

out_dir, mnist_dir = sys.argv[1], sys.argv[2]
expected = json.load(open(os.path.join(out_dir, "expected.json")))
with gzip.open(os.path.join(mnist_dir, "t10k-images-idx3-ubyte.gz")) as f:
    images = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)[:64]
images = images.astype(np.float32) / 255.0
want = np.array(expected["logits_data"], np.float32).reshape(64, 10)

prefix = os.path.join(out_dir, "model.ckpt")
reader = tf.train.load_checkpoint(prefix)
shapes = reader.get_variable_to_shape_map()
print(f"tf.train.load_checkpoint: {len(shapes)} tensors:",
      ", ".join(f"{k}{shapes[k]}" for k in sorted(shapes)))
print("latest_checkpoint:", tf.train.latest_checkpoint(out_dir))

failures = 0
for name in ["graph.pb", "graph.pbtxt"]:
    gd = tf1.GraphDef()
    data = open(os.path.join(out_dir, name), "rb").read()
    if name.endswith(".pbtxt"):
        text_format.Merge(data.decode(), gd)
    else:
        gd.ParseFromString(data)
    g = tf1.Graph()
    with g.as_default():
        tf1.import_graph_def(gd, name="")
        variables = [op.outputs[0] for op in g.get_operations() if op.type == "VariableV2"]
        saver = tf1.train.Saver(var_list={v.op.name: v for v in variables})
        with tf1.Session(graph=g) as sess:
            saver.restore(sess, prefix)
            got = sess.run(expected["logits"], {expected["x"]: images, expected["keep_prob"]: 1.0})
    err = float(np.abs(got - want).max())
    ok = np.allclose(got, want, rtol=1e-4, atol=1e-5) and (got.argmax(1) == want.argmax(1)).all()
    failures += not ok
    print(f"{name}: {len(gd.node)} nodes imported by tf.import_graph_def; Saver.restore of "
          f"{len(variables)} variables; logits max |TF - rustflow| = {err:.3g}; "
          f"{'OK' if ok else 'MISMATCH'}")
# The wave-2 ops' GraphDef (interop/tests/export.rs, when RUSTFLOW_EXPORT_DIR is set):
# TensorFlow imports it and computes rustflow's outputs.
wave2 = os.path.join(out_dir, "wave2.pb")
if os.path.exists(wave2):
    exp = json.load(open(os.path.join(out_dir, "wave2.json")))
    gd = tf1.GraphDef()
    gd.ParseFromString(open(wave2, "rb").read())
    g = tf1.Graph()
    with g.as_default():
        tf1.import_graph_def(gd, name="")
        x = np.array(exp["x"]["data"], np.float32).reshape(exp["x"]["shape"])
        names = sorted(exp["outputs"])
        with tf1.Session(graph=g) as sess:
            got = sess.run(names, {"x:0": x})
    bad = []
    for name, v in zip(names, got):
        w = exp["outputs"][name]
        want = np.array(w["data"], np.float64).reshape(w["shape"])
        if v.shape != want.shape or not np.allclose(v.astype(np.float64), want, rtol=1e-5,
                                                     atol=1e-6):
            bad.append(name)
    failures += bool(bad)
    print(f"wave2.pb: {len(gd.node)} nodes imported by tf.import_graph_def; "
          f"{len(names) - len(bad)}/{len(names)} outputs equal rustflow's"
          + (f"; MISMATCH: {bad}" if bad else ""))
# The tutorial's whole training graph (gradients and Adam, tests/interop.rs's
# deep_mnist_training_graph_round_trips): TensorFlow imports it, restores the variables from
# before rustflow's step, runs one training step on the same batch and compares the variables
# with rustflow's step (trained.ckpt) as |TF - rustflow| / |rustflow's step| per variable.
# TensorFlow's own tf.gradients of the imported loss equals the imported gradient subgraph.
# The conv layers differ by a few percent of the step: the pooled ReLU outputs have exact ties
# (blank image regions), both break ties to the first maximum, but rustflow's conv kernels
# round the equal dot products differently by position, so some ties are not ties there.
train = os.path.join(out_dir, "train.pb")
if os.path.exists(train):
    exp = json.load(open(os.path.join(out_dir, "train.json")))
    gd = tf1.GraphDef()
    gd.ParseFromString(open(train, "rb").read())
    ops = sorted({n.op for n in gd.node})
    g = tf1.Graph()
    with g.as_default():
        tf1.import_graph_def(gd, name="")
        variables = [op.outputs[0] for op in g.get_operations() if op.type == "VariableV2"]
        saver = tf1.train.Saver(var_list={v.op.name: v for v in variables})
        adams = [op for op in g.get_operations() if op.type == "ApplyAdam"]
        loss = [op.outputs[0] for op in g.get_operations() if op.type == "Mean"][0]
        own = tf1.gradients(loss, [op.inputs[0] for op in adams])
        xs = np.array(exp["x_data"], np.float32).reshape(-1, 784)
        ys = np.array(exp["y_data"], np.float32).reshape(-1, 10)
        feed = {exp["x"]: xs, exp["y_"]: ys, exp["keep_prob"]: 1.0}
        with tf1.Session(graph=g) as sess:
            saver.restore(sess, os.path.join(out_dir, "train.ckpt"))
            before = dict(zip([v.op.name for v in variables], sess.run(variables)))
            imported, tfs = sess.run([[op.inputs[9] for op in adams], own], feed)
            sess.run(exp["train_op"], feed)
            got = dict(zip([v.op.name for v in variables], sess.run(variables)))
    same = max(float(np.abs(a - b).max()) for a, b in zip(imported, tfs))
    want = tf.train.load_checkpoint(os.path.join(out_dir, "trained.ckpt"))
    rel, bad = {}, []
    for name, v in sorted(got.items()):
        w = want.get_tensor(name)
        step = float(np.linalg.norm(w - before[name]))
        rel[name] = float(np.linalg.norm(v - w)) / max(step, 1e-30)
        if v.shape != w.shape or rel[name] > 0.1:
            bad.append(f"{name} ({rel[name]:.3g})")
    failures += bool(bad) or same != 0.0
    worst = sorted(rel.items(), key=lambda kv: -kv[1])
    print(f"train.pb: {len(gd.node)} nodes of {len(ops)} op types imported by "
          f"tf.import_graph_def; its gradients vs TensorFlow's tf.gradients of its loss: max "
          f"|diff| = {same:.3g}; one Adam step from train.ckpt: {len(got) - len(bad)}/{len(got)} "
          f"variables (with slots) within 10% of rustflow's step; |TF - rustflow| / |step|: "
          + ", ".join(f"{k} {x:.2g}" for k, x in worst[:6])
          + f", ..., min {worst[-1][1]:.2g}"
          + (f"; MISMATCH: {bad}" if bad else ""))
sys.exit(1 if failures else 0)
