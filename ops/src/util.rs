//! Helpers shared by the op builders: adding nodes, dtype checks, broadcasting shapes.

use crate::state::VariableOp;
use rustflow_graph::{
    fmt_dims, DType, Dim, Error, Graph, Op, OpKind, Operation, Result, Shape, Tensor, TensorSpec,
};
use std::sync::Arc;

/// Adds a node to the graph of `inputs[0]` (or `g`) and returns it.
pub(crate) fn add(
    g: &Graph,
    name: &str,
    op: impl Op,
    inputs: &[&Tensor],
    outputs: Vec<TensorSpec>,
) -> Result<Operation> {
    if !g.in_control_dependencies() {
        return g.add_node(name, Arc::new(op), inputs, &[], outputs);
    }
    // Inside `control_dependencies`, a variable is read by a new node that carries the
    // dependencies, so the read sees what the dependencies wrote (TensorFlow's ref semantics).
    let reads: Vec<Tensor> = inputs
        .iter()
        .map(|t| match t.op().kind() {
            OpKind::Variable => {
                let var = t.op();
                let reader = VariableOp::reader(var.name(), var.id());
                g.add_node(
                    &format!("{}/read", var.name()),
                    Arc::new(reader),
                    &[],
                    &[],
                    vec![t.spec()],
                )?
                .output(0)
            }
            _ => Ok((*t).clone()),
        })
        .collect::<Result<_>>()?;
    g.add_node(
        name,
        Arc::new(op),
        &reads.iter().collect::<Vec<_>>(),
        &[],
        outputs,
    )
}

/// Adds a single-output node and returns its output.
pub(crate) fn add1(
    g: &Graph,
    name: &str,
    op: impl Op,
    inputs: &[&Tensor],
    out: TensorSpec,
) -> Result<Tensor> {
    add(g, name, op, inputs, vec![out])?.output(0)
}

/// A build-time shape error for the node that `name` would become.
pub(crate) fn shape_error(
    g: &Graph,
    name: &str,
    op: &str,
    msg: String,
    inputs: &[&Tensor],
) -> Error {
    Error::Shape {
        node: g.peek_unique_name(name),
        op: op.into(),
        msg,
        inputs: inputs.iter().map(|t| t.shape()).collect(),
    }
}

/// A build-time argument error for the node that `name` would become.
pub(crate) fn arg_error(g: &Graph, name: &str, op: &str, msg: String) -> Error {
    Error::InvalidArgument {
        node: g.peek_unique_name(name),
        op: op.into(),
        msg,
    }
}

/// Checks that every input has the dtype of the first (TensorFlow never promotes).
pub(crate) fn same_dtype(g: &Graph, name: &str, op: &str, inputs: &[&Tensor]) -> Result<DType> {
    let first = inputs[0].dtype();
    let arg = ["x", "y", "z", "w"];
    for (i, t) in inputs.iter().enumerate().skip(1) {
        let d = t.dtype();
        if d != first {
            return Err(Error::Type {
                node: g.peek_unique_name(name),
                op: op.into(),
                msg: format!(
                    "Input '{}' of '{}' Op has type {} that does not match type {} of argument '{}'.",
                    arg.get(i).unwrap_or(&"input"),
                    op,
                    d,
                    first,
                    arg[0]
                ),
            });
        }
    }
    Ok(first)
}

