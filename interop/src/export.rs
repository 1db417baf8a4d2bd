//! `to_graph_def` and `write_graph`: a rustflow graph as TensorFlow's `GraphDef`, with
//! TensorFlow's op types and attributes, through [`EXPORTS`] (one row per rustflow op type
//! that needs more than its type attribute `T`).

use crate::convert::{proto_dtype, shape_proto, tensor_proto};
use rustflow_graph::{DType, Error, Graph, NodeData, NodeId, Result, Shape, Tensor, Value};
use rustflow_ops::Const;
use rustflow_proto::{
    attr_value::{ListValue, Value as Attr},
    AttrValue, GraphDef, Message, NodeDef, VersionDef,
};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// One rustflow node being written: its data, input names, and the nodes it becomes.
pub struct ExportNode<'a> {
    /// The graph.
    pub graph: &'a Graph,
    /// The node.
    pub node: &'a NodeData,
    /// TensorFlow input strings of its data inputs (`"x"`, `"split:1"`).
    pub inputs: Vec<String>,
    /// Its attributes as its op lists them (`transpose_a=false`), by name.
    pub attrs: HashMap<String, String>,
    /// The NodeDefs written so far for this node.
    pub out: Vec<NodeDef>,
}

fn a(v: Attr) -> AttrValue {
    AttrValue { value: Some(v) }
}

fn ty(d: DType) -> AttrValue {
    a(Attr::Type(proto_dtype(d) as i32))
}

fn ints(v: &[i64]) -> AttrValue {
    a(Attr::List(ListValue {
        i: v.to_vec(),
        ..Default::default()
    }))
}

/// Splits `a=1, b=[1,2], c=SAME` at top-level commas.
fn parse_attrs(s: &str) -> HashMap<String, String> {
    let mut out = HashMap::new();
    let (mut depth, mut start) = (0i32, 0);
    let bytes = s.as_bytes();
    for i in 0..=bytes.len() {
        let c = bytes.get(i).copied().unwrap_or(b',');
        match c {
            b'[' | b'(' => depth += 1,
            b']' | b')' => depth -= 1,
            b',' if depth == 0 => {
                if let Some((k, v)) = s[start..i].split_once('=') {
                    out.insert(k.trim().to_string(), v.trim().to_string());
                }
                start = i + 1;
            }
            _ => {}
        }
    }
    out
}

/// The integers in an attribute's text (`[-1, 28, 28, 1]`, `List([1])`).
fn numbers(s: &str) -> Vec<i64> {
    s.split(|c: char| !(c.is_ascii_digit() || c == '-'))
        .filter_map(|t| t.parse().ok())
        .collect()
}

