//! What rustflow writes: compact constants (a tensor whose elements are all equal is its
//! shape and one value, as TensorFlow writes `tf.zeros`), read back as TensorFlow reads them.

use rustflow_graph::{shape, DType, Graph, Value};
use rustflow_interop::{import_graph_def, parse_graph_def, to_graph_def, ImportOptions};
use rustflow_ops::train::{AdamOptimizer, Optimizer};
use rustflow_ops::{self as ops, Variable};
use rustflow_proto::{attr_value::Value as Attr, Message};
use rustflow_runtime::{FeedDict, Session};

/// Adam's zero slots of deep MNIST's first dense layer ([3136, 1024]) are written as one
/// value each, not 12.8 MB each.
#[test]
fn adams_zero_slots_are_written_as_one_value() {
    let g = Graph::new();
    let x = ops::placeholder(&g, DType::F32, shape![?, 3136], "x");
    let init = ops::truncated_normal(&g, &[3136, 1024], 0.0, 0.1, Some(1)).unwrap();
    let w = Variable::new(&init, "W").unwrap();
    let loss = ops::reduce_mean(
        &ops::square(&ops::matmul(&x, &w).unwrap()).unwrap(),
        ops::Axes::All,
        false,
    )
    .unwrap();
    AdamOptimizer::new(1e-4).minimize(&loss).unwrap();
    let def = to_graph_def(&g).unwrap();
    let size = def.encode_to_vec().len();
    let mut uniform_elements = 0usize;
    for n in def.node.iter().filter(|n| n.op == "Const") {
        if let Some(Attr::Tensor(t)) = n.attr["value"].value.as_ref() {
            let dims = t.tensor_shape.as_ref().map_or(vec![], |s| s.dim.clone());
            let count: i64 = dims.iter().map(|d| d.size).product();
            assert!(t.tensor_content.len() <= 4 * count as usize);
            if t.tensor_content.is_empty() && count > 1 {
                uniform_elements += count as usize;
            }
        }
    }
    eprintln!(
        "GraphDef: {size} bytes; written in full, its uniform constants would add {} bytes",
        4 * uniform_elements
    );
    assert!(uniform_elements >= 2 * 3136 * 1024, "{uniform_elements}");
    assert!(size < 100_000, "{size} bytes");
    // Its constants import back: the slots' initial values are zeros of their shape.
    let consts = rustflow_proto::GraphDef {
        node: def
            .node
            .iter()
            .filter(|n| n.op == "Const")
            .cloned()
            .collect(),
        ..Default::default()
    };
    let g2 = Graph::new();
    import_graph_def(&g2, &consts, &ImportOptions::default()).unwrap();
    let sess = Session::new(&g2);
    let mut zeros = 0;
    for n in &consts.node {
        let v = sess
            .eval(
                &g2.tensor_by_name(&format!("{}:0", n.name)).unwrap(),
                &FeedDict::new(),
            )
            .unwrap();
        if v.shape() == [3136, 1024] {
            assert!(v.as_slice::<f32>().unwrap().iter().all(|&x| x == 0.0));
            zeros += 1;
        }
    }
    assert_eq!(zeros, 2);
}

