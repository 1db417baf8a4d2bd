//! Fusion: one rewrite pass over a plan's nodes, driven by a pattern table (as Grappler's
//! remapper, whose fused ops carry the list of operations they absorbed).
//!
//! Ops declare what they compute ([`Capability`]: a producer, a bias add, an element-wise
//! function, a pool, an optimizer update) and never name their neighbours. Each row of
//! [`PATTERNS`] is a producer followed by optional stages in a fixed order; the pass grows a
//! chain from every producer through the stages its readers offer, and the row's `build`
//! turns the chain into one op. Whether an output may vanish inside a fused step (read once,
//! not fetched, fed or waited for) is the plan's rule, passed in as `absorbable`.
//!
//! A new fusion is a row here and, when no existing fused op covers it, a fused op beside
//! this file; a new activation or pool joins every row by declaring its capability.

mod conv2d;
mod epilogue;
mod matmul;

pub(crate) use conv2d::ConvAttrs;
pub(crate) use epilogue::{Epilogue, Step};
pub(crate) use matmul::MatMulAttrs;

use rustflow_graph::{Capability, Graph, NodeData, NodeId, Op};
use std::any::Any;
use std::collections::HashMap;
use std::sync::Arc;

/// A step a pattern may absorb after its producer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Stage {
    /// Any number of element-wise functions of the value (`Relu`, `Tanh`, ...) or of the
    /// value and an operand broadcast along it (`Add` or `BiasAdd` of a bias, `Mul` by a
    /// scale or mask, `Maximum`, ...).
    Elementwise,
    /// A pool over windows (`MaxPool`, `AvgPool`).
    Pool,
    /// An optimizer update whose gradient is the producer's output.
    Update,
}

/// What a chain absorbed after its producer.
#[derive(Default)]
pub(crate) struct Chain {
    /// The element-wise steps.
    pub epilogue: Epilogue,
    /// The pool's description.
    pub pool: Option<Box<dyn Any + Send + Sync>>,
    /// The update computing its gradient from the producer's inputs.
    pub update: Option<Arc<dyn Op>>,
    /// The op types absorbed after the producer, in order (`BiasAdd`, `Relu`, `MaxPool`).
    pub ops: Vec<&'static str>,
}

/// One row of the table: the stages that may follow a producer, in order, each optional,
/// `Elementwise` any number of times,
/// and the fused op of a producer (its description) and the chain absorbed, or `None` when
/// the row does not apply to that producer or chain.
struct Pattern {
    stages: &'static [Stage],
    build: fn(&(dyn Any + Send + Sync), Chain) -> Option<Arc<dyn Op>>,
}

/// The fusions, tried in order.
const PATTERNS: &[Pattern] = &[
    // conv2d → element-wise steps (bias, activation, ...) → pool: `FusedConv2D`.
    Pattern {
        stages: &[Stage::Elementwise, Stage::Pool],
        build: conv2d::build,
    },
    // matmul → element-wise steps: `FusedMatMul`.
    Pattern {
        stages: &[Stage::Elementwise],
        build: matmul::build,
    },
    // matmul(aᵀ, dy) → an optimizer's update: the update computes its gradient block by
    // block, and the gradient is never stored whole.
    Pattern {
        stages: &[Stage::Update],
        build: matmul::build_update,
    },
];

