//! TensorFlow's TensorArrays as rustflow's [`TensorArray`]: TF1's `TensorArrayV3` (a handle
//! and a flow) and TF2's `TensorList` (one variant tensor) both become rustflow's flow tensor,
//! the elements stacked along the first axis. The handle only names the array: reads and
//! writes take the flow input, and the handle output stands for the array's size.
//!
//! An array created without an element shape (TensorFlow's default) takes it from the
//! array's stack or gather ([`element_shapes`], before import), else from its first write.

use crate::import::{parse_input, Imported, NodeImport};
use rustflow_graph::{Result, Tensor};
use rustflow_ops::{self as ops, constant, TensorArray};
use rustflow_proto::{attr_value::Value as Attr, AttrValue, GraphDef, NodeDef};
use std::collections::HashMap;

/// The node that creates the array `input` (a handle, flow or list) stands for, through
/// `Enter`, `Identity`, `Exit`, loops (output `k` of a `While` is its input `k`) and writes.
fn creator<'a>(by_name: &HashMap<&str, &'a NodeDef>, input: &str) -> Option<&'a NodeDef> {
    let mut s = input.to_string();
    for _ in 0..by_name.len() {
        let (name, port, _) = parse_input(&s);
        let n = by_name.get(name)?;
        let next = match n.op.as_str() {
            "TensorArrayV3" | "TensorListReserve" => return Some(n),
            "While" | "StatelessWhile" => n.input.get(port),
            "Enter"
            | "RefEnter"
            | "Exit"
            | "RefExit"
            | "Identity"
            | "TensorArrayWriteV3"
            | "TensorArrayScatterV3"
            | "TensorListSetItem" => n.input.first(),
            _ => None,
        };
        s = next?.clone();
    }
    None
}

/// Gives each array created without an element shape the one its stack or gather names
/// (`TensorArrayGatherV3`'s `element_shape`; `TensorListStack`'s or `TensorListGather`'s
/// element shape input, a constant of the same graph).
pub(crate) fn element_shapes(def: &GraphDef) -> GraphDef {
    let by_name: HashMap<&str, &NodeDef> = def.node.iter().map(|n| (n.name.as_str(), n)).collect();
    let mut shape_attr: HashMap<String, AttrValue> = HashMap::new();
    let mut shape_input: HashMap<String, String> = HashMap::new();
    for n in &def.node {
        // The array's creator, and the shape as an attribute (TF1) or an input (TF2).
        let (shape, input) = match n.op.as_str() {
            "TensorArrayGatherV3" => (n.attr.get("element_shape").filter(|a| known(a)), None),
            "TensorListStack" => (None, n.input.get(1)),
            "TensorListGather" => (None, n.input.get(2)),
            _ => continue,
        };
        match (
            n.input.first().and_then(|l| creator(&by_name, l)),
            shape,
            input,
        ) {
            (Some(c), Some(a), _) if c.op == "TensorArrayV3" => {
                shape_attr.insert(c.name.clone(), a.clone());
            }
            (Some(c), _, Some(s)) if c.op == "TensorListReserve" => {
                shape_input.insert(c.name.clone(), s.clone());
            }
            _ => {}
        }
    }
    let mut out = def.clone();
    for n in &mut out.node {
        if n.op == "TensorArrayV3" && !n.attr.get("element_shape").is_some_and(known) {
            if let Some(a) = shape_attr.get(&n.name) {
                n.attr.insert("element_shape".into(), a.clone());
            }
        }
        if let (Some(s), Some(first)) = (shape_input.get(&n.name), n.input.first_mut()) {
            *first = s.clone();
        }
    }
    out
}

/// Whether a shape attribute is fully known.
fn known(a: &AttrValue) -> bool {
    match &a.value {
        Some(Attr::Shape(s)) => !s.unknown_rank && s.dim.iter().all(|d| d.size >= 0),
        _ => false,
    }
}

/// A fresh array of `size` elements of `dtype` and `element_shape` (`None`: taken from the
/// first write).
fn create(
    n: &NodeImport<'_>,
    size: &Tensor,
    dtype: &str,
    dims: Option<Vec<usize>>,
) -> Result<TensorArray> {
    let dtype = n.dtype(dtype)?;
    TensorArray::new(size, dtype, dims.as_deref().unwrap_or(&[]))
}

