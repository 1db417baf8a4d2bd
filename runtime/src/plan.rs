//! A plan: the pruned, ordered subgraph for one (fetches, feeds) signature, computed once.

use crate::Fetch;
use rustflow_graph::{Error, Function, Graph, NodeData, NodeId, Op, OpKind, Result};
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

/// One node to run.
pub(crate) struct Step {
    pub node: NodeId,
    pub name: String,
    pub op: Arc<dyn Op>,
    /// The slot of each input.
    pub inputs: Vec<usize>,
    /// The slot each output goes to; `None` when nothing reads it or a feed replaces it.
    pub outputs: Vec<Option<usize>>,
    /// Steps that wait for this one (data or control), without repeats, deepest first.
    pub successors: Vec<usize>,
    /// How many distinct steps this one waits for.
    pub n_deps: usize,
}

/// The identity of a run signature: what is fetched and what is fed.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub(crate) struct PlanKey {
    pub fetches: Vec<(NodeId, Option<usize>)>,
    pub feeds: Vec<(NodeId, usize)>,
}

impl PlanKey {
    pub fn new(fetches: &[Fetch], fed: &[(NodeId, usize)]) -> Self {
        let fetches = fetches
            .iter()
            .map(|f| match f {
                Fetch::Tensor(t) => (t.node(), Some(t.index())),
                Fetch::Operation(o) => (o.id(), None),
            })
            .collect();
        let mut feeds = fed.to_vec();
        feeds.sort();
        PlanKey { fetches, feeds }
    }
}

impl PlanKey {
    /// The signature of a call of `f`: its results and stateful nodes fetched, its
    /// arguments fed.
    pub fn for_function(f: &Function) -> Self {
        let mut feeds: Vec<(NodeId, usize)> = f.args.iter().map(|&a| (a, 0)).collect();
        feeds.sort();
        PlanKey {
            fetches: f
                .results
                .iter()
                .map(|&(n, i)| (n, Some(i)))
                .chain(f.stateful.iter().map(|&n| (n, None)))
                .collect(),
            feeds,
        }
    }
}

/// Runs the fusion pass ([`rustflow_ops::fusion::rewrite`]) over the plan's nodes, with
/// the one legality rule: a node's output may live inside a fused step only when the node
/// has one output, which exactly one node of the plan reads, which nothing fetches or
/// feeds, and no node waits for the node (a control edge). Absorbed nodes leave the plan.
fn fuse(
    graph: &Graph,
    order: Vec<NodeId>,
    mut nodes: Vec<NodeData>,
    key: &PlanKey,
    fed: &HashSet<(NodeId, usize)>,
) -> (Vec<NodeId>, Vec<NodeData>) {
    let mut reads: HashMap<(NodeId, usize), usize> = HashMap::new();
    let mut waited: HashSet<NodeId> = HashSet::new();
    for d in &nodes {
        for &x in &d.inputs {
            *reads.entry(x).or_default() += 1;
        }
        waited.extend(d.control_inputs.iter().copied());
    }
    let fetched: HashSet<NodeId> = key.fetches.iter().map(|(n, _)| *n).collect();
    let absorbable = |j: usize| {
        let out = (order[j], 0);
        nodes[j].outputs.len() == 1
            && reads.get(&out) == Some(&1)
            && !fetched.contains(&out.0)
            && !fed.contains(&out)
            && !waited.contains(&out.0)
    };
    let legal: Vec<bool> = (0..nodes.len()).map(absorbable).collect();
    let gone = rustflow_ops::fusion::rewrite(graph, &order, &mut nodes, &|j| legal[j]);
    order
        .into_iter()
        .zip(nodes)
        .zip(gone)
        .filter(|(_, gone)| !gone)
        .map(|(pair, _)| pair)
        .unzip()
}

/// Moves each urgent step ([`rustflow_graph::Op::urgent`]) to just after the last step it
/// depends on, so that a run in order starts its work as early as possible; the order stays
/// topological, and is unchanged without urgent steps.
fn hoist_urgent(mut order: Vec<NodeId>, mut nodes: Vec<NodeData>) -> (Vec<NodeId>, Vec<NodeData>) {
    for j in 0..order.len() {
        if !nodes[j].op.urgent() {
            continue;
        }
        let d = &nodes[j];
        let after = order[..j]
            .iter()
            .rposition(|n| d.inputs.iter().any(|x| x.0 == *n) || d.control_inputs.contains(n))
            .map_or(0, |p| p + 1);
        let id = order.remove(j);
        order.insert(after, id);
        let d = nodes.remove(j);
        nodes.insert(after, d);
    }
    (order, nodes)
}