/// A `TensorProto` with fewer values than elements repeats its last value (TensorFlow's
/// rule), for every dtype.
#[test]
fn short_tensor_protos_repeat_their_last_value() {
    let def = parse_graph_def(
        br#"node { name: "f" op: "Const" attr { key: "dtype" value { type: DT_FLOAT } }
          attr { key: "value" value { tensor { dtype: DT_FLOAT
            tensor_shape { dim { size: 2 } dim { size: 3 } } float_val: 1 float_val: -2.5 } } } }
        node { name: "i" op: "Const" attr { key: "dtype" value { type: DT_INT32 } }
          attr { key: "value" value { tensor { dtype: DT_INT32
            tensor_shape { dim { size: 4 } } int_val: 7 } } } }"#,
    )
    .unwrap();
    let g = Graph::new();
    import_graph_def(&g, &def, &ImportOptions::default()).unwrap();
    let sess = Session::new(&g);
    let f = sess
        .eval(&g.tensor_by_name("f:0").unwrap(), &FeedDict::new())
        .unwrap();
    assert_eq!(
        f,
        Value::new(&[2, 3], vec![1.0f32, -2.5, -2.5, -2.5, -2.5, -2.5]).unwrap()
    );
    let i = sess
        .eval(&g.tensor_by_name("i:0").unwrap(), &FeedDict::new())
        .unwrap();
    assert_eq!(i, Value::new(&[4], vec![7i32; 4]).unwrap());
    // Written back, each is as short as it can be: -0.0 and 0.0 differ.
    let v = Value::new(&[3], vec![0.0f32, -0.0, 0.0]).unwrap();
    let t = rustflow_interop::convert::tensor_proto(&v);
    assert_eq!(t.tensor_content.len(), 12);
    let z = rustflow_interop::convert::tensor_proto(&Value::new(&[3], vec![-0.0f32; 3]).unwrap());
    assert_eq!(
        (z.float_val.len(), z.float_val[0].to_bits()),
        (1, (-0.0f32).to_bits())
    );
}

/// A graph of the wave-2 ops, written as a GraphDef (attributes as `Const` inputs, as
/// TensorFlow writes them) and imported into a fresh graph, computes what it computed.
#[test]
fn wave2_ops_round_trip_through_graph_def() {
    let g = Graph::new();
    let x = ops::placeholder(&g, DType::F32, shape![2, 3, 4], "x");
    let i = ops::constant(&g, Value::new(&[2], vec![2i32, 0]).unwrap(), "i");
    let x4 = ops::reshape(&x, &[1, 2, 3, 4]).unwrap();
    let dw = ops::constant(
        &g,
        Value::new(&[1, 1, 4, 1], vec![0.5f32, -1.0, 2.0, 0.25]).unwrap(),
        "dw",
    );
    let outs = vec![
        ops::concat(&[&x, &x], 1).unwrap(),
        ops::transpose(&x, Some(&[2, 0, 1])).unwrap(),
        ops::transpose(&x, None).unwrap(),
        ops::tile(&x, &[1, 2, 1]).unwrap(),
        ops::pad(&x, &[[0, 1], [1, 0], [0, 0]], ops::PadMode::Constant, 0.5).unwrap(),
        ops::pad(&x, &[[0, 1], [1, 0], [0, 0]], ops::PadMode::Reflect, 0.0).unwrap(),
        ops::pad(&x, &[[0, 1], [1, 2], [0, 0]], ops::PadMode::Symmetric, 0.0).unwrap(),
        ops::expand_dims(&x, -1).unwrap(),
        ops::reverse(&x, &[1, 2]).unwrap(),
        ops::cumsum(&x, 1, true, true).unwrap(),
        ops::gather(&x, &i, 1).unwrap(),
        ops::slice(&x, &[0, 1, 0], &[1, -1, 2]).unwrap(),
        ops::strided_slice(
            &x,
            &[0, 2, 1],
            &[2, 0, 4],
            &[1, -1, 2],
            ops::SliceMasks {
                shrink_axis: 1,
                ..Default::default()
            },
        )
        .unwrap(),
        ops::split(&x, 2, 2).unwrap()[1].clone(),
        ops::split_v(&x, &[1, 3], 2).unwrap()[1].clone(),
        ops::stack(&[&x, &x], 1).unwrap(),
        ops::unstack(&x, 1, None).unwrap()[2].clone(),
        ops::squeeze(&ops::expand_dims(&x, 1).unwrap(), Some(&[1])).unwrap(),
        ops::one_hot(&i, 5, 2.0, -1.0, -1).unwrap(),
        ops::reduce_min(&x, ops::Axes::List(vec![1]), true).unwrap(),
        ops::reduce_prod(&x, ops::Axes::All, false).unwrap(),
        ops::cast(
            &ops::reduce_any(
                &ops::less(&x, &ops::zeros_like(&x).unwrap()).unwrap(),
                ops::Axes::List(vec![0]),
                false,
            )
            .unwrap(),
            DType::F32,
        )
        .unwrap(),
        ops::cast(&ops::argmin(&x, 1).unwrap(), DType::F32).unwrap(),
        ops::top_k(&x, 2).unwrap().0,
        ops::leaky_relu(&x, 0.3).unwrap(),
        ops::nn::local_response_normalization(&x4, 2, 1.0, 0.5, 0.75).unwrap(),
        ops::batch_matmul(&x, &x, false, true).unwrap(),
        ops::nn::depthwise_conv2d(&x4, &dw, [1, 1, 1, 1], ops::nn::Padding::Same, [1, 1, 1, 1])
            .unwrap(),
    ];
    let xv = Value::new(
        &[2, 3, 4],
        (0..24).map(|k| ((k * 7 % 11) as f32 - 5.0) * 0.3).collect(),
    )
    .unwrap();
    let sess = Session::new(&g);
    let feed = FeedDict::new().with(&x, xv.clone());
    let def = to_graph_def(&g).unwrap();
    if let Ok(dir) = std::env::var("RUSTFLOW_EXPORT_DIR") {
        // For scripts/tf_reads_rustflow.py: the graph, the input and rustflow's outputs.
        rustflow_interop::write_graph(&def, &dir, "wave2.pb", false).unwrap();
        let json = |v: &Value| serde_json::json!({"shape": v.shape(), "data": v.to_f64_vec()});
        let mut out = serde_json::Map::new();
        for y in &outs {
            out.insert(y.name(), json(&sess.eval(y, &feed).unwrap()));
        }
        let all = serde_json::json!({"x": json(&xv), "outputs": out});
        std::fs::write(format!("{dir}/wave2.json"), all.to_string()).unwrap();
    }
    let g2 = Graph::new();
    import_graph_def(&g2, &def, &ImportOptions::default()).unwrap();
    let sess2 = Session::new(&g2);
    let feed2 = FeedDict::new().with(g2.tensor_by_name("x:0").unwrap(), xv);
    for y in &outs {
        let want = sess.eval(y, &feed).unwrap();
        let y2 = g2.tensor_by_name(&y.name()).unwrap();
        let got = sess2
            .eval(&y2, &feed2)
            .unwrap_or_else(|e| panic!("{}: {e}", y.name()));
        assert_eq!(got, want, "{} ({})", y.name(), y.op().op_type());
    }
}

