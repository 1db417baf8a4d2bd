//! Import-time folding and run-time attributes: rustflow's builders take shapes, axes and
//! sizes as build-time attributes, TensorFlow's ops as tensors. An attribute input that is a
//! `Const`, or that [`fold`] can compute from constants and static shapes, is read at import.
//! Otherwise (a `Reshape` to `Shape(x)` of a tensor with an unknown batch size) the node
//! becomes a [`Deferred`] op: its kernel builds the row's rustflow op for each run's values
//! (cached by the attribute values and the input shapes) and runs it.

use crate::import::{Build, NodeImport};
use rustflow_graph::{
    DType, Error, Function, FunctionRunner, GradContext, Graph, KernelContext, NodeId, Op, OpKind,
    Operation, Resources, Result, SessionOptions, Tensor, Value,
};
use rustflow_ops::Const;
use rustflow_proto::NodeDef;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

/// A function runner for folding at import: folded ops are pure and call no functions.
struct NoFunctions;

impl FunctionRunner for NoFunctions {
    fn call(&self, _f: &Function, _args: Vec<Value>) -> Result<Vec<Value>> {
        Err(Error::Kernel("no functions run while importing".into()))
    }
}

/// The value of `t` when it can be computed at import: a `Const`; `Shape`, `Size` or `Rank`
/// of a tensor whose static shape answers it; or a pure op whose inputs all fold (TensorFlow's
/// constant folding). `None` otherwise.
pub fn fold(t: &Tensor) -> Option<Value> {
    let g = t.graph();
    let node = g.node(t.node());
    if let Some(c) = node.op.as_any().downcast_ref::<Const>() {
        return Some(c.value().clone());
    }
    if let ("Shape" | "Size" | "Rank", Some(&(src, k))) = (node.op.op_type(), node.inputs.first()) {
        let shape = g.node(src).outputs[k].shape.clone();
        let rank = shape.rank()?;
        let (dims, data): (Vec<usize>, Vec<i64>) = match node.op.op_type() {
            "Rank" => (vec![], vec![rank as i64]),
            "Size" => (vec![], vec![shape.num_elements()? as i64]),
            _ => (
                vec![rank],
                shape.to_known()?.iter().map(|&d| d as i64).collect(),
            ),
        };
        return int_value(t.dtype(), &dims, data);
    }
    if node.op.kind() != OpKind::Pure || node.outputs.iter().any(|o| o.shape.rank().is_none()) {
        return None;
    }
    let inputs = node
        .inputs
        .iter()
        .map(|&(src, k)| fold(&Operation::from_graph(g, src).output(k).ok()?))
        .collect::<Option<Vec<_>>>()?;
    // Folding computes small shape vectors; anything big stays in the graph.
    if inputs.iter().any(|v| v.len() > 1 << 16) {
        return None;
    }
    let resources = Resources::with_options(SessionOptions::default());
    let mut ctx = KernelContext {
        inputs,
        node: t.node(),
        resources: &resources,
        functions: &NoFunctions,
    };
    node.op.compute(&mut ctx).ok()?.into_iter().nth(t.index())
}

/// An int32 (or else int64) value of `dims` holding `data`.
pub fn int_value(dtype: DType, dims: &[usize], data: Vec<i64>) -> Option<Value> {
    match dtype {
        DType::I32 => Value::new(dims, data.iter().map(|&d| d as i32).collect()).ok(),
        _ => Value::new(dims, data).ok(),
    }
}

/// A row's rustflow nodes, built in a graph of their own for one set of attribute values and
/// input shapes.
struct Compiled {
    graph: Graph,
    /// The placeholder standing for each input that is not an attribute.
    feeds: Vec<(NodeId, usize)>,
    /// The tensors standing for the node's outputs.
    outputs: Vec<Tensor>,
}

/// What a compiled row is cached by: each input's dtype and shape, and the values of the
/// inputs read as attributes.
type Key = Vec<(DType, Vec<usize>, Option<Vec<u64>>)>;

/// A TensorFlow node whose attribute inputs are computed at run time: its kernel builds the
/// row's rustflow op for the values of each run and runs it. Not differentiable (TensorFlow's
/// graphs carry their gradients as nodes).
pub struct Deferred {
    op_type: &'static str,
    def: NodeDef,
    build: Build,
    /// The inputs that the row reads as attributes (found as it asks for them).
    attr_inputs: Mutex<Vec<usize>>,
    cache: Mutex<HashMap<Key, Arc<Compiled>>>,
}

