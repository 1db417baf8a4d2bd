"""Writes interop/tests/fixtures/control_*.pb: small TensorFlow GraphDefs (TF1 graph mode) with
control flow, each twice: as TF1 writes it (`Switch`/`Merge`, `Enter`/`Exit` frames; control
flow v1) and as TF2 does (`If`/`StatelessIf`/`While` with a function library; control flow v2),
the TF2 ones also as text (`.pbtxt`), and interop/tests/fixtures/control.json: TensorFlow's outputs for given feeds, for
`interop/tests/control.rs`.

    TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 python scripts/tf_control_graphs.py
"""
import json
import os

import numpy as np
import tensorflow as tf
from tensorflow.python.ops import control_flow_util

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "interop", "tests", "fixtures")
tf1 = tf.compat.v1


def cond_case():
    pred = tf1.placeholder(tf.bool, [], name="pred")
    x = tf1.placeholder(tf.float32, [3], name="x")
    a, b = tf1.cond(pred, lambda: (x * 2.0 + 1.0, tf.reduce_sum(x)),
                    lambda: (x - 1.0, tf.reduce_max(x)))
    tf.identity(a, name="a")
    tf.identity(b, name="b")
    xs = np.array([1.0, -2.0, 0.5], np.float32)
    return [{"pred": np.array(p), "x": xs} for p in (True, False)], ["a", "b"]


def while_case():
    n = tf1.placeholder(tf.int32, [], name="n")
    x = tf1.placeholder(tf.float32, [2, 2], name="x")
    w = tf1.placeholder(tf.float32, [2, 2], name="w")
    i, acc = tf1.while_loop(lambda i, acc: i < n,
                            lambda i, acc: (i + 1, acc * w + 1.0), (tf.constant(0), x))
    tf.identity(i, name="i")
    tf.identity(acc, name="acc")
    xs = np.array([[1.0, 2.0], [-1.0, 0.5]], np.float32)
    ws = np.array([[0.5, -1.0], [2.0, 1.5]], np.float32)
    return [{"n": np.array(k, np.int32), "x": xs, "w": ws} for k in (0, 3)], ["i", "acc"]


def cond_in_while_case():
    n = tf1.placeholder(tf.int32, [], name="n")
    x = tf1.placeholder(tf.float32, [3], name="x")

    def body(i, acc):
        acc = tf1.cond(tf.reduce_sum(acc) > 0.0, lambda: acc * 0.5 - 1.0, lambda: acc + 2.0)
        return i + 1, acc

    _, acc = tf1.while_loop(lambda i, acc: i < n, body, (tf.constant(0), x))
    tf.identity(acc, name="acc")
    xs = np.array([3.0, -1.0, 4.0], np.float32)
    return [{"n": np.array(k, np.int32), "x": xs} for k in (1, 5)], ["acc"]


def nested_while_case():
    n = tf1.placeholder(tf.int32, [], name="n")
    x = tf1.placeholder(tf.float32, [2], name="x")

    def outer(i, acc):
        _, inner = tf1.while_loop(lambda j, a: j < i, lambda j, a: (j + 1, a + x), (0, acc))
        return i + 1, inner * 0.5

    _, acc = tf1.while_loop(lambda i, acc: i < n, outer, (tf.constant(0), x))
    tf.identity(acc, name="acc")
    xs = np.array([1.0, -2.0], np.float32)
    return [{"n": np.array(k, np.int32), "x": xs} for k in (0, 4)], ["acc"]


def tensor_array_case():
    """A loop that reads one TensorArray (unstacked from a tensor) and writes another, as the
    golden case while_loop_tensorarray_sum; its size known only at run time."""
    x = tf1.placeholder(tf.float32, [None, 3], name="x")
    n = tf.shape(x)[0]
    ta_in = tf.TensorArray(tf.float32, size=n).unstack(x)
    ta_out = tf.TensorArray(tf.float32, size=n, clear_after_read=False)

    def body(i, acc, out):
        acc = acc + ta_in.read(i)
        return i + 1, acc, out.write(i, acc * 2.0)

    _, acc, out = tf1.while_loop(lambda i, acc, out: i < n, body,
                                 (tf.constant(0), tf.zeros([3]), ta_out))
    tf.identity(acc, name="acc")
    tf.identity(out.stack(), name="stacked")
    tf.identity(out.gather([2, 0]), name="gathered")
    tf.identity(out.size(), name="size")
    xs = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0], [4.0, 0.0, -3.0]], np.float32)
    return [{"x": xs}, {"x": np.concatenate([xs, xs * 2.0])}], ["acc", "stacked", "gathered", "size"]


