"""Writes interop/tests/fixtures/golden_op_types.json: for each golden case's `op` (and
optimizer, and second-order `of`), the TensorFlow op types of the graph TensorFlow builds for
it in TF1 graph mode: the forward ops and `tf.compat.v1.gradients` of the golden loss
(L = sum_k reduce_sum(outputs[k] * U_k)), the optimizer's update ops, the gradient of the
gradient. Control-flow cases are built as TF1 writes them (`Switch`/`Merge`, loop frames) and
as TF2 does (`If`/`While`), forward only. `interop/tests/golden_ops.rs` checks that every
case's op is listed and every listed op type has an import row.

    TF_CPP_MIN_LOG_LEVEL=3 TF_ENABLE_ONEDNN_OPTS=0 python scripts/tf_golden_op_types.py ../shared/golden
"""
import glob
import json
import os
import sys

import numpy as np
import tensorflow as tf

tf1 = tf.compat.v1
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "interop", "tests", "fixtures", "golden_op_types.json")
FOLDERS = ["cases", "wave2", "control", "second_order"]


def ph(t):
    return tf1.placeholder(tf.as_dtype(t["dtype"]), t["shape"])


def xs(ins, prefix):
    return [ins[k] for k in sorted((k for k in ins if k[len(prefix):].isdigit()
                                    and k.startswith(prefix)), key=lambda k: int(k[len(prefix):]))]


def axis_arg(a):
    return a.get("axis", a.get("axes"))


def unary(f):
    return lambda i, a: f(i["x"])


def binary(f):
    return lambda i, a: f(*[i[k] for k in ("a", "b") if k in i] or [i["x"], i["y"]])


def reduce(f):
    return lambda i, a: f(i["x"], axis=axis_arg(a), keepdims=a.get("keepdims", False))


def split(i, a):
    return tf.split(i["x"], a["num_or_size_splits"], axis=a["axis"])


def conv2d(i, a):
    d = a.get("dilations", [1, 1, 1, 1])
    return tf.nn.conv2d(i["input"], i["filter"], a["strides"], a["padding"], dilations=d)


