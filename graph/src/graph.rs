//! The graph: nodes, unique names, name scopes, control dependencies, variables, DOT export.

use crate::{
    Arg, CollectionItem, DType, Error, Function, Op, OpKind, Result, Reuse, Shape, VariableScope,
};
use petgraph::graph::{DiGraph, NodeIndex};
use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// The index of a node in its graph.
pub type NodeId = NodeIndex<u32>;

/// The static type of one output: dtype and (partial) shape.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TensorSpec {
    /// The element type.
    pub dtype: DType,
    /// The shape as known at build time.
    pub shape: Shape,
}

impl TensorSpec {
    /// A spec from a dtype and a shape.
    pub fn new(dtype: DType, shape: impl Into<Shape>) -> Self {
        TensorSpec {
            dtype,
            shape: shape.into(),
        }
    }
}

/// A node as stored in the graph.
#[derive(Clone, Debug)]
pub struct NodeData {
    /// The unique name (`conv1/Relu`).
    pub name: String,
    /// The op it runs.
    pub op: Arc<dyn Op>,
    /// The data inputs, in order: (producer node, output index).
    pub inputs: Vec<(NodeId, usize)>,
    /// Nodes that must run before this one.
    pub control_inputs: Vec<NodeId>,
    /// The static type of each output.
    pub outputs: Vec<TensorSpec>,
}

/// An edge of the petgraph mirror of the graph.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Edge {
    /// Output `from` of the source feeds input `to` of the target.
    Data {
        /// The source's output index.
        from: usize,
        /// The target's input index.
        to: usize,
    },
    /// The source must run before the target.
    Control,
}

/// A variable of the graph's `GLOBAL_VARIABLES` collection.
#[derive(Clone, Debug)]
pub struct VariableInfo {
    /// The variable node.
    pub node: NodeId,
    /// The op that assigns its initial value.
    pub initializer: NodeId,
    /// Whether it is in `TRAINABLE_VARIABLES`.
    pub trainable: bool,
}

#[derive(Default)]
struct State {
    g: DiGraph<NodeData, Edge, u32>,
    names_in_use: HashMap<String, usize>,
    by_name: HashMap<String, NodeId>,
    variables: Vec<VariableInfo>,
    seed: Option<u64>,
    random_ops: u64,
    collections: HashMap<String, Vec<CollectionItem>>,
    variable_scopes: Vec<VariableScope>,
    /// The variables `get_variable` created, by full name.
    variable_store: HashMap<String, VariableInfo>,
    /// The functions being built, innermost last.
    functions: Vec<FnContext>,
}

/// A function being built: nodes with ids below `first` are outside it, and an outside
/// tensor used as an input is replaced by an argument (a capture).
struct FnContext {
    first: NodeId,
    nodes: Vec<NodeId>,
    captures: Vec<((NodeId, usize), NodeId)>,
}

/// What one thread is building in one graph: its name-scope and control-dependency stacks.
/// TensorFlow 1.x keeps both per thread, so that threads building in one graph never take
/// each other's scopes or dependencies.
#[derive(Default)]
struct Building {
    scopes: Vec<String>,
    control: Vec<Vec<NodeId>>,
}

thread_local! {
    /// This thread's building state, by graph id (ids are never reused); an entry is removed
    /// when both its stacks are empty.
    static BUILDING: RefCell<HashMap<u64, Building>> = RefCell::new(HashMap::new());
}

/// Pops this thread's innermost name scope (`scope`) or control-dependency set of a graph
/// when dropped, so that a panic inside the block leaves the stacks as they were.
struct Pop<'a> {
    graph: &'a Graph,
    scope: bool,
}

impl Drop for Pop<'_> {
    fn drop(&mut self) {
        self.graph.building(|b| {
            if self.scope {
                b.scopes.pop();
            } else {
                b.control.pop();
            }
        });
    }
}

struct Inner {
    id: u64,
    state: RwLock<State>,
}

/// A dataflow graph, built first and run later by a session. Cheap to clone: clones share
/// the same graph. Building computes nothing; it checks dtypes and shapes and records nodes.
///
/// ```
/// use rustflow_graph::{Graph, Shape, DType};
/// let g = Graph::new();
/// assert_eq!(g.unique_name("Variable"), "Variable");
/// assert_eq!(g.unique_name("Variable"), "Variable_1");
/// g.name_scope("conv1", |g| assert_eq!(g.unique_name("W"), "conv1/W"));
/// ```
#[derive(Clone)]
pub struct Graph {
    inner: Arc<Inner>,
}