def gradient_ops_case():
    """Gradients whose TensorFlow ops rustflow imports through its own gradient rules."""
    x = tf1.placeholder(tf.float32, [2, 4, 4, 3], name="x")
    rng = np.random.RandomState(1)
    m = tf.reshape(x, [8, 12])
    dw = tf.constant(rng.uniform(-1, 1, (3, 3, 3, 2)).astype(np.float32))
    scale = tf.constant(rng.uniform(0.5, 1.5, 3).astype(np.float32))
    offset = tf.constant(rng.uniform(-1, 1, 3).astype(np.float32))
    idx = tf.constant([[1, 2], [3, 0], [1, 2]])
    outs = {
        "lrn": tf.nn.lrn(x, 2, 1.5, 0.3, 0.6),
        "depthwise": tf.nn.depthwise_conv2d(x, dw, [1, 2, 2, 1], "SAME"),
        "batch_norm": tf1.nn.fused_batch_norm(x, scale, offset, epsilon=0.01)[0],
        "strided": x[:, 1:4:2, ::-1, 1],
        "gather_nd": tf.gather_nd(m, idx),
        "gather": tf.gather(m, [3, 0, 3], axis=0),
        "mirror": tf.pad(m, [[1, 2], [2, 1]], mode="REFLECT"),
        "leaky": tf.nn.leaky_relu(m, 0.3),
        "softsign": tf.nn.softsign(m),
        "softplus": tf.nn.softplus(m),
        "prod": tf.reduce_prod(m[:, :3] + 2.0, axis=1),
        "concat": tf.concat([m, m[:, :5] * 3.0], axis=1),
        "logsumexp": tf.reduce_logsumexp(m, axis=0),
        "max_pool": tf.nn.max_pool2d(x, 2, 2, "SAME"),
    }
    fetches = []
    for name, y in outs.items():
        (g,) = tf1.gradients(tf.reduce_sum(tf.sin(y)), [x])
        fetches.append(tf.identity(g, name="d_" + name).name[:-2])
    # Second order: the gradient of max pool's gradient (MaxPoolGradGrad).
    (g,) = tf1.gradients(outs["max_pool"], [x], grad_ys=tf.cos(outs["max_pool"]))
    (gg,) = tf1.gradients(tf.reduce_sum(g * g), [x])
    fetches.append(tf.identity(gg, name="dd_max_pool").name[:-2])
    xs = rng.uniform(-1, 1, (2, 4, 4, 3)).astype(np.float32)
    return [{"x": xs}], fetches


def while_grad_case():
    """A loop's gradients (TF1: `StackV2`/`StackPushV2`/`StackPopV2`; TF2: `TensorList*`)."""
    n = tf1.placeholder(tf.int32, [], name="n")
    x = tf1.placeholder(tf.float32, [2, 2], name="x")
    w = tf1.placeholder(tf.float32, [2, 2], name="w")
    _, acc = tf1.while_loop(lambda i, acc: i < n,
                            lambda i, acc: (i + 1, acc * w + tf.sin(acc)), (tf.constant(0), x))
    dx, dw = tf1.gradients(tf.reduce_sum(acc * acc), [x, w])
    tf.identity(dx, name="dx")
    tf.identity(dw, name="dw")
    xs = np.array([[1.0, 2.0], [-1.0, 0.5]], np.float32)
    ws = np.array([[0.5, -0.3], [0.2, 0.7]], np.float32)
    return [{"n": np.array(k, np.int32), "x": xs, "w": ws} for k in (0, 3)], ["dx", "dw"]