OPS = {
    "matmul": lambda i, a: tf.matmul(i["a"], i["b"], transpose_a=a.get("transpose_a", False),
                                     transpose_b=a.get("transpose_b", False)),
    "add": binary(tf.add), "sub": binary(tf.subtract), "mul": binary(tf.multiply),
    "div": binary(tf.divide), "neg": unary(tf.negative), "exp": unary(tf.exp),
    "log": unary(tf.math.log), "sqrt": unary(tf.sqrt), "square": unary(tf.square),
    "relu": unary(tf.nn.relu), "sigmoid": unary(tf.sigmoid), "tanh": unary(tf.tanh),
    "softmax": lambda i, a: tf.nn.softmax(i["logits"], axis=a.get("axis", -1)),
    "log_softmax": lambda i, a: tf.nn.log_softmax(i["logits"], axis=a.get("axis", -1)),
    "reduce_sum": reduce(tf.reduce_sum), "reduce_mean": reduce(tf.reduce_mean),
    "reduce_max": reduce(tf.reduce_max), "reduce_min": reduce(tf.reduce_min),
    "reduce_prod": reduce(tf.reduce_prod), "reduce_logsumexp": reduce(tf.reduce_logsumexp),
    "reduce_any": reduce(tf.reduce_any), "reduce_all": reduce(tf.reduce_all),
    "reshape": lambda i, a: tf.reshape(i["x"], a["shape"]),
    "transpose": lambda i, a: tf.transpose(i["x"], a.get("perm")),
    "argmax": lambda i, a: tf.argmax(i["x"], a["axis"]),
    "argmin": lambda i, a: tf.argmin(i["x"], a["axis"]),
    "equal": binary(tf.equal), "not_equal": binary(tf.not_equal), "less": binary(tf.less),
    "less_equal": binary(tf.less_equal), "greater": binary(tf.greater),
    "greater_equal": binary(tf.greater_equal), "maximum": binary(tf.maximum),
    "minimum": binary(tf.minimum), "pow": binary(tf.pow),
    "squared_difference": binary(tf.math.squared_difference),
    "floordiv": binary(tf.math.floordiv), "floormod": binary(tf.math.floormod),
    "logical_and": binary(tf.logical_and), "logical_or": binary(tf.logical_or),
    "logical_not": unary(tf.logical_not),
    "cast": lambda i, a: tf.cast(i["x"], tf.as_dtype(a.get("dtype", "float32"))),
    "conv2d": conv2d,
    "max_pool": lambda i, a: tf.nn.max_pool2d(i["x"], a["ksize"], a["strides"], a["padding"]),
    "avg_pool": lambda i, a: tf.nn.avg_pool2d(i["x"], a["ksize"], a["strides"], a["padding"]),
    "bias_add": lambda i, a: tf.nn.bias_add(i["value"], i["bias"]),
    "dropout": lambda i, a: tf1.nn.dropout(i["x"], keep_prob=i["keep_prob"]),
    "softmax_cross_entropy_with_logits": lambda i, a: tf1.nn.softmax_cross_entropy_with_logits(
        labels=i["labels"], logits=i["logits"]),
    "softmax_cross_entropy_with_logits_v2": lambda i, a: tf.nn.softmax_cross_entropy_with_logits(
        labels=i["labels"], logits=i["logits"]),
    "sparse_softmax_cross_entropy_with_logits":
        lambda i, a: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=i["labels"],
                                                                    logits=i["logits"]),
    "accuracy_expr": lambda i, a: tf.reduce_mean(tf.cast(tf.equal(
        tf.argmax(i["logits"], 1), tf.argmax(i["labels"], 1)), tf.float32)),
    "concat": lambda i, a: tf.concat(xs(i, "x"), a["axis"]),
    "split": split,
    "stack": lambda i, a: tf.stack(xs(i, "x"), a["axis"]),
    "unstack": lambda i, a: tf.unstack(i["x"], num=a.get("num"), axis=a["axis"]),
    "slice": lambda i, a: tf.slice(i["x"], a["begin"], a["size"]),
    "strided_slice": lambda i, a: tf.strided_slice(
        i["x"], a["begin"], a["end"], a["strides"], a["begin_mask"], a["end_mask"],
        a["ellipsis_mask"], a["new_axis_mask"], a["shrink_axis_mask"]),
    "gather": lambda i, a: tf.gather(i["params"], i["indices"], axis=a["axis"]),
    "gather_nd": lambda i, a: tf.gather_nd(i["params"], i["indices"]),
    "one_hot": lambda i, a: tf.one_hot(i["indices"], a["depth"], a["on_value"], a["off_value"],
                                       axis=a.get("axis", -1)),
    "pad": lambda i, a: tf.pad(i["x"], a["paddings"], a["mode"], a.get("constant_values", 0)),
    "tile": lambda i, a: tf.tile(i["x"], a["multiples"]),
    "squeeze": lambda i, a: tf.squeeze(i["x"], a["axis"]),
    "expand_dims": lambda i, a: tf.expand_dims(i["x"], a["axis"]),
    "where": lambda i, a: tf1.where(i["condition"], i["x"], i["y"]),
    "reverse": lambda i, a: tf.reverse(i["x"], a["axis"]),
    "fill": lambda i, a: tf.fill(a["dims"], i["value"]),
    "zeros_like": unary(tf.zeros_like), "ones_like": unary(tf.ones_like),
    "range": lambda i, a: tf.range(a["start"], a["limit"], a["delta"],
                                   dtype=tf.as_dtype(a["dtype"])),
    "shape": unary(tf.shape), "size": unary(tf.size), "rank": unary(tf.rank),
    "cumsum": lambda i, a: tf.cumsum(i["x"], a["axis"], a["exclusive"], a["reverse"]),
    "boolean_mask": lambda i, a: tf.boolean_mask(i["tensor"], i["mask"]),
    "rsqrt": unary(tf.math.rsqrt), "reciprocal": unary(tf.math.reciprocal),
    "softplus": unary(tf.nn.softplus), "softsign": unary(tf.nn.softsign),
    "elu": unary(tf.nn.elu), "selu": unary(tf.nn.selu), "log1p": unary(tf.math.log1p),
    "expm1": unary(tf.math.expm1), "sin": unary(tf.sin), "cos": unary(tf.cos),
    "erf": unary(tf.math.erf), "relu6": unary(tf.nn.relu6), "sign": unary(tf.sign),
    "floor": unary(tf.floor), "ceil": unary(tf.math.ceil), "round": unary(tf.round),
    "leaky_relu": lambda i, a: tf.nn.leaky_relu(i["x"], a["alpha"]),
    "clip_by_value": lambda i, a: tf.clip_by_value(i["t"], a["clip_value_min"],
                                                    a["clip_value_max"]),
    "clip_by_norm": lambda i, a: tf.clip_by_norm(i["t"], a["clip_norm"], a.get("axes")),
    "clip_by_global_norm": lambda i, a: (lambda r: r[0] + [r[1]])(
        tf.clip_by_global_norm(xs(i, "t"), a["clip_norm"])),
    "l2_loss": lambda i, a: tf.nn.l2_loss(i["t"]),
    "l2_normalize": lambda i, a: tf.math.l2_normalize(i["x"], a["axis"], a["epsilon"]),
    "batch_matmul": lambda i, a: tf.matmul(i["a"], i["b"], adjoint_a=a["adjoint_a"],
                                           adjoint_b=a["adjoint_b"]),
    "add_n": lambda i, a: tf.add_n(xs(i, "x")),
    "top_k": lambda i, a: list(tf.math.top_k(i["input"], a["k"])),
    "in_top_k": lambda i, a: tf1.nn.in_top_k(i["predictions"], i["targets"], a["k"]),
    "sigmoid_cross_entropy_with_logits": lambda i, a: tf.nn.sigmoid_cross_entropy_with_logits(
        labels=i["labels"], logits=i["logits"]),
    "weighted_cross_entropy_with_logits":
        lambda i, a: tf1.nn.weighted_cross_entropy_with_logits(i["labels"], i["logits"],
                                                               a["pos_weight"]),
    "conv2d_transpose": lambda i, a: tf.nn.conv2d_transpose(
        i["value"], i["filter"], a["output_shape"], a["strides"], a["padding"]),
    "depthwise_conv2d": lambda i, a: tf.nn.depthwise_conv2d(i["input"], i["filter"],
                                                            a["strides"], a["padding"]),
    "local_response_normalization": lambda i, a: tf.nn.local_response_normalization(
        i["input"], a["depth_radius"], a["bias"], a["alpha"], a["beta"]),
    "moments": lambda i, a: list(tf.nn.moments(i["x"], a["axes"], keepdims=a["keepdims"])),
    "batch_normalization": lambda i, a: tf.nn.batch_normalization(
        i["x"], i["mean"], i["variance"], i["offset"], i["scale"], a["variance_epsilon"]),
    "fused_batch_norm": lambda i, a: list(tf1.nn.fused_batch_norm(
        i["x"], i["scale"], i["offset"], i.get("mean"), i.get("variance"), a["epsilon"],
        is_training=a["is_training"])),
    "embedding_lookup": lambda i, a: tf1.nn.embedding_lookup([i["params"]], i["ids"]),
}