static NEXT_GRAPH_ID: AtomicU64 = AtomicU64::new(1);

/// The graph seed TensorFlow uses when only an op seed is given.
pub const DEFAULT_GRAPH_SEED: u64 = 87654321;

impl Default for Graph {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for Graph {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Graph#{} ({} nodes)", self.inner.id, self.len())
    }
}

impl PartialEq for Graph {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}
impl Eq for Graph {}

impl Graph {
    /// An empty graph.
    pub fn new() -> Self {
        Graph {
            inner: Arc::new(Inner {
                id: NEXT_GRAPH_ID.fetch_add(1, Ordering::Relaxed),
                state: RwLock::new(State::default()),
            }),
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        self.inner
            .state
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.inner
            .state
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    /// Runs `f` on this thread's building state of this graph.
    fn building<R>(&self, f: impl FnOnce(&mut Building) -> R) -> R {
        BUILDING.with(|map| {
            let mut map = map.borrow_mut();
            let b = map.entry(self.inner.id).or_default();
            let r = f(b);
            if b.scopes.is_empty() && b.control.is_empty() {
                map.remove(&self.inner.id);
            }
            r
        })
    }

    /// A number identifying this graph within the process.
    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// The number of nodes.
    pub fn len(&self) -> usize {
        self.read().g.node_count()
    }

    /// Whether the graph has no nodes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy of node `id`'s data.
    pub fn node(&self, id: NodeId) -> NodeData {
        self.read().g[id].clone()
    }

    /// Runs `f` with node `id`'s data borrowed.
    pub fn with_node<R>(&self, id: NodeId, f: impl FnOnce(&NodeData) -> R) -> R {
        f(&self.read().g[id])
    }

    /// Every node id, in creation order (which is a topological order).
    pub fn node_ids(&self) -> Vec<NodeId> {
        self.read().g.node_indices().collect()
    }

    /// The name a new node asking for `name` would get in the current scope, and reserves it.
    /// TensorFlow's rule: case-insensitive, `_1`, `_2`, ... appended to taken names; a name
    /// ending in `/` is used as it is (minus the slash).
    pub fn unique_name(&self, name: &str) -> String {
        let scope = self.current_scope();
        Self::unique_name_locked(&mut self.write().names_in_use, &scope, name)
    }

    /// The name `unique_name(name)` would return, without reserving it (for error messages
    /// about a node that is not built yet).
    pub fn peek_unique_name(&self, name: &str) -> String {
        let mut names = self.read().names_in_use.clone();
        Self::unique_name_locked(&mut names, &self.current_scope(), name)
    }

    /// Reserves `name` in `scope` among `names` (the graph's names in use).
    fn unique_name_locked(names: &mut HashMap<String, usize>, scope: &str, name: &str) -> String {
        if let Some(exact) = name.strip_suffix('/') {
            return exact.to_string();
        }
        let full = match scope {
            "" => name.to_string(),
            scope => format!("{scope}/{name}"),
        };
        let key = full.to_lowercase();
        let i = names.get(&key).copied().unwrap_or(0);
        names.insert(key.clone(), i + 1);
        if i == 0 {
            return full;
        }
        let mut i = i;
        let mut candidate = format!("{key}_{i}");
        while names.contains_key(&candidate) {
            i += 1;
            candidate = format!("{key}_{i}");
        }
        names.insert(candidate, 1);
        format!("{full}_{i}")
    }

    /// Runs `f` inside the name scope `name` (`conv1/...`). Entering a used scope again opens
    /// `name_1`; a name ending in `/` re-enters that exact scope.
    /// An empty `name` runs `f` at the top level, outside every scope.
    /// Scopes belong to the calling thread, as in TensorFlow 1.x: other threads building in
    /// the same graph meanwhile do not see them.
    pub fn name_scope<R>(&self, name: &str, f: impl FnOnce(&Graph) -> R) -> R {
        let scope = if name.is_empty() {
            String::new()
        } else {
            self.unique_name(name)
        };
        self.building(|b| b.scopes.push(scope));
        let _pop = Pop {
            graph: self,
            scope: true,
        };
        f(self)
    }

    /// This thread's current name scope in this graph (`""` at the top).
    pub fn current_scope(&self) -> String {
        self.building(|b| b.scopes.last().cloned().unwrap_or_default())
    }

    /// Runs `f` so that every node it creates runs after `ops` (TensorFlow's
    /// `control_dependencies`). The dependencies apply to nodes this thread creates, as in
    /// TensorFlow 1.x: nodes other threads add to the graph meanwhile do not get them.
    pub fn control_dependencies<R>(
        &self,
        ops: &[&Operation],
        f: impl FnOnce(&Graph) -> R,
    ) -> Result<R> {
        for op in ops {
            self.check_owns(&op.graph, &op.to_string())?;
        }
        self.building(|b| b.control.push(ops.iter().map(|o| o.id).collect()));
        let _pop = Pop {
            graph: self,
            scope: false,
        };
        Ok(f(self))
    }

    /// Runs `f` with no control dependencies in force (TensorFlow's
    /// `control_dependencies(None)`): what variables' initializers are built under.
    pub fn without_control_dependencies<R>(&self, f: impl FnOnce(&Graph) -> R) -> R {
        let saved = self.building(|b| std::mem::take(&mut b.control));
        let r = f(self);
        self.building(|b| b.control = saved);
        r
    }

    /// Whether nodes this thread creates now get control dependencies (inside
    /// `control_dependencies`).
    pub fn in_control_dependencies(&self) -> bool {
        self.building(|b| b.control.iter().any(|c| !c.is_empty()))
    }

    /// Checks that a tensor or operation of `other` belongs to this graph.
    pub fn check_owns(&self, other: &Graph, what: &str) -> Result<()> {
        if other == self {
            Ok(())
        } else {
            Err(Error::ForeignGraph {
                what: what.to_string(),
            })
        }
    }

    /// Adds a node: the name is made unique in the current scope, the inputs must belong to
    /// this graph, and the active control dependencies are attached. The builder has already
    /// inferred `outputs`.
    pub fn add_node(
        &self,
        name: &str,
        op: Arc<dyn Op>,
        inputs: &[&Tensor],
        control_inputs: &[NodeId],
        outputs: Vec<TensorSpec>,
    ) -> Result<Operation> {
        for t in inputs {
            self.check_owns(&t.graph, &t.to_string())?;
        }
        let (scope, mut controls) = self.building(|b| {
            let scope = b.scopes.last().cloned().unwrap_or_default();
            let controls: Vec<NodeId> = b.control.iter().flatten().copied().collect();
            (scope, controls)
        });
        controls.extend_from_slice(control_inputs);
        let mut st = self.write();
        let name = Self::unique_name_locked(&mut st.names_in_use, &scope, name);
        controls.dedup();
        let mut data_inputs: Vec<(NodeId, usize)> =
            inputs.iter().map(|t| (t.node, t.index)).collect();
        if let Some(first) = st.functions.last().map(|f| f.first) {
            // Inside a function, outside tensors come in as arguments, and outside nodes
            // cannot be waited for (the function's caller waits for them).
            controls.retain(|c| *c >= first);
            for x in &mut data_inputs {
                if x.0 < first {
                    *x = (Self::capture_locked(&mut st, *x), 0);
                }
            }
        }
        let data = NodeData {
            name: name.clone(),
            op,
            inputs: data_inputs.clone(),
            control_inputs: controls.clone(),
            outputs,
        };
        let id = st.g.add_node(data);
        if let Some(f) = st.functions.last_mut() {
            f.nodes.push(id);
        }
        for (k, &(node, index)) in data_inputs.iter().enumerate() {
            st.g.add_edge(node, id, Edge::Data { from: index, to: k });
        }
        for c in controls {
            st.g.add_edge(c, id, Edge::Control);
        }
        st.by_name.insert(name, id);
        Ok(Operation {
            graph: self.clone(),
            id,
        })
    }

    /// Renames node `id` to exactly `name`, as `import_graph_def` keeps the names a GraphDef
    /// gives (tested there); fails if another node has that name.
    pub fn rename_node(&self, id: NodeId, name: &str) -> Result<()> {
        let mut st = self.write();
        if let Some(&other) = st.by_name.get(name) {
            if other == id {
                return Ok(());
            }
            return Err(Error::InvalidArgument {
                node: name.to_string(),
                op: st.g[other].op.op_type().to_string(),
                msg: format!("Duplicate node name in graph: '{name}'"),
            });
        }
        let old = std::mem::replace(&mut st.g[id].name, name.to_string());
        st.by_name.remove(&old);
        st.by_name.insert(name.to_string(), id);
        st.names_in_use.entry(name.to_lowercase()).or_insert(1);
        Ok(())
    }

    /// The argument that stands for the outside tensor `x` in the innermost function being
    /// built, created on first use.
    fn capture_locked(st: &mut State, x: (NodeId, usize)) -> NodeId {
        let f = st.functions.last().expect("capture outside a function");
        if let Some(&(_, arg)) = f.captures.iter().find(|(t, _)| *t == x) {
            return arg;
        }
        let spec = st.g[x.0].outputs[x.1].clone();
        let name = Self::unique_name_locked(&mut st.names_in_use, "", "capture");
        let arg = st.g.add_node(NodeData {
            name: name.clone(),
            op: Arc::new(Arg),
            inputs: vec![],
            control_inputs: vec![],
            outputs: vec![spec],
        });
        st.by_name.insert(name, arg);
        let f = st.functions.last_mut().expect("capture outside a function");
        f.captures.push((x, arg));
        arg
    }

    /// Inside [`Graph::build_function`]: the tensor that stands for `x` in the function being
    /// built (`x` itself when it belongs to the function, else the argument capturing it).
    pub fn capture(&self, x: &Tensor) -> Tensor {
        let mut st = self.write();
        match st.functions.last().map(|f| f.first) {
            Some(first) if x.node < first => Tensor {
                graph: self.clone(),
                node: Self::capture_locked(&mut st, (x.node, x.index)),
                index: 0,
            },
            _ => x.clone(),
        }
    }

    /// Builds a function (a `cond` branch, a `while_loop` body): `f` receives one argument
    /// per spec of `args` and returns the results. Every outside tensor the function uses
    /// becomes an argument of its own (see [`Function::captures`]). Nothing outside can read
    /// the nodes built by `f`: they run only when the function is called.
    pub fn build_function(
        &self,
        args: &[TensorSpec],
        f: impl FnOnce(&[Tensor]) -> Result<Vec<Tensor>>,
    ) -> Result<Function> {
        let first = NodeId::new(self.len());
        self.write().functions.push(FnContext {
            first,
            nodes: vec![],
            captures: vec![],
        });
        let built = (|| {
            let arg_tensors = args
                .iter()
                .map(|spec| {
                    self.add_node("arg", Arc::new(Arg), &[], &[], vec![spec.clone()])?
                        .output(0)
                })
                .collect::<Result<Vec<_>>>()?;
            let results = f(&arg_tensors)?;
            for r in &results {
                self.check_owns(&r.graph, &r.to_string())?;
            }
            let results: Vec<Tensor> = results.iter().map(|r| self.capture(r)).collect();
            Ok((arg_tensors, results))
        })();
        let ctx = self
            .write()
            .functions
            .pop()
            .expect("the function's context");
        let (arg_tensors, results) = built?;
        let st = self.read();
        let stateful = ctx
            .nodes
            .iter()
            .copied()
            .filter(|&n| st.g[n].op.kind() == OpKind::Stateful)
            .collect();
        Ok(Function {
            args: arg_tensors
                .iter()
                .map(|a| a.node)
                .chain(ctx.captures.iter().map(|c| c.1))
                .collect(),
            n_explicit: arg_tensors.len(),
            captures: ctx
                .captures
                .iter()
                .map(|&((node, index), _)| Tensor {
                    graph: self.clone(),
                    node,
                    index,
                })
                .collect(),
            results: results.iter().map(|r| (r.node, r.index)).collect(),
            nodes: ctx.nodes,
            stateful,
        })
    }

    /// Whether a function is being built ([`Graph::build_function`]).
    pub fn in_function(&self) -> bool {
        !self.read().functions.is_empty()
    }

    /// Gives node `id` a new op and output list (the outputs it had must stay first): how a
    /// `While` starts keeping what its gradient needs once a gradient asks for it.
    pub fn replace_op(&self, id: NodeId, op: Arc<dyn Op>, outputs: Vec<TensorSpec>) {
        let mut st = self.write();
        let n = &mut st.g[id];
        n.op = op;
        n.outputs = outputs;
    }

    /// Records a variable in `GLOBAL_VARIABLES` (and `TRAINABLE_VARIABLES` if `trainable`).
    pub fn register_variable(&self, info: VariableInfo) {
        self.write().variables.push(info);
    }

    /// Every variable, in creation order (`tf.global_variables()`).
    pub fn global_variables(&self) -> Vec<VariableInfo> {
        self.read().variables.clone()
    }

    /// The trainable variables, in creation order (`tf.trainable_variables()`).
    pub fn trainable_variables(&self) -> Vec<VariableInfo> {
        self.read()
            .variables
            .iter()
            .filter(|v| v.trainable)
            .cloned()
            .collect()
    }

    /// Adds `item` to the collection `name` (`tf.add_to_collection`); see [`crate::GraphKeys`].
    pub fn add_to_collection(&self, name: &str, item: impl Into<CollectionItem>) {
        let item = item.into();
        self.write()
            .collections
            .entry(name.to_string())
            .or_default()
            .push(item);
    }

    /// The members of collection `name`, in insertion order (`tf.get_collection`); empty if
    /// there is no such collection. `GraphKeys::GLOBAL_VARIABLES` and
    /// `GraphKeys::TRAINABLE_VARIABLES` list the variables' values.
    pub fn get_collection(&self, name: &str) -> Vec<CollectionItem> {
        let vars = match name {
            crate::GraphKeys::GLOBAL_VARIABLES => self.global_variables(),
            crate::GraphKeys::TRAINABLE_VARIABLES => self.trainable_variables(),
            _ => {
                let st = self.read();
                return st.collections.get(name).cloned().unwrap_or_default();
            }
        };
        vars.iter()
            .map(|v| {
                CollectionItem::Tensor(Tensor {
                    graph: self.clone(),
                    node: v.node,
                    index: 0,
                })
            })
            .collect()
    }

    /// The names of the collections that have members (variables' collections excluded).
    pub fn get_all_collection_keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = self.read().collections.keys().cloned().collect();
        keys.sort();
        keys
    }

    /// Runs `f` inside the variable scope `name` (`tf.variable_scope`): variables that
    /// `get_variable` creates are named `<outer scopes>/name/...`, with the given reuse mode
    /// (`None` inherits it; a reusing scope's children reuse too). It also opens the name
    /// scope `name` for ops (`name_1`, ... when entered again, as TensorFlow).
    pub fn variable_scope<R>(
        &self,
        name: &str,
        reuse: Option<Reuse>,
        f: impl FnOnce(&Graph) -> R,
    ) -> R {
        {
            let mut st = self.write();
            let outer = st.variable_scopes.last().cloned().unwrap_or_default();
            let full = if outer.name.is_empty() {
                name.to_string()
            } else {
                format!("{}/{name}", outer.name)
            };
            let reuse = match (outer.reuse, reuse) {
                (Reuse::No, r) => r.unwrap_or(Reuse::No),
                (inherited, None | Some(Reuse::No)) => inherited,
                (_, Some(r)) => r,
            };
            st.variable_scopes.push(VariableScope { name: full, reuse });
        }
        let r = self.name_scope(name, f);
        self.write().variable_scopes.pop();
        r
    }

    /// The innermost open variable scope (name `""` and no reuse at the top).
    pub fn current_variable_scope(&self) -> VariableScope {
        self.read()
            .variable_scopes
            .last()
            .cloned()
            .unwrap_or_default()
    }

    /// Makes the current variable scope reuse its variables (`scope.reuse_variables()`); at
    /// the top level it does nothing.
    pub fn reuse_variables(&self) {
        if let Some(s) = self.write().variable_scopes.last_mut() {
            s.reuse = Reuse::Yes;
        }
    }

    /// The variable `get_variable` created under the full name `name`, if any.
    pub fn stored_variable(&self, name: &str) -> Option<VariableInfo> {
        self.read().variable_store.get(name).cloned()
    }

    /// Whether a stored variable's full name starts with `prefix`.
    pub fn has_stored_variable_under(&self, prefix: &str) -> bool {
        self.read()
            .variable_store
            .keys()
            .any(|k| k.starts_with(prefix))
    }

    /// Records a variable that `get_variable` created under the full name `name`.
    pub fn store_variable(&self, name: &str, info: VariableInfo) {
        self.write().variable_store.insert(name.to_string(), info);
    }

    /// Sets the graph-level random seed (`tf.set_random_seed`).
    pub fn set_random_seed(&self, seed: u64) {
        self.write().seed = Some(seed);
    }

    /// The seed for a new random op, following TensorFlow: graph and op seed both given, or
    /// one of them (the graph seed defaults to 87654321, the op seed to a counter of the
    /// graph's random ops), determine it; neither gives a fresh seed each time.
    pub fn random_op_seed(&self, op_seed: Option<u64>) -> u64 {
        let mut st = self.write();
        st.random_ops += 1;
        let counter = st.random_ops;
        match (st.seed, op_seed) {
            (None, None) => {
                use std::hash::{BuildHasher, Hasher};
                let mut h = std::collections::hash_map::RandomState::new().build_hasher();
                h.write_u64(counter);
                h.finish()
            }
            (g, o) => mix(g.unwrap_or(DEFAULT_GRAPH_SEED), o.unwrap_or(counter)),
        }
    }

    /// The operation named `name`.
    pub fn operation_by_name(&self, name: &str) -> Result<Operation> {
        let id = self.read().by_name.get(name).copied();
        id.map(|id| Operation {
            graph: self.clone(),
            id,
        })
        .ok_or_else(|| Error::NotFound { name: name.into() })
    }

    /// The tensor named `name` (`"h:0"`; a bare op name means output 0).
    pub fn tensor_by_name(&self, name: &str) -> Result<Tensor> {
        let (op, index) = match name.rsplit_once(':') {
            Some((op, i)) => (
                op,
                i.parse::<usize>()
                    .map_err(|_| Error::NotFound { name: name.into() })?,
            ),
            None => (name, 0),
        };
        let op = self
            .operation_by_name(op)
            .map_err(|_| Error::NotFound { name: name.into() })?;
        op.output(index)
            .map_err(|_| Error::NotFound { name: name.into() })
    }

    /// The graph in Graphviz DOT: one box per node (name and op type), data edges labelled
    /// with dtype and shape, control edges dashed.
    pub fn to_dot(&self) -> String {
        let st = self.read();
        let mut s =
            String::from("digraph rustflow {\n  node [shape=box, fontname=\"Helvetica\"];\n");
        for id in st.g.node_indices() {
            let n = &st.g[id];
            s += &format!(
                "  n{} [label=\"{}\\n{}\"];\n",
                id.index(),
                n.name.replace('"', "\\\""),
                n.op.op_type()
            );
        }
        for id in st.g.node_indices() {
            let n = &st.g[id];
            for &(src, port) in &n.inputs {
                let spec = &st.g[src].outputs[port];
                s += &format!(
                    "  n{} -> n{} [label=\"{} {}\"];\n",
                    src.index(),
                    id.index(),
                    spec.dtype,
                    spec.shape
                );
            }
            for c in &n.control_inputs {
                s += &format!("  n{} -> n{} [style=dashed];\n", c.index(), id.index());
            }
        }
        s.push_str("}\n");
        s
    }
}

impl fmt::Display for Graph {
    /// One line per node: `name = OpType[attrs](inputs, ^controls) -> dtype shape`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let st = self.read();
        for id in st.g.node_indices() {
            let n = &st.g[id];
            let mut args: Vec<String> = n
                .inputs
                .iter()
                .map(|&(src, port)| format!("{}:{}", st.g[src].name, port))
                .collect();
            args.extend(
                n.control_inputs
                    .iter()
                    .map(|c| format!("^{}", st.g[*c].name)),
            );
            let outs: Vec<String> = n
                .outputs
                .iter()
                .map(|o| format!("{} {}", o.dtype, o.shape))
                .collect();
            let attrs = n.op.attrs();
            let attrs = if attrs.is_empty() {
                attrs
            } else {
                format!("[{attrs}]")
            };
            writeln!(
                f,
                "{} = {}{}({}) -> {}",
                n.name,
                n.op.op_type(),
                attrs,
                args.join(", "),
                if outs.is_empty() {
                    "()".to_string()
                } else {
                    outs.join(", ")
                }
            )?;
        }
        Ok(())
    }
}

