//! The functions of a GraphDef (its `FunctionDefLibrary`, and the bodies that
//! [`crate::control_v1`] makes of TF1 loops and conds), as the branches and bodies of
//! `If`/`While` nodes: each [`Body`] is a list of NodeDefs in GraphDef form, imported by
//! [`import_graph_def`](crate::import_graph_def) with its arguments mapped in.

use rustflow_graph::{Error, Result};
use rustflow_proto::{FunctionDef, FunctionDefLibrary, NodeDef};
use std::collections::HashMap;

/// A function body: argument names, nodes whose inputs are GraphDef strings (`"node:k"`,
/// `"arg:0"`, `"^node"`), and the tensors it returns, in order.
#[derive(Clone, Debug, Default)]
pub struct Body {
    /// Argument names; the nodes refer to argument `a` as `"a:0"`.
    pub args: Vec<String>,
    /// The nodes.
    pub nodes: Vec<NodeDef>,
    /// The returned tensors (`"node:k"` or `"arg:0"`).
    pub rets: Vec<String>,
}

/// Functions by name.
pub type Functions = HashMap<String, Body>;

/// The output arguments of TensorFlow's op types with more than one (a `FunctionDef` names
/// outputs `"node:arg:i"`); every other op's outputs are numbered from its only argument.
const OUTPUT_ARGS: &[(&str, &[&str])] = &[
    ("BroadcastGradientArgs", &["r0", "r1"]),
    ("FusedBatchNorm", &["y", "batch_mean", "batch_variance"]),
    ("FusedBatchNormV2", &["y", "batch_mean", "batch_variance"]),
    ("FusedBatchNormV3", &["y", "batch_mean", "batch_variance"]),
    ("Merge", &["output", "value_index"]),
    ("SoftmaxCrossEntropyWithLogits", &["loss", "backprop"]),
    ("SparseSoftmaxCrossEntropyWithLogits", &["loss", "backprop"]),
    ("Switch", &["output_false", "output_true"]),
    ("TopKV2", &["values", "indices"]),
    ("Unique", &["y", "idx"]),
];

/// The GraphDef form (`"node:k"`) of a FunctionDef input or return (`"arg"`,
/// `"node:out_arg:i"`, `"^node"`).
fn graph_input(s: &str, ops: &HashMap<&str, &str>, function: &str) -> Result<String> {
    if s.starts_with('^') {
        return Ok(s.to_string());
    }
    let parts: Vec<&str> = s.split(':').collect();
    match parts[..] {
        [arg] => Ok(format!("{arg}:0")),
        [node, out, i] => {
            let i: usize = i.parse().map_err(|_| bad(function, s))?;
            let op = ops.get(node).ok_or_else(|| bad(function, s))?;
            let first = OUTPUT_ARGS
                .iter()
                .find(|(o, _)| o == op)
                .and_then(|(_, args)| args.iter().position(|a| *a == out))
                .unwrap_or(0);
            Ok(format!("{node}:{}", first + i))
        }
        _ => Err(bad(function, s)),
    }
}

fn bad(function: &str, s: &str) -> Error {
    Error::InvalidArgument {
        node: function.to_string(),
        op: "FunctionDef".into(),
        msg: format!("'{s}' names no argument or node output of the function"),
    }
}

impl Body {
    /// The body of TensorFlow's `FunctionDef`.
    pub fn from_function_def(f: &FunctionDef) -> Result<Body> {
        let sig = f.signature.clone().unwrap_or_default();
        let ops: HashMap<&str, &str> = f
            .node_def
            .iter()
            .map(|n| (n.name.as_str(), n.op.as_str()))
            .collect();
        let nodes = f
            .node_def
            .iter()
            .map(|n| {
                let input = n
                    .input
                    .iter()
                    .map(|i| graph_input(i, &ops, &sig.name))
                    .collect::<Result<_>>()?;
                Ok(NodeDef { input, ..n.clone() })
            })
            .collect::<Result<_>>()?;
        let rets = sig
            .output_arg
            .iter()
            .map(|o| {
                let r = f.ret.get(&o.name).ok_or_else(|| bad(&sig.name, &o.name))?;
                graph_input(r, &ops, &sig.name)
            })
            .collect::<Result<_>>()?;
        Ok(Body {
            args: sig.input_arg.iter().map(|a| a.name.clone()).collect(),
            nodes,
            rets,
        })
    }
}

/// The bodies of a GraphDef's function library.
pub fn library(lib: Option<&FunctionDefLibrary>) -> Result<Functions> {
    lib.into_iter()
        .flat_map(|l| &l.function)
        .map(|f| {
            let name = f.signature.as_ref().map(|s| s.name.clone());
            Ok((name.unwrap_or_default(), Body::from_function_def(f)?))
        })
        .collect()
}