def forward_and_grads(case):
    """The forward op of a plain case with the golden loss's gradients."""
    ins = {k: ph(v) for k, v in case["inputs"].items()}
    out = OPS[case["op"]](ins, case["attrs"])
    outs = out if isinstance(out, list) else [out]
    floats = [y for y in outs if y.dtype == tf.float32]
    wrt = [x for x in ins.values() if x.dtype == tf.float32]
    if floats and wrt:
        loss = tf.add_n([tf.reduce_sum(y * tf.ones_like(y)) for y in floats])
        grads = [g for g in tf1.gradients(loss, wrt) if g is not None]
        if case["op"] in ("in_top_k",):
            grads = []
        return outs + grads
    return outs


def second_order(case):
    a = case["attrs"]
    ins = {k: ph(v) for k, v in case["inputs"].items() if k != "dy"}
    y = OPS[a["of"]](ins, a.get("of_attrs", {}))
    y = y[0] if isinstance(y, list) else y
    wrt = [x for x in ins.values() if x.dtype == tf.float32]
    g = tf1.gradients(y, wrt, grad_ys=tf.ones_like(y))
    gsum = tf.add_n([tf.reduce_sum(t) for t in g if t is not None])
    return [t for t in tf1.gradients(gsum, wrt) if t is not None]