fn mix(a: u64, b: u64) -> u64 {
    // SplitMix64 over both seeds: distinct (graph, op) pairs give unrelated streams.
    let mut z = a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.rotate_left(32) ^ 0xD1B5_4A32_D192_ED03;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A symbolic tensor: output `index` of a node. Building ops on it records nodes; its value
/// exists only inside a session run.
#[derive(Clone)]
pub struct Tensor {
    graph: Graph,
    node: NodeId,
    index: usize,
}

/// A node of the graph, as a handle: something to run (`train_step`, `init`) or to take
/// outputs from.
#[derive(Clone)]
pub struct Operation {
    graph: Graph,
    id: NodeId,
}

impl Operation {
    /// The operation of node `id` of `graph`.
    pub fn from_graph(graph: &Graph, id: NodeId) -> Operation {
        Operation {
            graph: graph.clone(),
            id,
        }
    }

    /// The graph it belongs to.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// Its node id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// Its unique name.
    pub fn name(&self) -> String {
        self.graph.with_node(self.id, |n| n.name.clone())
    }

    /// Its op type (`MatMul`).
    pub fn op_type(&self) -> &'static str {
        self.graph.with_node(self.id, |n| n.op.op_type())
    }

    /// How the runtime treats it.
    pub fn kind(&self) -> OpKind {
        self.graph.with_node(self.id, |n| n.op.kind())
    }

    /// The number of outputs.
    pub fn num_outputs(&self) -> usize {
        self.graph.with_node(self.id, |n| n.outputs.len())
    }

    /// Output `index` as a tensor.
    pub fn output(&self, index: usize) -> Result<Tensor> {
        if index < self.num_outputs() {
            Ok(Tensor {
                graph: self.graph.clone(),
                node: self.id,
                index,
            })
        } else {
            Err(Error::NotFound {
                name: format!("{}:{index}", self.name()),
            })
        }
    }

    /// Every output.
    pub fn outputs(&self) -> Vec<Tensor> {
        (0..self.num_outputs())
            .map(|index| Tensor {
                graph: self.graph.clone(),
                node: self.id,
                index,
            })
            .collect()
    }

    /// The data inputs.
    pub fn inputs(&self) -> Vec<Tensor> {
        self.graph.with_node(self.id, |n| {
            n.inputs
                .iter()
                .map(|&(node, index)| Tensor {
                    graph: self.graph.clone(),
                    node,
                    index,
                })
                .collect()
        })
    }
}