impl ExportNode<'_> {
    fn name(&self) -> &str {
        &self.node.name
    }

    fn error(&self, msg: impl Into<String>) -> Error {
        Error::InvalidArgument {
            node: self.node.name.clone(),
            op: self.node.op.op_type().to_string(),
            msg: msg.into(),
        }
    }

    fn input_dtype(&self, i: usize) -> Option<DType> {
        let (src, k) = *self.node.inputs.get(i)?;
        Some(self.graph.node(src).outputs[k].dtype)
    }

    fn input_shape(&self, i: usize) -> Shape {
        self.node
            .inputs
            .get(i)
            .map(|&(src, k)| self.graph.node(src).outputs[k].shape.clone())
            .unwrap_or_else(Shape::unknown)
    }

    fn attr(&self, key: &str) -> Result<&str> {
        self.attrs
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| self.error(format!("the op lists no attribute '{key}'")))
    }

    /// Adds a NodeDef; the last one added carries the rustflow node's name.
    fn push(&mut self, name: &str, op: &str, inputs: &[String], attrs: Vec<(&str, AttrValue)>) {
        self.out.push(NodeDef {
            name: name.to_string(),
            op: op.to_string(),
            input: inputs.to_vec(),
            attr: attrs.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            ..Default::default()
        });
    }

    /// Adds a `Const` node `<name>/<suffix>` holding `v`; returns its name.
    fn constant(&mut self, suffix: &str, v: Value) -> String {
        let name = format!("{}/{suffix}", self.name());
        let dtype = v.dtype();
        self.push(
            &name,
            "Const",
            &[],
            vec![
                ("dtype", ty(dtype)),
                ("value", a(Attr::Tensor(tensor_proto(&v)))),
            ],
        );
        name
    }

    fn int32s(&mut self, suffix: &str, v: &[i64]) -> String {
        let v = Value::new(&[v.len()], v.iter().map(|&x| x as i32).collect()).expect("a vector");
        self.constant(suffix, v)
    }

    /// The op with type attribute `T` (the first input's dtype) plus `extra`.
    fn typed(&mut self, op: &str, inputs: &[String], extra: Vec<(&str, AttrValue)>) {
        let mut attrs = extra;
        if let Some(d) = self.input_dtype(0) {
            attrs.push(("T", ty(d)));
        }
        let name = self.name().to_string();
        self.push(&name, op, inputs, attrs);
    }

    fn window(&self) -> Result<Vec<(&'static str, AttrValue)>> {
        let strides = numbers(self.attr("strides")?);
        Ok(vec![
            ("strides", ints(&strides)),
            (
                "padding",
                a(Attr::S(self.attr("padding")?.as_bytes().to_vec())),
            ),
            ("data_format", a(Attr::S(b"NHWC".to_vec()))),
            ("explicit_paddings", ints(&[])),
        ])
    }

    fn reduce(&mut self, op: &str) -> Result<()> {
        let axis = self.attr("axis")?.to_string();
        let axes: Vec<i64> = if axis.contains("All") {
            let rank = self.input_shape(0).rank().ok_or_else(|| {
                self.error("a reduction over all axes of an input of unknown rank")
            })?;
            (0..rank as i64).collect()
        } else {
            numbers(&axis)
        };
        let keep = self.attr("keep_dims")? == "true";
        let idx = self.int32s("reduction_indices", &axes);
        let inputs = vec![self.inputs[0].clone(), idx];
        self.typed(
            op,
            &inputs,
            vec![("keep_dims", a(Attr::B(keep))), ("Tidx", ty(DType::I32))],
        );
        Ok(())
    }
}