def optimizer(case):
    a = case["attrs"]
    w = tf1.Variable(tf.ones([3, 2]))
    loss = tf.reduce_mean(tf.square(tf.matmul(tf.ones([4, 3]), w)))
    name = a["optimizer"]
    kw = {k: a[k] for k in ("momentum", "use_nesterov", "beta1", "beta2", "epsilon", "rho",
                             "decay", "centered", "initial_accumulator_value") if k in a}
    opt = getattr(tf1.train, name + "Optimizer")(a["learning_rate"], **kw)
    return [opt.minimize(loss)]


def models(case):
    """Forward, gradients and the optimizer step of the end-to-end cases' layers."""
    # Constant initializers: the cases feed their weights, so no random op belongs here.
    with tf1.variable_scope("model", initializer=tf1.ones_initializer()):
        return model_layers(case)


def model_layers(case):
    op = case["op"]
    ins = {k: ph(v) for k, v in case["inputs"].items() if v["dtype"] != "float32"
           or k in ("x", "images", "labels", "y_", "keep_prob")}
    if op == "lstm_tiny":
        x = ins["x"]
        cell = tf1.nn.rnn_cell.BasicLSTMCell(4)
        outs, _ = tf1.nn.static_rnn(cell, tf.unstack(x, axis=0), dtype=tf.float32)
        logits = tf1.layers.dense(outs[-1], 3)
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=ins["labels"], logits=logits))
        grads = tf1.gradients(loss, tf1.trainable_variables())
        grads, _ = tf.clip_by_global_norm(grads, 5.0)
        return [tf1.train.GradientDescentOptimizer(0.1).apply_gradients(
            zip(grads, tf1.trainable_variables()))]
    if op == "cifar_tiny":
        x = ins["images"]
        h = tf.nn.relu(tf.nn.bias_add(tf.nn.conv2d(x, tf1.Variable(tf.ones([3, 3, 3, 4])),
                                                   [1, 1, 1, 1], "SAME"),
                                      tf1.Variable(tf.zeros([4]))))
        h = tf.nn.max_pool2d(h, [1, 3, 3, 1], [1, 2, 2, 1], "SAME")
        h = tf.nn.local_response_normalization(h, 4, 1.0, 0.001 / 9.0, 0.75)
        h = tf.reshape(h, [tf.shape(h)[0], -1])
        logits = tf.matmul(h, tf1.Variable(tf.ones([h.shape[1], 10])))
        loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=ins["labels"], logits=logits))
        return [tf1.train.MomentumOptimizer(0.1, 0.9).minimize(loss)]
    if op == "batchnorm_mlp_tiny":
        h = tf1.layers.dense(ins["x"], 5)
        h = tf1.layers.batch_normalization(h, training=True)
        logits = tf1.layers.dense(tf.nn.relu(h), 3)
        loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=ins["labels"],
                                                                      logits=logits))
        with tf.control_dependencies(tf1.get_collection(tf1.GraphKeys.UPDATE_OPS)):
            return [tf1.train.GradientDescentOptimizer(0.1).minimize(loss)]
    # deep_mnist_tiny
    x = tf.reshape(ins["x"], [-1, 28, 28, 1])
    h = tf.nn.relu(tf.nn.conv2d(x, tf1.Variable(tf.ones([5, 5, 1, 2])), [1, 1, 1, 1], "SAME")
                   + tf1.Variable(tf.zeros([2])))
    h = tf.nn.max_pool2d(h, [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
    h = tf.reshape(h, [-1, 14 * 14 * 2])
    h = tf1.nn.dropout(tf.nn.relu(tf.matmul(h, tf1.Variable(tf.ones([392, 4])))),
                       keep_prob=ins["keep_prob"])
    logits = tf.matmul(h, tf1.Variable(tf.ones([4, 10])))
    loss = tf.reduce_mean(tf.nn.softmax_cross_entropy_with_logits(labels=ins["y_"],
                                                                  logits=logits))
    return [tf1.train.AdamOptimizer(1e-4).minimize(loss)]


def control(case):
    op = case["op"]
    ins = {k: ph(v) for k, v in case["inputs"].items()}
    if op == "cond":
        x, y = ins["x"], ins["y_in"]
        return [tf1.cond(ins["pred"], lambda: x * y, lambda: x + y)]
    if op == "while_loop":
        return list(tf1.while_loop(lambda i, acc: i < ins["n"],
                                   lambda i, acc: (i + 1, acc * ins["w"] + 1.0),
                                   (0, ins["x"])))
    x = ins["x"]
    ta = tf.TensorArray(tf.float32, size=x.shape[0]).unstack(x)
    return list(tf1.while_loop(lambda i, acc: i < x.shape[0],
                               lambda i, acc: (i + 1, acc + ta.read(i)),
                               (0, tf.zeros(x.shape[1:]))))


def op_types(case, build):
    g = tf.Graph()
    with g.as_default():
        build(case)
    gd = g.as_graph_def()
    return {n.op for n in gd.node} | {n.op for f in gd.library.function for n in f.node_def}


def main():
    golden = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "..", "shared", "golden")
    tf1.disable_eager_execution()
    tf1.disable_resource_variables()
    table = {}
    for folder in FOLDERS:
        for path in sorted(glob.glob(os.path.join(golden, folder, "*.json"))):
            if path.endswith("manifest.json"):
                continue
            case = json.load(open(path))
            op = case["op"]
            if op == "optimizer":
                key, builds = "optimizer:" + case["attrs"]["optimizer"], [optimizer]
            elif op == "gradient_of":
                key, builds = "gradient_of:" + case["attrs"]["of"], [second_order]
            elif op in ("lstm_tiny", "cifar_tiny", "batchnorm_mlp_tiny", "deep_mnist_tiny"):
                key, builds = op, [models]
            elif op in ("cond", "while_loop", "while_loop_tensorarray_sum"):
                key, builds = op, [control]
            else:
                key, builds = op, [forward_and_grads]
            types = set(table.get(key, []))
            for build in builds:
                if build is control:
                    for v2 in (False, True):
                        (tf1.enable_control_flow_v2 if v2 else tf1.disable_control_flow_v2)()
                        types |= op_types(case, build)
                    tf1.enable_control_flow_v2()
                else:
                    types |= op_types(case, build)
            table[key] = sorted(types)
    all_types = sorted({t for v in table.values() for t in v})
    print(len(table), "golden ops,", len(all_types), "op types:", " ".join(all_types))
    lines = [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in sorted(table.items())]
    with open(OUT, "w") as f:
        f.write(f'{{"tf_version": "{tf.__version__}", "ops": {{\n' + ",\n".join(lines) + "\n}}\n")


if __name__ == "__main__":
    main()