impl PartialEq for Operation {
    fn eq(&self, o: &Self) -> bool {
        self.graph == o.graph && self.id == o.id
    }
}
impl Eq for Operation {}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Operation '{}' ({})", self.name(), self.op_type())
    }
}
impl fmt::Debug for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl Tensor {
    /// The graph it belongs to.
    pub fn graph(&self) -> &Graph {
        &self.graph
    }

    /// The producing node.
    pub fn node(&self) -> NodeId {
        self.node
    }

    /// The output index within the producing node.
    pub fn index(&self) -> usize {
        self.index
    }

    /// The producing operation.
    pub fn op(&self) -> Operation {
        Operation {
            graph: self.graph.clone(),
            id: self.node,
        }
    }

    /// TensorFlow's tensor name, `<op name>:<index>` (`x:0`).
    pub fn name(&self) -> String {
        self.graph
            .with_node(self.node, |n| format!("{}:{}", n.name, self.index))
    }

    /// The static type.
    pub fn spec(&self) -> TensorSpec {
        self.graph
            .with_node(self.node, |n| n.outputs[self.index].clone())
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.graph
            .with_node(self.node, |n| n.outputs[self.index].dtype)
    }

    /// The static (partial) shape.
    pub fn shape(&self) -> Shape {
        self.graph
            .with_node(self.node, |n| n.outputs[self.index].shape.clone())
    }
}

impl AsRef<Tensor> for Tensor {
    fn as_ref(&self) -> &Tensor {
        self
    }
}

impl PartialEq for Tensor {
    fn eq(&self, o: &Self) -> bool {
        self.graph == o.graph && self.node == o.node && self.index == o.index
    }
}
impl Eq for Tensor {}

impl std::hash::Hash for Tensor {
    fn hash<H: std::hash::Hasher>(&self, h: &mut H) {
        self.graph.id().hash(h);
        self.node.hash(h);
        self.index.hash(h);
    }
}

impl fmt::Display for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let spec = self.spec();
        write!(
            f,
            "Tensor(\"{}\", shape={}, dtype={})",
            self.name(),
            spec.shape,
            spec.dtype
        )
    }
}
impl fmt::Debug for Tensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}
