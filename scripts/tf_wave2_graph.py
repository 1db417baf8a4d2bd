"""Writes tests/data/wave2_graph.pb: one small TensorFlow GraphDef (TF1 graph mode) with the
wave-2 ops (concat, gather, slice, strided_slice, pad, one_hot, comparisons, select, cumsum,
conv variants, LRN, FusedBatchNormV3, reductions, split, tile, ...) applied to a fed input,
and tests/data/wave2_graph.json: the input and TensorFlow's value of every output, for
`interop/tests/wave2.rs`.

    TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 python scripts/tf_wave2_graph.py
"""
import json
import os

import numpy as np
import tensorflow as tf

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data")


def main():
    tf.compat.v1.disable_eager_execution()
    rng = np.random.RandomState(0)
    xv = rng.uniform(-1, 1, size=(2, 5, 5, 3)).astype(np.float32)
    g = tf.Graph()
    with g.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 5, 5, 3], name="x")
        m = tf.reshape(x, [-1, 15], name="m")  # [10, 15]
        idx = tf.constant([3, 0, 2], name="idx")
        w = tf.constant(rng.uniform(-1, 1, size=(3, 3, 3, 4)).astype(np.float32))
        dw = tf.constant(rng.uniform(-1, 1, size=(3, 3, 3, 2)).astype(np.float32))
        outs = {
            "concat": tf.concat([m, m * 2.0], axis=1, name="concat"),
            "gather": tf.gather(m, idx, axis=0, name="gather"),
            "gather1": tf.gather(m, idx, axis=1, name="gather1"),
            "slice": tf.slice(x, [0, 1, 1, 0], [1, 3, -1, 2], name="slice"),
            "strided": tf.identity(x[:, 1:4:2, ::-1, 1], name="strided"),
            "pad": tf.pad(m, [[1, 0], [2, 1]], constant_values=0.5, name="pad"),
            "mirror": tf.pad(m, [[1, 1], [2, 2]], mode="REFLECT", name="mirror"),
            "one_hot": tf.one_hot(idx, 4, on_value=2.0, off_value=-1.0, name="one_hot"),
            "less": tf.cast(tf.less(m, 0.1), tf.float32, name="less"),
            "select": tf.where(tf.greater_equal(m, 0.0), m, -m * 3.0, name="select"),
            "cumsum": tf.cumsum(m, axis=1, exclusive=True, reverse=True, name="cumsum"),
            "conv_dilated": tf.nn.conv2d(x, w, [1, 1, 1, 1], "SAME", dilations=[1, 2, 2, 1],
                                         name="conv_dilated"),
            "depthwise": tf.nn.depthwise_conv2d(x, dw, [1, 1, 1, 1], "VALID", name="depthwise"),
            "lrn": tf.nn.lrn(x, depth_radius=1, bias=1.5, alpha=0.3, beta=0.6, name="lrn"),
            "tile": tf.tile(m[:2], [2, 3], name="tile"),
            "split1": tf.split(m, 3, axis=1, name="split")[1],
            "min": tf.reduce_min(m, axis=[1], keepdims=True, name="min"),
            "prod": tf.reduce_prod(m[:, :3], axis=0, name="prod"),
            "stack": tf.stack([m[0], m[1]], axis=1, name="stack"),
            "expand": tf.expand_dims(m[0], 0, name="expand"),
            "squeeze": tf.squeeze(x[:, :1, :, :1], axis=[1, 3], name="squeeze"),
            "reverse": tf.reverse(m, [1], name="reverse"),
            "transpose": tf.transpose(x, [0, 3, 1, 2], name="transpose"),
            "flatten": tf.reshape(x, tf.stack([tf.shape(x)[0], -1]), name="flatten"),
            "leaky": tf.nn.leaky_relu(m, 0.3, name="leaky"),
            "softplus": tf.nn.softplus(m, name="softplus"),
            "elu": tf.nn.elu(m, name="elu"),
            "sqdiff": tf.math.squared_difference(m, 0.25, name="sqdiff"),
            "floordiv": tf.math.floordiv(m, 0.3, name="floordiv"),
        }
        y, mean, var = tf.compat.v1.nn.fused_batch_norm(
            x, tf.constant([1.0, 2.0, 0.5]), tf.constant([0.0, 0.1, -0.2]), is_training=True)
        outs["fbn"] = tf.identity(y, name="fbn")
        outs["fbn_mean"] = tf.identity(mean, name="fbn_mean")
        with tf.compat.v1.Session() as sess:
            vals = sess.run(outs, {x: xv})
    tf.io.write_graph(g.as_graph_def(), DATA, "wave2_graph.pb", as_text=False)
    ops = sorted({n.op for n in g.as_graph_def().node})
    j = {
        "tf_version": tf.__version__,
        "op_types": ops,
        "x": {"shape": list(xv.shape), "data": xv.ravel().tolist()},
        "outputs": {
            outs[k].name: {"shape": list(v.shape), "data": v.astype(np.float32).ravel().tolist()}
            for k, v in vals.items()
        },
    }
    with open(os.path.join(DATA, "wave2_graph.json"), "w") as f:
        json.dump(j, f)
    print(ops)


if __name__ == "__main__":
    main()
