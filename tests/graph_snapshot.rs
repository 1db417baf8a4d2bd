//! What the graph looks like: the nodes `minimize()` adds for the tutorial's softmax
//! regression, and the DOT export.

use rustflow::nn;
use rustflow::prelude::*;

#[test]
fn the_softmax_regression_graph_with_its_training_step() -> Result<()> {
    let g = Graph::new();
    let x = g.placeholder(F32, shape![?, 784]);
    let y_ = g.placeholder(F32, shape![?, 10]);
    let w = g.variable(&g.zeros(&[784, 10])?, "W")?;
    let b = g.variable(&g.zeros(&[10])?, "b")?;
    let y = nn::softmax(&x.matmul(&w)?.add(&b)?)?;
    let cross_entropy = y_.mul(&y.log()?)?.reduce_sum(None)?.neg()?;
    let train_step = train::GradientDescentOptimizer::new(0.01).minimize(&cross_entropy)?;
    let init = g.global_variables_initializer()?;
    assert_eq!(
        (train_step.name(), init.name()),
        ("GradientDescent".into(), "init".into())
    );
    insta::assert_snapshot!("softmax_regression_graph", g.to_string());
    Ok(())
}

#[test]
fn dot_export_names_nodes_types_and_shapes() -> Result<()> {
    let g = Graph::new();
    let x = g.placeholder_named(F32, shape![?, 2], "x");
    let v = g.variable(&g.constant([1.0f32, 2.0]), "v")?;
    let y = x.add(&v)?;
    let _ = rustflow::group(&g, &[&y.op()], "after")?;
    insta::assert_snapshot!(g.to_dot(), @r#"
    digraph rustflow {
      node [shape=box, fontname="Helvetica"];
      n0 [label="x\nPlaceholder"];
      n1 [label="Const\nConst"];
      n2 [label="v\nVariableV2"];
      n3 [label="v/Assign\nAssign"];
      n4 [label="add\nAdd"];
      n5 [label="after\nNoOp"];
      n1 -> n3 [label="float32 [2]"];
      n0 -> n4 [label="float32 [?,2]"];
      n2 -> n4 [label="float32 [2]"];
      n4 -> n5 [style=dashed];
    }
    "#);
    Ok(())
}
