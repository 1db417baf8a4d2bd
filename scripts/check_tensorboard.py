"""Loads a rustflow event log with TensorBoard's own reader and TensorFlow's, and checks it.

    pip install tensorboard tensorflow-cpu   # not a dependency of the crates
    cargo run --release --example deep_mnist -- --model cnn --steps 1001 --logdir /tmp/tb/cnn
    python3 scripts/check_tensorboard.py /tmp/tb/cnn

Checks that TensorBoard's EventAccumulator finds the scalars (cross_entropy, accuracy every
--log-every steps), the histograms of the variables, the input images, the graph and the
traced step's run metadata, and the command line as a text summary; and that
tf.compat.v1.train.summary_iterator reads every event.
"""

import sys

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator


def check(logdir):
    acc = EventAccumulator(logdir, size_guidance={"scalars": 0, "histograms": 0,
                                                   "images": 0, "tensors": 0})
    acc.Reload()
    tags = acc.Tags()
    print(logdir, {k: v for k, v in tags.items() if v})
    for tag in ("cross_entropy", "accuracy"):
        events = acc.Scalars(tag)
        steps = [e.step for e in events]
        print(f"  scalar {tag}: {len(events)} points, steps {steps[0]}..{steps[-1]}, "
              f"first {events[0].value:.4f}, last {events[-1].value:.4f}")
        assert steps == sorted(steps) and len(steps) >= 2
        assert all(0 <= e.value for e in events)
    assert 0 <= acc.Scalars("accuracy")[-1].value <= 1
    hists = [t for t in tags["histograms"] if t.startswith("variables/")]
    assert len(hists) == 8, hists
    for t in hists[:2]:
        h = acc.Histograms(t)[0].histogram_value
        print(f"  histogram {t}: steps {[e.step for e in acc.Histograms(t)]}, num {h.num:.0f}, "
              f"min {h.min:.4f}, max {h.max:.4f}, {len(h.bucket)} buckets")
        assert h.num > 0 and h.min <= h.max and sum(h.bucket) == h.num
    images = tags["images"]
    assert len(images) == 3, images
    im = acc.Images(images[0])[0]
    print(f"  image {images[0]}: {im.width}x{im.height}, {len(im.encoded_image_string)} PNG bytes")
    assert (im.width, im.height) == (28, 28)
    assert im.encoded_image_string[1:4] == b"PNG"
    assert tags["tensors"] == ["command"], tags["tensors"]
    text = acc.Tensors("command")[0]
    plugin = acc.SummaryMetadata("command").plugin_data.plugin_name
    print(f"  text command (plugin {plugin}) step {text.step}: {text.tensor_proto.string_val}")
    assert plugin == "text" and b"deep_mnist" in text.tensor_proto.string_val[0]
    graph = acc.Graph()
    ops = {}
    for n in graph.node:
        ops[n.op] = ops.get(n.op, 0) + 1
    print(f"  graph: {len(graph.node)} nodes, {ops.get('Conv2D', 0)} Conv2D, "
          f"{ops.get('ScalarSummary', 0)} ScalarSummary, {ops.get('MergeSummary', 0)} MergeSummary")
    assert ops.get("Conv2D") == 2 and ops.get("ScalarSummary") == 2
    assert any("_output_shapes" in n.attr for n in graph.node)
    runs = tags["run_metadata"]
    assert runs, "no run metadata"
    meta = acc.RunMetadata(runs[0])
    stats = meta.step_stats.dev_stats[0].node_stats
    print(f"  run metadata {runs[0]}: {len(stats)} nodes timed, "
          f"longest {max(s.all_end_rel_micros for s in stats)} us")
    assert len(stats) > 10


def check_with_tensorflow(logdir):
    import glob
    import os
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tensorflow as tf
    kinds = {}
    for path in glob.glob(os.path.join(logdir, "events.out.tfevents.*")):
        for e in tf.compat.v1.train.summary_iterator(path):
            kind = e.WhichOneof("what")
            kinds[kind] = kinds.get(kind, 0) + 1
    print(f"  tf.compat.v1.train.summary_iterator: {kinds}")
    for k in ("file_version", "graph_def", "summary", "tagged_run_metadata"):
        assert kinds.get(k), k


if __name__ == "__main__":
    check(sys.argv[1])
    check_with_tensorflow(sys.argv[1])
    print("OK")