/// Rewrites `nodes` (the plan's, in topological order, with ids `ids`) by the pattern
/// table: a fused op takes the place of a chain's last node (keeping its id and name), with
/// the producer's inputs followed by each stage's other inputs and every absorbed node's
/// control inputs. `absorbable(j)` says whether node `j`'s only output may live inside a
/// fused step. Returns which nodes were absorbed (and leave the plan).
pub fn rewrite(
    graph: &Graph,
    ids: &[NodeId],
    nodes: &mut [NodeData],
    absorbable: &dyn Fn(usize) -> bool,
) -> Vec<bool> {
    let index: HashMap<NodeId, usize> = ids.iter().enumerate().map(|(i, &n)| (n, i)).collect();
    // The first reader of each node's output 0 (the only one where it matters).
    let mut reader: Vec<Option<usize>> = vec![None; nodes.len()];
    for (k, d) in nodes.iter().enumerate() {
        for &(src, i) in &d.inputs {
            if let (0, Some(&j)) = (i, index.get(&src)) {
                reader[j].get_or_insert(k);
            }
        }
    }
    let mut gone = vec![false; nodes.len()];
    // The node whose fused step took each absorbed node in.
    let mut into: Vec<usize> = (0..nodes.len()).collect();
    for p in 0..nodes.len() {
        let Capability::Producer(desc) = nodes[p].op.capability() else {
            continue;
        };
        for pattern in PATTERNS {
            let (mut cur, mut chain, mut extra) = (p, Chain::default(), vec![]);
            let mut absorbed = vec![];
            for &stage in pattern.stages {
                while let Some(k) = reader[cur].filter(|_| absorbable(cur)) {
                    let value = (ids[cur], 0);
                    let Some(rest) =
                        stage_inputs(graph, stage, &nodes[cur], value, &nodes[k], &mut chain)
                    else {
                        break;
                    };
                    extra.extend(rest);
                    chain.ops.push(nodes[k].op.op_type());
                    absorbed.push(cur);
                    cur = k;
                    if stage != Stage::Elementwise {
                        break;
                    }
                }
            }
            if cur == p {
                continue;
            }
            let Some(op) = (pattern.build)(&*desc, chain) else {
                continue;
            };
            let mut inputs = nodes[p].inputs.clone();
            inputs.extend(extra);
            let mut controls = nodes[cur].control_inputs.clone();
            for &j in &absorbed {
                controls.extend(nodes[j].control_inputs.iter().copied());
                gone[j] = true;
                into[j] = cur;
            }
            if let Capability::Update { var, .. } = nodes[cur].op.capability() {
                controls.extend(readers_of_old_value(ids, nodes, cur, var, inputs[1]));
            }
            let d = &mut nodes[cur];
            d.op = op;
            d.inputs = inputs;
            controls.sort();
            controls.dedup();
            d.control_inputs = controls;
            break;
        }
    }
    // A control input on a node that another chain absorbed (an update waiting for a
    // reader of the variable's old value) waits for the fused step that took it in.
    for k in (0..nodes.len()).filter(|&k| !gone[k]) {
        let mut controls: Vec<NodeId> = nodes[k]
            .control_inputs
            .iter()
            .map(|c| match index.get(c) {
                Some(&j) if gone[j] => {
                    let mut j = j;
                    while gone[j] {
                        j = into[j];
                    }
                    ids[j]
                }
                _ => *c,
            })
            .filter(|&c| c != ids[k])
            .collect();
        controls.sort();
        controls.dedup();
        nodes[k].control_inputs = controls;
    }
    gone
}

/// When node `next` can be `stage` applied to `value` (the output of `node`), records it in
/// `chain` and returns `next`'s other inputs; `None` otherwise.
fn stage_inputs(
    graph: &Graph,
    stage: Stage,
    node: &NodeData,
    value: (NodeId, usize),
    next: &NodeData,
    chain: &mut Chain,
) -> Option<Vec<(NodeId, usize)>> {
    let at = next.inputs.iter().position(|&x| x == value)?;
    if next.inputs.iter().filter(|&&x| x == value).count() != 1 {
        return None;
    }
    let others = || {
        let mut v = next.inputs.clone();
        v.remove(at);
        v
    };
    match (stage, next.op.capability()) {
        (Stage::Elementwise, Capability::Elementwise(f)) if next.inputs.len() == 1 => {
            chain.epilogue.steps.push(Step::Map(f));
            Some(vec![])
        }
        (Stage::Elementwise, Capability::Binary(f)) if next.inputs.len() == 2 => {
            let other = next.inputs[1 - at];
            let shape = &node.outputs[0].shape;
            let dims = shape.dims()?;
            let o_shape = graph.with_node(other.0, |d| d.outputs[other.1].shape.clone());
            let fits = match o_shape.dims()? {
                o if o == dims => true,
                &[c] if c.is_some() && Some(&c) == dims.last() => true,
                o => o.len() <= dims.len() && o.iter().all(|&d| d == Some(1)),
            };
            (fits && next.outputs[0].shape == *shape).then(|| {
                let swapped = at == 1;
                chain.epilogue.steps.push(Step::Binary { f, swapped });
                vec![other]
            })
        }
        (Stage::Pool, Capability::Pool(desc)) if next.inputs.len() == 1 => {
            chain.pool = Some(desc);
            Some(vec![])
        }
        (Stage::Update, Capability::Update { with_product, .. }) if at == 0 => {
            chain.update = Some(with_product);
            Some(others())
        }
        _ => None,
    }
}

/// The nodes before `update` that read both the variable `var` and the gradient factor
/// `dy` (a layer's input gradient `dy · Wᵀ`): a fused update waits for them, so that they
/// read the weights before they change, and the weights change in place, not in a copy.
fn readers_of_old_value(
    ids: &[NodeId],
    nodes: &[NodeData],
    update: usize,
    var: NodeId,
    dy: (NodeId, usize),
) -> Vec<NodeId> {
    (0..update)
        .filter(|&q| {
            let ins = &nodes[q].inputs;
            ins.contains(&(var, 0)) && ins.contains(&dy)
        })
        .map(|q| ids[q])
        .collect()
}