/// Checks that `t` has one of the `allowed` dtypes.
pub(crate) fn expect_dtype(
    g: &Graph,
    name: &str,
    op: &str,
    t: &Tensor,
    allowed: &[DType],
) -> Result<DType> {
    let d = t.dtype();
    if allowed.contains(&d) {
        Ok(d)
    } else {
        Err(Error::Type {
            node: g.peek_unique_name(name),
            op: op.into(),
            msg: format!(
                "Value passed to '{}' has DataType {} not in list of allowed values: {}",
                op,
                d,
                allowed
                    .iter()
                    .map(|d| d.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        })
    }
}

/// The static shape of a NumPy-style broadcast, or the message of why it fails.
pub(crate) fn broadcast_shapes(a: &Shape, b: &Shape) -> std::result::Result<Shape, String> {
    let (Some(a), Some(b)) = (a.dims(), b.dims()) else {
        return Ok(Shape::unknown());
    };
    let n = a.len().max(b.len());
    let mut out = vec![None; n];
    for (i, o) in out.iter_mut().enumerate() {
        let da: Dim = if i + a.len() >= n {
            a[i + a.len() - n]
        } else {
            Some(1)
        };
        let db: Dim = if i + b.len() >= n {
            b[i + b.len() - n]
        } else {
            Some(1)
        };
        *o = match (da, db) {
            (Some(x), Some(y)) if x == y => Some(x),
            (Some(1), d) | (d, Some(1)) => d,
            (Some(x), Some(y)) => {
                return Err(format!("Dimensions must be equal, but are {x} and {y}"));
            }
            (None, Some(y)) => Some(y),
            (Some(x), None) => Some(x),
            (None, None) => None,
        };
    }
    Ok(Shape::new(out))
}

/// The concrete shape of a broadcast of two concrete shapes.
pub(crate) fn broadcast_dims(a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let n = a.len().max(b.len());
    (0..n)
        .map(|i| {
            let da = if i + a.len() >= n {
                a[i + a.len() - n]
            } else {
                1
            };
            let db = if i + b.len() >= n {
                b[i + b.len() - n]
            } else {
                1
            };
            match (da, db) {
                (x, y) if x == y => Ok(x),
                (1, y) => Ok(y),
                (x, 1) => Ok(x),
                _ => Err(Error::Kernel(format!(
                    "Incompatible shapes: {} vs. {}",
                    fmt_dims(a),
                    fmt_dims(b)
                ))),
            }
        })
        .collect()
}

/// Normalises a possibly negative axis against a rank.
pub(crate) fn norm_axis(axis: i64, rank: usize) -> Option<usize> {
    let r = rank as i64;
    if axis >= -r && axis < r {
        Some(if axis < 0 {
            (axis + r) as usize
        } else {
            axis as usize
        })
    } else {
        None
    }
}

/// Calls `f(k, offsets)` for every element `k` of a broadcast to `out`, with the row-major
/// offset of that element in each operand of `shapes` (dimensions of size 1, or missing on the
/// left, repeat). The shapes must broadcast to `out`.
pub(crate) fn for_each_broadcast(
    out: &[usize],
    shapes: &[&[usize]],
    mut f: impl FnMut(usize, &[usize]),
) {
    let n: usize = out.iter().product();
    if shapes.iter().all(|s| *s == out) {
        let mut offs = vec![0; shapes.len()];
        for k in 0..n {
            offs.iter_mut().for_each(|o| *o = k);
            f(k, &offs);
        }
        return;
    }
    let rank = out.len();
    // Per operand, the stride of each output dimension (0 where broadcast).
    let strides: Vec<Vec<usize>> = shapes
        .iter()
        .map(|s| {
            let mut st = vec![0; rank];
            let mut acc = 1;
            for i in (0..s.len()).rev() {
                let o = rank - s.len() + i;
                st[o] = if s[i] == 1 { 0 } else { acc };
                acc *= s[i];
            }
            st
        })
        .collect();
    let mut idx = vec![0; rank];
    let mut offs = vec![0; shapes.len()];
    for k in 0..n {
        f(k, &offs);
        for d in (0..rank).rev() {
            idx[d] += 1;
            for (o, st) in offs.iter_mut().zip(&strides) {
                *o += st[d];
            }
            if idx[d] < out[d] {
                break;
            }
            for (o, st) in offs.iter_mut().zip(&strides) {
                *o -= st[d] * out[d];
            }
            idx[d] = 0;
        }
    }
}