/// A row's writer: appends the NodeDefs of one rustflow node.
pub type Write = fn(&mut ExportNode<'_>) -> Result<()>;

/// Rustflow op type → writer. Op types without a row are written as the same TensorFlow op
/// type with `T` from their first input.
pub const EXPORTS: &[(&str, Write)] = &[
    ("ArgMax", |n| {
        let axis = numbers(n.attr("axis")?);
        let dim = n.constant("dimension", Value::scalar(axis[0] as i32));
        let inputs = vec![n.inputs[0].clone(), dim];
        n.typed(
            "ArgMax",
            &inputs,
            vec![("Tidx", ty(DType::I32)), ("output_type", ty(DType::I64))],
        );
        Ok(())
    }),
    ("Assign", |n| {
        let var = n.attr("var")?.to_string();
        let inputs = vec![var, n.inputs[0].clone()];
        n.typed(
            "Assign",
            &inputs,
            vec![
                ("use_locking", a(Attr::B(true))),
                ("validate_shape", a(Attr::B(true))),
            ],
        );
        Ok(())
    }),
    ("AvgPool", |n| {
        let mut attrs = n.window()?;
        attrs.push(("ksize", ints(&numbers(n.attr("ksize")?))));
        attrs.retain(|(k, _)| *k != "explicit_paddings");
        let inputs = n.inputs.clone();
        n.typed("AvgPool", &inputs, attrs);
        Ok(())
    }),
    ("Cast", |n| {
        let to = n.node.outputs[0].dtype;
        let from = n.input_dtype(0).unwrap_or(to);
        let (name, inputs) = (n.name().to_string(), n.inputs.clone());
        n.push(
            &name,
            "Cast",
            &inputs,
            vec![
                ("SrcT", ty(from)),
                ("DstT", ty(to)),
                ("Truncate", a(Attr::B(false))),
            ],
        );
        Ok(())
    }),
    ("Const", |n| {
        let c = n
            .node
            .op
            .as_any()
            .downcast_ref::<Const>()
            .ok_or_else(|| n.error("not a Const"))?;
        let v = c.value().clone();
        let name = n.name().to_string();
        n.push(
            &name,
            "Const",
            &[],
            vec![
                ("dtype", ty(v.dtype())),
                ("value", a(Attr::Tensor(tensor_proto(&v)))),
            ],
        );
        Ok(())
    }),
    ("Conv2D", |n| {
        let mut attrs = n.window()?;
        attrs.push(("dilations", ints(&[1, 1, 1, 1])));
        attrs.push(("use_cudnn_on_gpu", a(Attr::B(true))));
        let inputs = n.inputs.clone();
        n.typed("Conv2D", &inputs, attrs);
        Ok(())
    }),
    // `dropout(x, keep_prob)`: x / keep_prob * mask, as TensorFlow 1.x wrote it.
    ("Dropout", |n| {
        let div = format!("{}/div", n.name());
        let (x, kp, mask) = (
            n.inputs[0].clone(),
            n.inputs[1].clone(),
            n.inputs[2].clone(),
        );
        n.push(&div, "RealDiv", &[x, kp], vec![("T", ty(DType::F32))]);
        let name = n.name().to_string();
        n.push(&name, "Mul", &[div, mask], vec![("T", ty(DType::F32))]);
        Ok(())
    }),
    // The mask: U[0, 1) >= 1 - keep_prob (floor(keep_prob + U) as a bool cast to float), of
    // x's run-time shape or the noise shape.
    ("DropoutMask", |n| {
        let shape = match n.node.inputs.len() {
            1 => n.int32s("shape", &numbers(n.attr("noise_shape").unwrap_or("[]"))),
            _ => {
                let s = format!("{}/Shape", n.name());
                let x = n.inputs[1].clone();
                n.push(
                    &s,
                    "Shape",
                    &[x],
                    vec![("T", ty(DType::F32)), ("out_type", ty(DType::I32))],
                );
                s
            }
        };
        let (u, rate) = (
            format!("{}/RandomUniform", n.name()),
            format!("{}/sub", n.name()),
        );
        let ge = format!("{}/GreaterEqual", n.name());
        n.push(
            &u,
            "RandomUniform",
            &[shape],
            vec![
                ("T", ty(DType::I32)),
                ("dtype", ty(DType::F32)),
                ("seed", a(Attr::I(0))),
                ("seed2", a(Attr::I(0))),
            ],
        );
        let one = n.constant("one", Value::scalar(1.0f32));
        let kp = n.inputs[0].clone();
        n.push(&rate, "Sub", &[one, kp], vec![("T", ty(DType::F32))]);
        n.push(&ge, "GreaterEqual", &[u, rate], vec![("T", ty(DType::F32))]);
        let name = n.name().to_string();
        n.push(
            &name,
            "Cast",
            &[ge],
            vec![
                ("SrcT", ty(DType::Bool)),
                ("DstT", ty(DType::F32)),
                ("Truncate", a(Attr::B(false))),
            ],
        );
        Ok(())
    }),
    ("Equal", |n| {
        let inputs = n.inputs.clone();
        n.typed(
            "Equal",
            &inputs,
            vec![("incompatible_shape_error", a(Attr::B(true)))],
        );
        Ok(())
    }),
    ("MatMul", |n| {
        let (ta, tb) = (
            n.attr("transpose_a")? == "true",
            n.attr("transpose_b")? == "true",
        );
        let inputs = n.inputs.clone();
        n.typed(
            "MatMul",
            &inputs,
            vec![
                ("transpose_a", a(Attr::B(ta))),
                ("transpose_b", a(Attr::B(tb))),
            ],
        );
        Ok(())
    }),
    ("Max", |n| n.reduce("Max")),
    ("MaxPool", |n| {
        let mut attrs = n.window()?;
        attrs.push(("ksize", ints(&numbers(n.attr("ksize")?))));
        let inputs = n.inputs.clone();
        n.typed("MaxPool", &inputs, attrs);
        Ok(())
    }),
    ("Mean", |n| n.reduce("Mean")),
    ("NoOp", |n| {
        let name = n.name().to_string();
        n.push(&name, "NoOp", &[], vec![]);
        Ok(())
    }),
    ("Placeholder", |n| {
        let spec = n.node.outputs[0].clone();
        let name = n.name().to_string();
        n.push(
            &name,
            "Placeholder",
            &[],
            vec![
                ("dtype", ty(spec.dtype)),
                ("shape", a(Attr::Shape(shape_proto(&spec.shape)))),
            ],
        );
        Ok(())
    }),
    ("Reshape", |n| {
        let shape = numbers(n.attr("shape")?);
        let s = n.int32s("shape", &shape);
        let inputs = vec![n.inputs[0].clone(), s];
        n.typed("Reshape", &inputs, vec![("Tshape", ty(DType::I32))]);
        Ok(())
    }),
    ("Shape", |n| {
        let out = n.node.outputs[0].dtype;
        let inputs = n.inputs.clone();
        n.typed("Shape", &inputs, vec![("out_type", ty(out))]);
        Ok(())
    }),
    ("Sum", |n| n.reduce("Sum")),
    ("VariableV2", |n| {
        let spec = n.node.outputs[0].clone();
        let name = n.name().to_string();
        let reads = n.node.op.reads_variables();
        if let Some(&var) = reads.first() {
            // A later read of another node's variable.
            let src = n.graph.node(var).name;
            n.push(&name, "Identity", &[src], vec![("T", ty(spec.dtype))]);
            return Ok(());
        }
        n.push(
            &name,
            "VariableV2",
            &[],
            vec![
                ("dtype", ty(spec.dtype)),
                ("shape", a(Attr::Shape(shape_proto(&spec.shape)))),
                ("container", a(Attr::S(Vec::new()))),
                ("shared_name", a(Attr::S(Vec::new()))),
            ],
        );
        Ok(())
    }),
];

/// TensorFlow's GraphDef of every node of `graph`.
pub fn to_graph_def(graph: &Graph) -> Result<GraphDef> {
    let all: Vec<NodeId> = graph.node_ids();
    nodes_graph_def(graph, &all)
}

/// The GraphDef of the nodes that `outputs` need (their inputs and control inputs, and the
/// variables they read), as TensorFlow's `extract_sub_graph`.
pub fn sub_graph_def(graph: &Graph, outputs: &[&Tensor]) -> Result<GraphDef> {
    let mut keep = HashSet::new();
    let mut stack: Vec<NodeId> = outputs.iter().map(|t| t.node()).collect();
    while let Some(id) = stack.pop() {
        if keep.insert(id) {
            let n = graph.node(id);
            stack.extend(n.inputs.iter().map(|(s, _)| *s));
            stack.extend(n.control_inputs.iter().copied());
            stack.extend(n.op.reads_variables());
        }
    }
    let ids: Vec<NodeId> = graph
        .node_ids()
        .into_iter()
        .filter(|i| keep.contains(i))
        .collect();
    nodes_graph_def(graph, &ids)
}

fn nodes_graph_def(graph: &Graph, ids: &[NodeId]) -> Result<GraphDef> {
    let mut nodes = Vec::new();
    for &id in ids {
        let node = graph.node(id);
        let input_name = |&(src, k): &(NodeId, usize)| {
            let name = graph.node(src).name;
            if k == 0 {
                name
            } else {
                format!("{name}:{k}")
            }
        };
        let mut ex = ExportNode {
            graph,
            inputs: node.inputs.iter().map(input_name).collect(),
            attrs: parse_attrs(&node.op.attrs()),
            node: &node,
            out: Vec::new(),
        };
        let op_type = node.op.op_type();
        match EXPORTS.iter().find(|(t, _)| *t == op_type) {
            Some((_, write)) => write(&mut ex)?,
            None => {
                let inputs = ex.inputs.clone();
                ex.typed(op_type, &inputs, vec![]);
            }
        }
        let controls: Vec<String> = node
            .control_inputs
            .iter()
            .map(|&c| format!("^{}", graph.node(c).name))
            .collect();
        if let Some(last) = ex.out.last_mut() {
            last.input.extend(controls);
        }
        nodes.extend(ex.out);
    }
    Ok(GraphDef {
        node: nodes,
        versions: Some(VersionDef {
            producer: 27,
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// Writes `def` to `dir/name` as text (`as_text`) or binary, as `tf.io.write_graph`, and
/// returns the path.
pub fn write_graph(
    def: &GraphDef,
    dir: impl AsRef<Path>,
    name: &str,
    as_text: bool,
) -> Result<PathBuf> {
    let dir = dir.as_ref();
    let path = dir.join(name);
    let io = |source| Error::Io {
        path: path.clone(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(io)?;
    let bytes = if as_text {
        rustflow_proto::text::print(def).into_bytes()
    } else {
        def.encode_to_vec()
    };
    std::fs::write(&path, bytes).map_err(io)?;
    Ok(path)
}

/// `BTreeMap` of op type → count, for listings (`rustflow inspect`).
pub fn op_counts(def: &GraphDef) -> BTreeMap<String, usize> {
    let mut c = BTreeMap::new();
    for n in &def.node {
        *c.entry(n.op.clone()).or_insert(0) += 1;
    }
    c
}
