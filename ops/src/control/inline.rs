//! Copies a function's computation into the function being built: how the gradients of
//! `If` and `While` recompute a branch or an iteration from its saved arguments.

use rustflow_graph::{Error, Function, Graph, NodeId, OpKind, Result, Tensor};
use std::collections::{HashMap, HashSet};

/// Builds a copy of the nodes of `f` that its results need, with argument `i` replaced by
/// `args[i]`, and returns the copies of the results. `owner` names the op that owns `f`
/// for errors: a stateful node (an assign, a random op) cannot be recomputed, so a gradient
/// through one is refused rather than computed from different values.
pub(crate) fn inline(g: &Graph, f: &Function, args: &[Tensor], owner: &str) -> Result<Vec<Tensor>> {
    let mut map: HashMap<(NodeId, usize), Tensor> = f
        .args
        .iter()
        .zip(args)
        .map(|(&a, t)| ((a, 0), t.clone()))
        .collect();
    let members: HashSet<NodeId> = f.nodes.iter().copied().collect();
    let mut needed = HashSet::new();
    let mut stack: Vec<NodeId> = f.results.iter().map(|r| r.0).collect();
    while let Some(n) = stack.pop() {
        if members.contains(&n) && !map.contains_key(&(n, 0)) && needed.insert(n) {
            g.with_node(n, |d| stack.extend(d.inputs.iter().map(|x| x.0)));
        }
    }
    for &n in f.nodes.iter().filter(|n| needed.contains(n)) {
        let d = g.node(n);
        if d.op.kind() == OpKind::Stateful {
            return Err(Error::InvalidArgument {
                node: owner.into(),
                op: d.op.op_type().into(),
                msg: format!(
                    "the gradient recomputes the forward pass, which runs the stateful node '{}'",
                    d.name
                ),
            });
        }
        let inputs = d
            .inputs
            .iter()
            .map(|x| {
                map.get(x).cloned().ok_or_else(|| {
                    Error::Kernel(format!("internal error: input of '{}' not copied", d.name))
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let base = d.name.rsplit('/').next().unwrap_or(&d.name);
        let copy = g.add_node(
            base,
            d.op.clone(),
            &inputs.iter().collect::<Vec<_>>(),
            &[],
            d.outputs.clone(),
        )?;
        for (i, t) in copy.outputs().into_iter().enumerate() {
            map.insert((n, i), t);
        }
    }
    f.results
        .iter()
        .map(|r| {
            map.get(r)
                .cloned()
                .ok_or_else(|| Error::Kernel(format!("internal error: result {r:?} not copied")))
        })
        .collect()
}
