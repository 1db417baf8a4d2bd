//! The array ops' errors (bad axis, index, mask, attribute; each names node, op and
//! shapes), run-time shapes the build did not know, and values against hand-computed ones.

use rustflow_graph::{shape, DType, Error, Graph, Tensor, Value};
use rustflow_ops::*;
use rustflow_runtime::{FeedDict, Session};

fn run(t: &Tensor, feeds: &FeedDict) -> rustflow_graph::Result<Value> {
    Session::new(t.graph()).eval(t, feeds)
}

fn f32s(v: &Value) -> Vec<f32> {
    v.as_slice::<f32>().unwrap().to_vec()
}

/// A build error naming the node and op, with `what` in its message.
fn build_err(r: rustflow_graph::Result<impl std::fmt::Debug>, op: &str, what: &str) {
    let e = r.expect_err("an error");
    let text = e.to_string();
    match &e {
        Error::Shape { op: o, .. }
        | Error::InvalidArgument { op: o, .. }
        | Error::Type { op: o, .. } => {
            assert_eq!(o, op, "{text}")
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert!(text.contains(what), "{text}");
}

#[test]
fn build_errors_name_node_op_and_shapes() {
    let g = Graph::new();
    let x = placeholder(&g, DType::F32, shape![2, 3], "x");
    let y = placeholder(&g, DType::F32, shape![4, 4], "y");
    let i = placeholder(&g, DType::I32, shape![2, 3], "i");
    build_err(
        concat(&[&x, &y], 0),
        "ConcatV2",
        "Dimension 1 in both shapes must be equal",
    );
    build_err(
        concat(&[&x, &x], 2),
        "ConcatV2",
        "Expected axis in range [-2, 2), but got 2",
    );
    build_err(concat(&[&x, &i], 0), "ConcatV2", "does not match type");
    build_err(stack(&[&x, &y], 0), "Pack", "must be equal");
    build_err(split(&x, 2, 1), "Split", "evenly divide");
    build_err(split_v(&x, &[1, -1, -1], 1), "SplitV", "only be one -1");
    build_err(split_v(&x, &[2, 2], 1), "SplitV", "Determined shape must");
    build_err(unstack(&x, 0, Some(3)), "Unpack", "num = 3");
    build_err(squeeze(&x, Some(&[0])), "Squeeze", "Can not squeeze dim[0]");
    build_err(expand_dims(&x, 3), "ExpandDims", "expand dim index 3");
    build_err(
        slice(&x, &[1, 0], &[2, 3]),
        "Slice",
        "Expected size[0] in [0, 1], but got 2",
    );
    let m = SliceMasks::default();
    build_err(
        strided_slice(&x, &[0, 0], &[2, 3], &[1, 0], m),
        "StridedSlice",
        "strides[1] must be non-zero",
    );
    let shrink = SliceMasks {
        shrink_axis: 1,
        ..m
    };
    build_err(
        strided_slice(&x, &[2], &[3], &[1], shrink),
        "StridedSlice",
        "slice index 2 out of bounds",
    );
    let two = SliceMasks { ellipsis: 3, ..m };
    build_err(
        strided_slice(&x, &[0, 0], &[0, 0], &[1, 1], two),
        "StridedSlice",
        "Multiple ellipses",
    );
    build_err(
        strided_slice(&x, &[0, 0, 0], &[1, 1, 1], &[1, 1, 1], m),
        "StridedSlice",
        "Index out of range",
    );
    build_err(
        pad(&x, &[[0, 0], [3, 0]], PadMode::Reflect, 0.0),
        "MirrorPad",
        "less than the dimension size",
    );
    build_err(
        pad(&x, &[[0, 0], [4, 0]], PadMode::Symmetric, 0.0),
        "MirrorPad",
        "no greater than",
    );
    build_err(
        pad(&x, &[[0, 0]], PadMode::Constant, 0.0),
        "Pad",
        "rank of inputs",
    );
    build_err(tile(&x, &[2]), "Tile", "vector of length 2");
    build_err(reverse(&x, &[1, -1]), "ReverseV2", "more than once");
    build_err(gather(&x, &i, 2), "GatherV2", "Expected axis in range");
    build_err(
        gather(&x, &x, 0),
        "GatherV2",
        "not in list of allowed values",
    );
    build_err(
        gather_nd(&x, &placeholder(&g, DType::I32, shape![5, 3], "t")),
        "GatherNd",
        "indices.shape[-1]",
    );
    build_err(
        one_hot(&i, 4, 1.0, 0.0, -2),
        "OneHot",
        "Expected axis to be -1",
    );
    let c = placeholder(&g, DType::Bool, shape![3], "c");
    build_err(select(&c, &x, &x), "Select", "condition must be");
    build_err(
        select(&placeholder(&g, DType::Bool, shape![2, 3], "c2"), &x, &y),
        "Select",
        "same shape",
    );
    build_err(fill_tensor(&[2], &x), "Fill", "rank 0");
    build_err(range(&g, 0.0, 5.0, 0.0, DType::I32), "Range", "delta != 0");
    build_err(
        range(&g, 5.0, 0.0, 1.0, DType::I32),
        "Range",
        "start <= limit",
    );
    build_err(
        cumsum(&x, 2, false, false),
        "Cumsum",
        "Expected axis in range",
    );
    build_err(boolean_mask(&x, &c, 0), "BooleanMask", "mask's shape");
    build_err(shape(&x, DType::F32), "Shape", "out_type");
    // The error names the node.
    let e = concat(&[&x, &y], 0).unwrap_err().to_string();
    assert!(e.contains("'concat'") && e.contains("[2,3], [4,4]"), "{e}");
}

#[test]
fn run_time_errors_name_the_node() {
    let g = Graph::new();
    let p = placeholder(&g, DType::F32, shape![?, 2], "params");
    let ids = placeholder(&g, DType::I64, shape![?], "ids");
    let y = gather(&p, &ids, 0).unwrap();
    let pv = Value::new(&[3, 2], vec![1f32, 2., 3., 4., 5., 6.]).unwrap();
    let mut f = FeedDict::new();
    f.insert(&p, pv.clone());
    f.insert(&ids, Value::new(&[3], vec![2i64, 3, 0]).unwrap());
    let e = run(&y, &f).unwrap_err();
    let text = e.to_string();
    assert!(
        matches!(e, Error::InvalidArgument { ref node, .. } if node == &y.op().name()),
        "{text}"
    );
    assert!(
        text.contains("indices[1] = 3 is not in [0, 3)") && text.contains("GatherV2"),
        "{text}"
    );
    let mut f = FeedDict::new();
    f.insert(&p, pv);
    f.insert(&ids, Value::new(&[2], vec![2i64, 0]).unwrap());
    assert_eq!(f32s(&run(&y, &f).unwrap()), vec![5., 6., 1., 2.]);

    // Shapes the build did not know.
    let a = placeholder(&g, DType::F32, shape![?, ?], "a");
    let b = placeholder(&g, DType::F32, shape![?, ?], "b");
    let cat = concat(&[&a, &b], 1).unwrap();
    let mut f = FeedDict::new();
    f.insert(&a, Value::new(&[2, 1], vec![1f32, 2.]).unwrap());
    f.insert(&b, Value::new(&[3, 1], vec![1f32, 2., 3.]).unwrap());
    let text = run(&cat, &f).unwrap_err().to_string();
    assert!(
        text.contains("shape[0] = [2,1] vs. shape[1] = [3,1]") && text.contains("ConcatV2"),
        "{text}"
    );
    let sq = squeeze(&a, Some(&[0])).unwrap();
    let text = run(&sq, &f).unwrap_err().to_string();
    assert!(
        text.contains("Can not squeeze dim[0], expected a dimension of 1, got 2"),
        "{text}"
    );
    let m = SliceMasks::default();
    let ss = strided_slice(
        &a,
        &[5, 0],
        &[6, 1],
        &[1, 1],
        SliceMasks {
            shrink_axis: 1,
            ..m
        },
    )
    .unwrap();
    let text = run(&ss, &f).unwrap_err().to_string();
    assert!(
        text.contains("slice index 5 out of bounds") && text.contains("StridedSlice"),
        "{text}"
    );
    let nd = gather_nd(
        &a,
        &constant(&g, Value::new(&[1, 2], vec![0i32, 7]).unwrap(), ""),
    )
    .unwrap();
    let text = run(&nd, &f).unwrap_err().to_string();
    assert!(
        text.contains("does not index into param shape [2,1]"),
        "{text}"
    );
    let parts = split(&a, 2, 0).unwrap();
    let mut f3 = FeedDict::new();
    f3.insert(&a, Value::new(&[3, 1], vec![1f32, 2., 3.]).unwrap());
    let text = run(&parts[0], &f3).unwrap_err().to_string();
    assert!(
        text.contains("evenly divide") && text.contains("[3,1]"),
        "{text}"
    );
}

#[test]
fn values_by_hand() {
    let g = Graph::new();
    let x = constant(
        &g,
        Value::new(&[2, 5], (0..10).map(|i| i as f32).collect()).unwrap(),
        "x",
    );
    let e = |t: Tensor| f32s(&run(&t, &FeedDict::new()).unwrap());
    // x[:, 4::-2]
    let m = SliceMasks {
        begin: 1,
        end: 3,
        ..Default::default()
    };
    assert_eq!(
        e(strided_slice(&x, &[0, 4], &[0, 0], &[1, -2], m).unwrap()),
        vec![4., 2., 0., 9., 7., 5.]
    );
    // x[-1, -2:]
    let m = SliceMasks {
        shrink_axis: 1,
        end: 2,
        ..Default::default()
    };
    assert_eq!(
        e(strided_slice(&x, &[-1, -2], &[0, 0], &[1, 1], m).unwrap()),
        vec![8., 9.]
    );
    let r = constant(&g, [1f32, 2., 3.], "r");
    assert_eq!(
        e(pad(&r, &[[2, 2]], PadMode::Reflect, 0.0).unwrap()),
        vec![3., 2., 1., 2., 3., 2., 1.]
    );
    assert_eq!(
        e(pad(&r, &[[2, 2]], PadMode::Symmetric, 0.0).unwrap()),
        vec![2., 1., 1., 2., 3., 3., 2.]
    );
    assert_eq!(
        e(pad(&r, &[[1, 0]], PadMode::Constant, 9.0).unwrap()),
        vec![9., 1., 2., 3.]
    );
    assert_eq!(e(cumsum(&r, 0, true, true).unwrap()), vec![5., 3., 0.]);
    assert_eq!(e(tile(&r, &[2]).unwrap()), vec![1., 2., 3., 1., 2., 3.]);
    assert_eq!(
        e(one_hot(&constant(&g, [2i32, -1], ""), 3, 1.0, 0.0, 0).unwrap()),
        vec![0., 0., 0., 0., 1., 0.]
    );
    let f = run(
        &range(&g, 0.0, 1.0, 0.1, DType::F32).unwrap(),
        &FeedDict::new(),
    )
    .unwrap();
    assert_eq!(f.as_slice::<f32>().unwrap()[9], 0.900_000_04);
    let ir = run(
        &range(&g, 10.0, 2.0, -3.0, DType::I32).unwrap(),
        &FeedDict::new(),
    )
    .unwrap();
    assert_eq!(ir.as_slice::<i32>().unwrap(), &[10, 7, 4]);
    let s = run(&shape(&x, DType::I64).unwrap(), &FeedDict::new()).unwrap();
    assert_eq!(s.as_slice::<i64>().unwrap(), &[2, 5]);
}
