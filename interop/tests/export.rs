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