impl std::fmt::Debug for Deferred {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Deferred({} '{}')", self.op_type, self.def.name)
    }
}

impl Deferred {
    /// The deferred form of the node `def` (of the table's op type `op_type`) whose row asked
    /// for input `first` as an attribute.
    pub fn new(op_type: &'static str, def: NodeDef, build: Build, first: usize) -> Self {
        Deferred {
            op_type,
            def,
            build,
            attr_inputs: Mutex::new(vec![first]),
            cache: Mutex::new(HashMap::new()),
        }
    }

    fn error(&self, msg: String) -> Error {
        Error::InvalidArgument {
            node: self.def.name.clone(),
            op: self.def.op.clone(),
            msg,
        }
    }

    /// Builds the row for these input values, asking again with each further input the row
    /// needs as an attribute.
    fn compile(&self, values: &[Value]) -> Result<Compiled> {
        loop {
            let attrs = self
                .attr_inputs
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            let graph = Graph::new();
            let mut feeds = vec![];
            let inputs: Vec<Tensor> = values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    if attrs.contains(&i) {
                        rustflow_ops::constant(&graph, v.clone(), "Const")
                    } else {
                        let p = rustflow_ops::placeholder(
                            &graph,
                            v.dtype(),
                            rustflow_graph::Shape::known(v.shape()),
                            "Placeholder",
                        );
                        feeds.push((p.node(), i));
                        p
                    }
                })
                .collect();
            let variables = HashMap::new();
            let ctx = NodeImport::new(&graph, &self.def, inputs, None, &variables);
            match (self.build)(&ctx) {
                Ok(imported) => {
                    return Ok(Compiled {
                        graph,
                        feeds,
                        outputs: imported.outputs,
                    })
                }
                Err(e) => match ctx.needs_value() {
                    Some(j) if !attrs.contains(&j) => self
                        .attr_inputs
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .push(j),
                    _ => return Err(e),
                },
            }
        }
    }

    fn key(&self, values: &[Value]) -> Key {
        let attrs = self
            .attr_inputs
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let bits = attrs
                    .contains(&i)
                    .then(|| v.to_f64_vec().iter().map(|x| x.to_bits()).collect());
                (v.dtype(), v.shape().to_vec(), bits)
            })
            .collect()
    }
}

impl Op for Deferred {
    fn op_type(&self) -> &'static str {
        self.op_type
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let key = self.key(&ctx.inputs);
        let cached = self
            .cache
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&key)
            .cloned();
        let compiled = match cached {
            Some(c) => c,
            None => {
                let c = Arc::new(self.compile(&ctx.inputs)?);
                // The key again: compiling may have found more attribute inputs.
                let key = self.key(&ctx.inputs);
                let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
                cache.insert(key, c.clone());
                c
            }
        };
        let g = &compiled.graph;
        let mut values: HashMap<NodeId, Vec<Value>> = compiled
            .feeds
            .iter()
            .map(|&(p, i)| (p, vec![ctx.inputs[i].clone()]))
            .collect();
        for id in g.node_ids() {
            if values.contains_key(&id) {
                continue;
            }
            let node = g.node(id);
            let inputs = node
                .inputs
                .iter()
                .map(|&(src, k)| values[&src][k].clone())
                .collect();
            let mut inner = KernelContext {
                inputs,
                node: ctx.node,
                resources: ctx.resources,
                functions: ctx.functions,
            };
            let out = node
                .op
                .compute(&mut inner)
                .map_err(|e| self.error(format!("{} ('{}'): {e}", node.op.op_type(), node.name)))?;
            values.insert(id, out);
        }
        Ok(compiled
            .outputs
            .iter()
            .map(|t| values[&t.node()][t.index()].clone())
            .collect())
    }
    fn gradient(&self, _gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        Err(self.error(
            "no gradient: the node's attributes are computed at run time (TensorFlow's graphs \
             carry their gradients as nodes)"
                .into(),
        ))
    }
    fn attrs(&self) -> String {
        format!(
            "run-time attribute inputs {:?}",
            self.attr_inputs
                .lock()
                .map(|a| a.clone())
                .unwrap_or_default()
        )
    }
}