def rnn_grad_case():
    """A dynamic_rnn-like TensorArray loop and its gradients (TF1: `TensorArrayGradV3`)."""
    x = tf1.placeholder(tf.float32, [None, 3], name="x")
    w = tf1.placeholder(tf.float32, [3], name="w")
    n = tf.shape(x)[0]
    ta_in = tf.TensorArray(tf.float32, size=n).unstack(x)
    ta_out = tf.TensorArray(tf.float32, size=n)

    def body(i, h, out):
        h = tf.tanh(h * w + ta_in.read(i))
        return i + 1, h, out.write(i, h)

    _, h, out = tf1.while_loop(lambda i, h, out: i < n, body,
                               (tf.constant(0), tf.zeros([3]), ta_out))
    dx, dw = tf1.gradients(tf.reduce_sum(out.stack() * 0.5) + tf.reduce_sum(h), [x, w])
    tf.identity(dx, name="dx")
    tf.identity(dw, name="dw")
    xs = np.array([[1.0, 2.0, 3.0], [-1.0, 0.5, 2.0], [4.0, 0.0, -3.0]], np.float32)
    ws = np.array([0.5, -1.0, 0.25], np.float32)
    return [{"x": xs, "w": ws}], ["dx", "dw"]


def ta_concat_split_case():
    """A dynamic_size TensorArray (grown by writes), concatenated; a tensor split into one."""
    n = tf1.placeholder(tf.int32, [], name="n")
    x = tf1.placeholder(tf.float32, [4, 2], name="x")
    ta = tf.TensorArray(tf.float32, size=0, dynamic_size=True, element_shape=[2, 2])

    def body(i, ta):
        return i + 1, ta.write(i, x[:2] * tf.cast(i + 1, tf.float32))

    _, ta = tf1.while_loop(lambda i, ta: i < n, body, (tf.constant(0), ta))
    tf.identity(ta.concat(), name="concat")
    tf.identity(ta.size(), name="size")
    parts = tf.TensorArray(tf.float32, size=2).split(x, [2, 2])
    tf.identity(parts.read(1), name="part")
    xs = np.arange(8, dtype=np.float32).reshape(4, 2)
    return [{"n": np.array(k, np.int32), "x": xs} for k in (1, 3)], ["concat", "size", "part"]


CASES = {
    "cond": cond_case,
    "while": while_case,
    "cond_in_while": cond_in_while_case,
    "nested_while": nested_while_case,
    "tensor_array": tensor_array_case,
    "gradient_ops": gradient_ops_case,
    "while_grad": while_grad_case,
    "rnn_grad": rnn_grad_case,
    "ta_concat_split": ta_concat_split_case,
}


def tensor(v):
    v = np.asarray(v)
    dtype = {"float32": "float32", "int32": "int32", "bool": "bool"}[str(v.dtype)]
    return {"dtype": dtype, "shape": list(v.shape), "data": v.reshape(-1).tolist()}


def main():
    tf1.disable_eager_execution()
    os.makedirs(OUT, exist_ok=True)
    expected = {}
    for version in ("v1", "v2"):
        if version == "v1":
            tf1.disable_control_flow_v2()
        else:
            tf1.enable_control_flow_v2()
        for name, build in CASES.items():
            g = tf.Graph()
            with g.as_default():
                feeds, fetches = build()
            assert control_flow_util.ENABLE_CONTROL_FLOW_V2 == (version == "v2")
            gd = g.as_graph_def()
            if name == "gradient_ops" and version == "v2":
                continue
            ops = sorted({n.op for n in gd.node} |
                         {n.op for f in gd.library.function for n in f.node_def})
            file = f"control_{name}_{version}.pb" if name != "gradient_ops" else f"{name}.pb"
            with open(os.path.join(OUT, file), "wb") as f:
                f.write(gd.SerializeToString())
            if version == "v2":
                # The text form, with its function library, as tf.io.write_graph writes it.
                tf.io.write_graph(gd, OUT, file[:-3] + ".pbtxt", as_text=True)
            runs = []
            with tf1.Session(graph=g) as sess:
                for feed in feeds:
                    out = sess.run([f + ":0" for f in fetches],
                                   {g.get_tensor_by_name(k + ":0"): v for k, v in feed.items()})
                    runs.append({"feeds": {k + ":0": tensor(v) for k, v in feed.items()},
                                 "fetches": {k + ":0": tensor(v) for k, v in zip(fetches, out)}})
            key = f"{name}_{version}" if name != "gradient_ops" else name
            expected[key] = {"file": file, "ops": ops, "runs": runs}
            print(file, len(gd.node), "nodes:", " ".join(ops))
    with open(os.path.join(OUT, "control.json"), "w") as f:
        json.dump({"tf_version": tf.__version__, "cases": expected}, f, indent=1)


if __name__ == "__main__":
    main()