/// rustflow's fused gradient ops (`ReduceGrad`, `ReduceMaxGrad`, `SumToShape`, `XentGrad`,
/// `SoftmaxGrad`, `MaximumGrad`, `TopKGrad`, ...) are written as TensorFlow subgraphs: a
/// graph of gradients, written and imported into a fresh graph, computes the same gradients.
#[test]
fn gradient_ops_round_trip_through_graph_def() {
    let g = Graph::new();
    let x = ops::placeholder(&g, DType::F32, shape![?, 3, 4], "x");
    let labels = ops::placeholder(&g, DType::F32, shape![?, 3, 4], "labels");
    let b = ops::constant(
        &g,
        Value::new(&[4], vec![0.5f32, -1.0, 0.25, 2.0]).unwrap(),
        "b",
    );
    let col = ops::constant(
        &g,
        Value::new(&[3, 1], vec![0.1f32, -0.3, 0.7]).unwrap(),
        "col",
    );
    let a = |x: Vec<i64>| ops::Axes::List(x);
    let losses = vec![
        ops::reduce_sum(&x, a(vec![1]), false).unwrap(),
        ops::reduce_sum(&x, a(vec![0, 2]), true).unwrap(),
        ops::reduce_mean(&x, a(vec![-1]), false).unwrap(),
        ops::reduce_mean(&x, ops::Axes::All, false).unwrap(),
        ops::reduce_mean(&x, a(vec![0, 1]), true).unwrap(),
        ops::reduce_max(&x, a(vec![2]), false).unwrap(),
        ops::reduce_max(&ops::round(&x).unwrap(), a(vec![1]), true).unwrap(),
        ops::reduce_min(&x, ops::Axes::All, false).unwrap(),
        ops::add(&x, &b).unwrap(),
        ops::mul(&ops::sub(&col, &x).unwrap(), &b).unwrap(),
        ops::maximum(&x, &b).unwrap(),
        ops::minimum(&col, &x).unwrap(),
        ops::abs(&x).unwrap(),
        ops::relu6(&ops::mul(&x, &ops::constant(&g, 4f32, "four")).unwrap()).unwrap(),
        ops::elu(&x).unwrap(),
        ops::selu(&x).unwrap(),
        ops::tanh(&x).unwrap(),
        ops::sigmoid(&x).unwrap(),
        ops::nn::softmax(&x).unwrap(),
        ops::nn::log_softmax(&x).unwrap(),
        ops::nn::softmax_cross_entropy_with_logits(&ops::nn::softmax(&labels).unwrap(), &x)
            .unwrap(),
        ops::nn::softmax_cross_entropy_with_logits_v2(&labels, &x).unwrap(),
        ops::top_k(&x, 2).unwrap().0,
        ops::reshape(&x, &[-1, 6]).unwrap(),
    ];
    let mut grads = vec![];
    for (k, y) in losses.iter().enumerate() {
        // A weighting that differs per element, so every path's gradient is distinct.
        let weighted = match y.shape().rank() {
            Some(0) => y.clone(),
            _ => {
                let c = ops::cumsum(&ops::ones_like(y).unwrap(), -1, false, false).unwrap();
                ops::mul(y, &ops::cos(&c).unwrap()).unwrap()
            }
        };
        let loss = ops::reduce_sum(&weighted, ops::Axes::All, false).unwrap();
        let d = ops::gradients(&[&loss], &[&x, &labels], None).unwrap();
        for t in d.into_iter().flatten() {
            grads.push((k, t));
        }
    }
    let xv = Value::new(
        &[2, 3, 4],
        (0..24).map(|k| ((k * 7 % 11) as f32 - 5.0) * 0.6).collect(),
    )
    .unwrap();
    let lv = Value::new(&[2, 3, 4], (0..24).map(|k| (k % 5) as f32 * 0.2).collect()).unwrap();
    let sess = Session::new(&g);
    let feed = FeedDict::new()
        .with(&x, xv.clone())
        .with(&labels, lv.clone());
    let def = to_graph_def(&g).unwrap();
    let ours = [
        "ReduceGrad",
        "ReduceMaxGrad",
        "SumToShape",
        "XentGrad",
        "XentLabelsGrad",
        "SoftmaxGrad",
        "LogSoftmaxGrad",
        "MaximumGrad",
        "MinimumGrad",
        "AbsGrad",
        "TopKGrad",
        "ReshapeLike",
    ];
    let used: Vec<String> = g
        .node_ids()
        .into_iter()
        .map(|id| g.node(id).op.op_type().to_string())
        .filter(|t| ours.contains(&t.as_str()))
        .collect();
    for t in ours {
        assert!(used.iter().any(|u| u == t), "the graph has no {t}");
    }
    for n in &def.node {
        assert!(
            !ours.contains(&n.op.as_str()),
            "{} is written as {}",
            n.name,
            n.op
        );
    }
    let g2 = Graph::new();
    import_graph_def(&g2, &def, &ImportOptions::default()).unwrap();
    let sess2 = Session::new(&g2);
    let feed2 = FeedDict::new()
        .with(g2.tensor_by_name("x:0").unwrap(), xv)
        .with(g2.tensor_by_name("labels:0").unwrap(), lv);
    for (k, d) in &grads {
        let want = sess.eval(d, &feed).unwrap();
        let d2 = g2.tensor_by_name(&d.name()).unwrap();
        let got = sess2
            .eval(&d2, &feed2)
            .unwrap_or_else(|e| panic!("{} (loss {k}): {e}", d.name()));
        assert_eq!(got.shape(), want.shape(), "{}", d.name());
        let (w, gv) = (
            want.as_slice::<f32>().unwrap(),
            got.as_slice::<f32>().unwrap(),
        );
        for (p, q) in w.iter().zip(gv) {
            assert!(
                (p - q).abs() <= 1e-6 * (1.0 + p.abs()),
                "loss {k}, {} ({}): {w:?} vs {gv:?}",
                d.name(),
                d.op().op_type()
            );
        }
    }
}