/// The pruned subgraph in topological order, with its value slots.
pub(crate) struct Plan {
    pub steps: Vec<Step>,
    pub n_slots: usize,
    /// How many times each slot is read; fetched slots count one extra read, so they are
    /// never freed.
    pub readers: Vec<usize>,
    /// The slot of each fed tensor.
    pub feed_slots: HashMap<(NodeId, usize), usize>,
    /// The slot of each fetch (`None` for an operation).
    pub fetch_slots: Vec<Option<usize>>,
    /// Steps with nothing to wait for.
    pub roots: Vec<usize>,
    /// Variables read (directly or by an update): each must be initialized before the run
    /// starts.
    pub var_checks: Vec<(NodeId, String)>,
    /// How long the last run took, in microseconds (0 before the first).
    pub last_run_us: std::sync::atomic::AtomicU64,
}

impl Plan {
    /// Prunes `graph` to what `key.fetches` need, cut at `key.feeds`.
    pub fn build(graph: &Graph, key: &PlanKey) -> Result<Plan> {
        let fed: HashSet<(NodeId, usize)> = key.feeds.iter().copied().collect();
        let mut needed: BTreeSet<NodeId> = BTreeSet::new();
        let mut stack: Vec<NodeId> = key
            .fetches
            .iter()
            .filter(|(n, i)| i.is_none_or(|i| !fed.contains(&(*n, i))))
            .map(|(n, _)| *n)
            .collect();
        while let Some(n) = stack.pop() {
            if !needed.insert(n) {
                continue;
            }
            graph.with_node(n, |d| {
                stack.extend(d.inputs.iter().filter(|x| !fed.contains(x)).map(|x| x.0));
                stack.extend(d.control_inputs.iter().copied());
            });
        }
        // Node ids grow with creation and every input exists before its consumer, so id order
        // is a topological order.
        let order: Vec<NodeId> = needed.iter().copied().collect();
        let nodes: Vec<_> = order.iter().map(|&n| graph.node(n)).collect();
        for (id, d) in order.iter().zip(&nodes) {
            if d.op.kind() == OpKind::Placeholder {
                let _ = id;
                return Err(Error::MissingFeed {
                    node: d.name.clone(),
                    dtype: d.outputs[0].dtype,
                    shape: d.outputs[0].shape.clone(),
                });
            }
        }

        let (order, nodes) = fuse(graph, order, nodes, key, &fed);
        let (order, nodes) = hoist_urgent(order, nodes);

        let mut slot_of: HashMap<(NodeId, usize), usize> = HashMap::new();
        let mut n_slots = 0;
        let mut new_slot = |k: (NodeId, usize), slot_of: &mut HashMap<(NodeId, usize), usize>| {
            *slot_of.entry(k).or_insert_with(|| {
                n_slots += 1;
                n_slots - 1
            })
        };
        let mut feed_slots = HashMap::new();
        for &f in &key.feeds {
            feed_slots.insert(f, new_slot(f, &mut slot_of));
        }
        let step_of: HashMap<NodeId, usize> =
            order.iter().enumerate().map(|(i, &n)| (n, i)).collect();
        let mut steps = Vec::with_capacity(order.len());
        for (&id, d) in order.iter().zip(&nodes) {
            let inputs = d
                .inputs
                .iter()
                .map(|&x| new_slot(x, &mut slot_of))
                .collect();
            steps.push(Step {
                node: id,
                name: d.name.clone(),
                op: d.op.clone(),
                inputs,
                outputs: vec![None; d.outputs.len()],
                successors: vec![],
                n_deps: 0,
            });
        }
        // A computed output gets the slot its readers use, unless a feed replaces it.
        for step in &mut steps {
            for (i, o) in step.outputs.iter_mut().enumerate() {
                let k = (step.node, i);
                if !fed.contains(&k) {
                    *o = slot_of.get(&k).copied();
                }
            }
        }
        let mut fetch_slots = Vec::new();
        for &(n, i) in &key.fetches {
            fetch_slots.push(i.map(|i| new_slot((n, i), &mut slot_of)));
        }
        // Fetched outputs created after the steps were laid out need their slot recorded.
        for (&(n, i), slot) in key.fetches.iter().zip(&fetch_slots) {
            if let (Some(i), Some(slot)) = (i, slot) {
                if !fed.contains(&(n, i)) {
                    if let Some(&s) = step_of.get(&n) {
                        steps[s].outputs[i] = Some(*slot);
                    }
                }
            }
        }
        let mut readers = vec![0usize; n_slots];
        for s in &steps {
            for &i in &s.inputs {
                readers[i] += 1;
            }
        }
        for s in fetch_slots.iter().flatten() {
            readers[*s] += 1;
        }
        // Dependencies between steps.
        let mut preds: Vec<BTreeSet<usize>> = vec![BTreeSet::new(); steps.len()];
        for (k, d) in nodes.iter().enumerate() {
            for x in d.inputs.iter().filter(|x| !fed.contains(x)) {
                preds[k].insert(step_of[&x.0]);
            }
            for c in &d.control_inputs {
                preds[k].insert(step_of[c]);
            }
        }
        for (k, p) in preds.iter().enumerate() {
            steps[k].n_deps = p.len();
            for &q in p {
                steps[q].successors.push(k);
            }
        }
        // Successors deepest first (the longest chain of steps still to come after them):
        // the executor runs the first ready one on the current thread and hands the others
        // to the pool, so the critical path (an input gradient feeding the layers below)
        // goes ahead of side branches (a weight gradient feeding only its update).
        let mut depth = vec![0usize; steps.len()];
        for k in (0..steps.len()).rev() {
            depth[k] = steps[k]
                .successors
                .iter()
                .map(|&s| depth[s] + 1)
                .max()
                .unwrap_or(0);
        }
        let urgent: Vec<bool> = steps.iter().map(|s| s.op.urgent()).collect();
        for step in &mut steps {
            step.successors
                .sort_by_key(|&s| (!urgent[s], std::cmp::Reverse(depth[s])));
        }
        let mut roots: Vec<usize> = (0..steps.len()).filter(|&k| steps[k].n_deps == 0).collect();
        roots.sort_by_key(|&s| std::cmp::Reverse(depth[s]));

        // Every variable the plan reads must hold a value before anything runs.
        let mut checked = HashSet::new();
        let mut var_checks = Vec::new();
        for s in &steps {
            let mut vars = s.op.reads_variables();
            if s.op.kind() == OpKind::Variable && vars.is_empty() {
                vars.push(s.node);
            }
            for v in vars {
                if checked.insert(v) {
                    var_checks.push((v, graph.with_node(v, |d| d.name.clone())));
                }
            }
        }
        Ok(Plan {
            steps,
            n_slots,
            readers,
            feed_slots,
            fetch_slots,
            roots,
            var_checks,
            last_run_us: Default::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rustflow_graph::{KernelContext, Value};
    use rustflow_ops::{constant, TensorOps};

    /// Hands its input on; urgent as a collective's hand-off.
    #[derive(Debug)]
    struct HandOff;

    impl Op for HandOff {
        fn op_type(&self) -> &'static str {
            "HandOff"
        }
        fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
            Ok(vec![ctx.take_input(0)])
        }
        fn urgent(&self) -> bool {
            true
        }
    }

    #[test]
    fn an_urgent_step_runs_right_after_its_inputs() -> Result<()> {
        let g = Graph::new();
        let x = constant(&g, 2.0f32, "x");
        let grad = x.square()?;
        let mut rest = grad.clone();
        for _ in 0..3 {
            rest = rest.exp()?;
        }
        let spec = grad.spec();
        let hand = g.add_node("hand", Arc::new(HandOff), &[&grad], &[], vec![spec])?;
        let sum = rest.add(&hand.output(0)?)?;
        let plan = Plan::build(&g, &PlanKey::new(&[Fetch::Tensor(sum)], &[]))?;
        let names: Vec<&str> = plan.steps.iter().map(|s| s.name.as_str()).collect();
        let at = |n: &str| names.iter().position(|m| m.starts_with(n)).unwrap();
        assert_eq!(at("hand"), at("Square") + 1, "{names:?}");
        assert!(at("Exp") > at("hand"), "{names:?}");
        let square = plan
            .steps
            .iter()
            .find(|s| s.name.starts_with("Square"))
            .unwrap();
        assert_eq!(square.successors[0], at("hand"), "{names:?}");
        Ok(())
    }
}