/// `TensorArrayV3(size)`: outputs the handle (the size) and the flow.
pub(crate) fn tensor_array_v3(n: &NodeImport<'_>) -> Result<Imported> {
    let size = n.input(0)?;
    let shape = n.shape("element_shape")?;
    let dims = shape.dims().and_then(|d| d.iter().copied().collect());
    let flow = create(n, size, "dtype", dims)?.flow().clone();
    Ok(Imported {
        op: flow.op(),
        outputs: vec![size.clone(), flow],
    })
}

/// `TensorListReserve(element_shape, num_elements)`.
pub(crate) fn tensor_list_reserve(n: &NodeImport<'_>) -> Result<Imported> {
    let shape = n.const_ints(0)?;
    let dims = (n.input(0)?.shape().rank() == Some(1))
        .then(|| shape.iter().map(|&d| usize::try_from(d).ok()).collect())
        .flatten();
    Ok(create(n, n.input(1)?, "element_dtype", dims)?
        .flow()
        .clone()
        .into())
}

/// The array a write of `element` (one element) goes into: `flow`'s, or, when `flow` is a
/// fresh array created without an element shape, a fresh one shaped like `element`.
fn target(flow: &Tensor, element: impl FnOnce() -> Result<Tensor>) -> Result<TensorArray> {
    let op = flow.op();
    if op.op_type() == "TensorArrayV3" && op.inputs().len() == 1 && flow.shape().rank() == Some(1) {
        return TensorArray::like(&op.inputs()[0], &element()?);
    }
    Ok(TensorArray::from_flow(flow))
}

/// `TensorArrayWriteV3(handle, index, value, flow)` and `TensorListSetItem(list, index,
/// item)`: the flow after the write.
pub(crate) fn write(n: &NodeImport<'_>) -> Result<Imported> {
    let flow = n.input(if n.def.op == "TensorListSetItem" {
        0
    } else {
        3
    })?;
    let (index, value) = (n.input(1)?, n.input(2)?);
    let ta = target(flow, || Ok(value.clone()))?;
    let ta = ta.write(index, value).map_err(|e| {
        n.error(format!(
            "{e} (an array without an element shape takes it from its stack or gather, or \
             from a first write outside any loop)"
        ))
    })?;
    Ok(ta.flow().clone().into())
}

/// `TensorArrayScatterV3(handle, indices, value, flow)`: the flow after the writes.
pub(crate) fn scatter(n: &NodeImport<'_>) -> Result<Imported> {
    let (indices, value) = (n.input(1)?, n.input(2)?);
    let ta = target(n.input(3)?, || {
        TensorArray::unstack(value)?.read(&constant(n.graph, 0i32, "element"))
    })?;
    Ok(ta.scatter(indices, value)?.flow().clone().into())
}

/// `TensorArrayReadV3(handle, index, flow)`, `TensorListGetItem(list, index, shape)`.
pub(crate) fn read(n: &NodeImport<'_>) -> Result<Imported> {
    let flow = n.input(if n.def.op == "TensorListGetItem" {
        0
    } else {
        2
    })?;
    Ok(TensorArray::from_flow(flow).read(n.input(1)?)?.into())
}

/// `TensorArrayGatherV3(handle, indices, flow)`, `TensorListGather(list, indices, shape)`.
pub(crate) fn gather(n: &NodeImport<'_>) -> Result<Imported> {
    let flow = n.input(if n.def.op == "TensorListGather" { 0 } else { 2 })?;
    Ok(TensorArray::from_flow(flow).gather(n.input(1)?)?.into())
}

/// `TensorArraySizeV3(handle, flow)`, `TensorListLength(list)`.
pub(crate) fn size(n: &NodeImport<'_>) -> Result<Imported> {
    let flow = n.input(if n.def.op == "TensorListLength" { 0 } else { 1 })?;
    let s = TensorArray::from_flow(flow).size()?;
    Ok(ops::identity(&s)?.into())
}

/// `TensorListFromTensor(tensor, shape)` and `TensorListStack(list, shape)`: the tensor is
/// the flow.
pub(crate) fn same_flow(n: &NodeImport<'_>) -> Result<Imported> {
    let flow = TensorArray::unstack(n.input(0)?)?;
    Ok(ops::identity(flow.flow())?.into())
}
