//! The gradient pass: walks the graph backwards from `ys` and appends ordinary nodes that
//! compute d(sum of ys)/dx for each x. Contributions of every path are summed.

use crate::{add_n, ones_like, zeros_like};
use rustflow_graph::{Error, GradContext, Graph, NodeId, Operation, Result, Tensor};
use std::collections::{BTreeSet, HashMap, HashSet};

/// Symbolic gradients of the sum of `ys` with respect to each of `xs` (`tf.gradients`).
///
/// `grad_ys` gives one upstream tensor per y (shaped like it); the default is ones.
/// The result has one entry per x: `None` where x has no differentiable path to any y
/// (through `argmax`, `equal`, `cast` from bool, `stop_gradient`, integer tensors).
/// The new nodes live under the name scope `gradients/` (`gradients_1/`, ... for later calls).
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{constant, gradients, mul};
/// let g = Graph::new();
/// let a = constant(&g, [1.0f32, 2.0], "a");
/// let c = mul(&a, &a).unwrap();
/// let da = gradients(&[&c], &[&a], None).unwrap();
/// assert!(da[0].is_some());
/// ```
pub fn gradients(
    ys: &[&Tensor],
    xs: &[&Tensor],
    grad_ys: Option<&[&Tensor]>,
) -> Result<Vec<Option<Tensor>>> {
    let Some(first) = ys.first() else {
        return Ok(vec![None; xs.len()]);
    };
    let g = first.graph().clone();
    for t in ys.iter().chain(xs) {
        g.check_owns(t.graph(), &t.to_string())?;
    }
    if let Some(gy) = grad_ys {
        if gy.len() != ys.len() {
            return Err(Error::Kernel(format!(
                "gradients: {} grad_ys for {} ys",
                gy.len(),
                ys.len()
            )));
        }
        for (y, d) in ys.iter().zip(gy) {
            g.check_owns(d.graph(), &d.to_string())?;
            if d.dtype() != y.dtype() || !d.shape().is_compatible(&y.shape()) {
                return Err(Error::Shape {
                    node: y.op().name(),
                    op: "gradients".into(),
                    msg: format!("grad_ys for {} must have its dtype and shape", y.name()),
                    inputs: vec![y.shape(), d.shape()],
                });
            }
        }
    }
    g.name_scope("gradients", |g| backprop(g, ys, xs, grad_ys))
}

fn backprop(
    g: &Graph,
    ys: &[&Tensor],
    xs: &[&Tensor],
    grad_ys: Option<&[&Tensor]>,
) -> Result<Vec<Option<Tensor>>> {
    // Tensors that depend on some x through data edges (node ids are a topological order).
    let mut reach: HashSet<(NodeId, usize)> = xs.iter().map(|x| (x.node(), x.index())).collect();
    let start = xs.iter().map(|x| x.node()).min();
    let end = ys.iter().map(|y| y.node()).max();
    let (Some(start), Some(end)) = (start, end) else {
        return Ok(vec![None; xs.len()]);
    };
    let mut touched: BTreeSet<NodeId> = BTreeSet::new();
    for id in g.node_ids().into_iter().filter(|&n| n > start && n <= end) {
        let hit = g.with_node(id, |d| {
            d.inputs
                .iter()
                .any(|i| reach.contains(i))
                .then_some(d.outputs.len())
        });
        if let Some(n) = hit {
            touched.insert(id);
            reach.extend((0..n).map(|k| (id, k)));
        }
    }
    // Of those, the nodes some y depends on.
    let mut relevant: BTreeSet<NodeId> = BTreeSet::new();
    let mut stack: Vec<NodeId> = ys.iter().map(|y| y.node()).collect();
    let mut seen = HashSet::new();
    while let Some(n) = stack.pop() {
        if !seen.insert(n) {
            continue;
        }
        if touched.contains(&n) {
            relevant.insert(n);
        }
        g.with_node(n, |d| stack.extend(d.inputs.iter().map(|i| i.0)));
    }

    let mut grads: HashMap<(NodeId, usize), Vec<Tensor>> = HashMap::new();
    for (i, y) in ys.iter().enumerate() {
        if !y.dtype().is_float() {
            continue;
        }
        let seed = match grad_ys {
            Some(gy) => gy[i].clone(),
            None => ones_like(y)?,
        };
        grads.entry((y.node(), y.index())).or_default().push(seed);
    }

    for &id in relevant.iter().rev() {
        let op = Operation::from_graph(g, id);
        let outputs = op.outputs();
        let upstream: Vec<Option<Tensor>> = outputs
            .iter()
            .map(|t| sum(grads.remove(&(t.node(), t.index())).unwrap_or_default()))
            .collect::<Result<_>>()?;
        if upstream.iter().all(Option::is_none) {
            continue;
        }
        let upstream = upstream
            .into_iter()
            .zip(&outputs)
            .map(|(dy, y)| dy.map_or_else(|| zeros_like(y), Ok))
            .collect::<Result<Vec<_>>>()?;
        let inputs = op.inputs();
        let node = g.node(id);
        let in_grads = g.name_scope(&format!("{}_grad", node.name), |g| {
            node.op.gradient(&GradContext {
                graph: g,
                op: op.clone(),
                inputs: inputs.clone(),
                outputs: outputs.clone(),
                grads: upstream,
                wanted: inputs
                    .iter()
                    .map(|x| x.dtype().is_float() && reach.contains(&(x.node(), x.index())))
                    .collect(),
            })
        })?;
        for (x, dx) in inputs.iter().zip(in_grads) {
            let key = (x.node(), x.index());
            if let Some(dx) = dx {
                if x.dtype().is_float() && reach.contains(&key) {
                    grads.entry(key).or_default().push(dx);
                }
            }
        }
    }
    xs.iter()
        .map(|x| {
            sum(grads
                .get(&(x.node(), x.index()))
                .cloned()
                .unwrap_or_default())
        })
        .collect()
}

fn sum(mut ts: Vec<Tensor>) -> Result<Option<Tensor>> {
    match ts.len() {
        0 => Ok(None),
        1 => Ok(ts.pop()),
        _ => add_n(&ts.iter().collect::<Vec<_>>()).map(Some),
    }
}
