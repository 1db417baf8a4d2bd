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
    /// The op's attribute text as it is (`axis=1 exclusive=true`, `Tile { multiples: [1] }`).
    pub raw: String,
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

    /// Attribute `key` of the raw attribute text (`key=v` or `key: v`; a bracketed list whole).
    fn value(&self, key: &str) -> Result<String> {
        let raw = self.raw.as_str();
        let start = [format!("{key}="), format!("{key}: ")]
            .iter()
            .find_map(|k| {
                raw.match_indices(k.as_str())
                    .find(|(i, _)| {
                        *i == 0
                            || !raw.as_bytes()[i - 1].is_ascii_alphanumeric()
                                && raw.as_bytes()[i - 1] != b'_'
                    })
                    .map(|(i, _)| i + k.len())
            })
            .ok_or_else(|| self.error(format!("the op lists no attribute '{key}'")))?;
        let rest = &raw[start..];
        // `Some([..])`, `Given([..])`: the list inside.
        let rest = match rest.split_once('(') {
            Some((w, inner)) if w.chars().all(char::is_alphanumeric) && inner.starts_with('[') => {
                inner
            }
            _ => rest,
        };
        let end = if rest.starts_with('[') {
            let mut depth = 0;
            rest.char_indices()
                .find(|&(_, c)| {
                    depth += i32::from(c == '[') - i32::from(c == ']');
                    depth == 0
                })
                .map_or(rest.len(), |(i, _)| i + 1)
        } else {
            rest.find([',', ' ', '}', ')']).unwrap_or(rest.len())
        };
        Ok(rest[..end].trim().to_string())
    }

    /// The integer field `key` of a struct's debug text (`SliceMasks { begin: 0, ... }`).
    fn field(text: &str, key: &str) -> Option<i64> {
        let at = text.find(&format!("{key}: "))? + key.len() + 2;
        numbers(&text[at..]).first().copied()
    }

    /// Integer attribute `key`'s numbers as an int32 `Const` input `<name>/<key>` (a scalar
    /// when the attribute is one number, not a list).
    fn ints_input(&mut self, key: &str) -> Result<String> {
        let v = self.value(key)?;
        let nums = numbers(&v);
        if v.contains('[') {
            Ok(self.int32s(key, &nums))
        } else {
            let x = *nums
                .first()
                .ok_or_else(|| self.error(format!("'{key}' is not a number")))?;
            Ok(self.constant(key, Value::scalar(x as i32)))
        }
    }

    /// The `paddings` attribute as a `[rank, 2]` int32 `Const` input.
    fn paddings(&mut self) -> Result<String> {
        let p: Vec<i32> = numbers(&self.value("paddings")?)
            .iter()
            .map(|&x| x as i32)
            .collect();
        let v = Value::new(&[p.len() / 2, 2], p).map_err(|e| self.error(e.to_string()))?;
        Ok(self.constant("paddings", v))
    }

    /// The op with its data inputs, then `extra` inputs, type attribute `T` and `attrs`.
    fn with_inputs(&mut self, op: &str, extra: &[String], attrs: Vec<(&str, AttrValue)>) {
        let mut inputs = self.inputs.clone();
        inputs.extend_from_slice(extra);
        self.typed(op, &inputs, attrs);
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
    ("ConcatV2", |n| {
        let axis = n.ints_input("axis")?;
        let count = n.inputs.len() as i64;
        n.with_inputs(
            "ConcatV2",
            &[axis],
            vec![("N", a(Attr::I(count))), ("Tidx", ty(DType::I32))],
        );
        Ok(())
    }),
    ("Transpose", |n| {
        let perm = match n.value("perm")?.as_str() {
            "None" => {
                let r = n
                    .input_shape(0)
                    .rank()
                    .ok_or_else(|| n.error("unknown rank"))?;
                (0..r as i64).rev().collect()
            }
            p => numbers(p),
        };
        let perm = n.int32s("perm", &perm);
        n.with_inputs("Transpose", &[perm], vec![("Tperm", ty(DType::I32))]);
        Ok(())
    }),
    ("Tile", |n| {
        let m = n.ints_input("multiples")?;
        n.with_inputs("Tile", &[m], vec![("Tmultiples", ty(DType::I32))]);
        Ok(())
    }),
    ("PadV2", |n| {
        let p = n.paddings()?;
        let c: f32 = n
            .value("constant")?
            .parse()
            .map_err(|_| n.error("constant"))?;
        let c = n.constant("constant_values", Value::scalar(c));
        n.with_inputs("PadV2", &[p, c], vec![("Tpaddings", ty(DType::I32))]);
        Ok(())
    }),
    ("MirrorPad", |n| {
        let p = n.paddings()?;
        let mode = n.value("mode")?.to_uppercase().into_bytes();
        n.with_inputs(
            "MirrorPad",
            &[p],
            vec![("Tpaddings", ty(DType::I32)), ("mode", a(Attr::S(mode)))],
        );
        Ok(())
    }),
    ("ExpandDims", |n| {
        let axis = n.ints_input("axis")?;
        n.with_inputs("ExpandDims", &[axis], vec![("Tdim", ty(DType::I32))]);
        Ok(())
    }),
    ("ReverseV2", |n| {
        let axes = n.ints_input("axes")?;
        n.with_inputs("ReverseV2", &[axes], vec![("Tidx", ty(DType::I32))]);
        Ok(())
    }),
    ("Cumsum", |n| {
        let axis = n.ints_input("axis")?;
        let flag = |n: &ExportNode<'_>, k: &str| Ok::<_, Error>(a(Attr::B(n.value(k)? == "true")));
        let attrs = vec![
            ("exclusive", flag(n, "exclusive")?),
            ("reverse", flag(n, "reverse")?),
            ("Tidx", ty(DType::I32)),
        ];
        n.with_inputs("Cumsum", &[axis], attrs);
        Ok(())
    }),
    ("GatherV2", |n| {
        let axis = n.ints_input("axis")?;
        let (p, i) = (
            n.input_dtype(0).unwrap_or(DType::F32),
            n.input_dtype(1).unwrap_or(DType::I32),
        );
        let mut inputs = n.inputs.clone();
        inputs.push(axis);
        let name = n.name().to_string();
        let attrs = vec![
            ("Tparams", ty(p)),
            ("Tindices", ty(i)),
            ("Taxis", ty(DType::I32)),
            ("batch_dims", a(Attr::I(0))),
        ];
        n.push(&name, "GatherV2", &inputs, attrs);
        Ok(())
    }),
    ("Slice", |n| {
        let (b, z) = (n.ints_input("begin")?, n.ints_input("size")?);
        n.with_inputs("Slice", &[b, z], vec![("Index", ty(DType::I32))]);
        Ok(())
    }),
    ("StridedSlice", |n| {
        let (b, e, s) = (
            n.ints_input("begin")?,
            n.ints_input("end")?,
            n.ints_input("strides")?,
        );
        let mut attrs = vec![("Index", ty(DType::I32))];
        for (k, tf) in [
            ("begin", "begin_mask"),
            ("end", "end_mask"),
            ("ellipsis", "ellipsis_mask"),
            ("new_axis", "new_axis_mask"),
            ("shrink_axis", "shrink_axis_mask"),
        ] {
            let masks = &n.raw[n.raw.find("masks").unwrap_or(0)..];
            let v = ExportNode::field(masks, k).ok_or_else(|| n.error(format!("mask {k}")))?;
            attrs.push((tf, a(Attr::I(v))));
        }
        n.with_inputs("StridedSlice", &[b, e, s], attrs);
        Ok(())
    }),
    ("Split", |n| {
        let axis = n.ints_input("axis")?;
        let count = n.node.outputs.len() as i64;
        let mut inputs = vec![axis];
        inputs.extend(n.inputs.clone());
        n.typed("Split", &inputs, vec![("num_split", a(Attr::I(count)))]);
        if let (Some(d), Some(last)) = (n.input_dtype(0), n.out.last_mut()) {
            last.attr.insert("T".into(), ty(d));
        }
        Ok(())
    }),
    ("SplitV", |n| {
        let sizes = n.int32s("size_splits", &numbers(&n.value("sizes")?));
        let axis = n.ints_input("axis")?;
        let count = n.node.outputs.len() as i64;
        n.with_inputs(
            "SplitV",
            &[sizes, axis],
            vec![("num_split", a(Attr::I(count))), ("Tlen", ty(DType::I32))],
        );
        Ok(())
    }),
    ("Pack", |n| {
        let axis = numbers(&n.value("axis")?)[0];
        let count = n.inputs.len() as i64;
        n.with_inputs(
            "Pack",
            &[],
            vec![("N", a(Attr::I(count))), ("axis", a(Attr::I(axis)))],
        );
        Ok(())
    }),
    ("Unpack", |n| {
        let axis = numbers(&n.value("axis")?)[0];
        let count = n.node.outputs.len() as i64;
        n.with_inputs(
            "Unpack",
            &[],
            vec![("num", a(Attr::I(count))), ("axis", a(Attr::I(axis)))],
        );
        Ok(())
    }),
    ("Squeeze", |n| {
        let dims = numbers(&n.value("axis")?);
        n.with_inputs("Squeeze", &[], vec![("squeeze_dims", ints(&dims))]);
        Ok(())
    }),
    ("OneHot", |n| {
        let depth = n.ints_input("depth")?;
        let num = |n: &ExportNode<'_>, k: &str| {
            n.value(k)?
                .parse::<f32>()
                .map_err(|_| n.error(k.to_string()))
        };
        let (on, off) = (num(n, "on_value")?, num(n, "off_value")?);
        let on = n.constant("on_value", Value::scalar(on));
        let off = n.constant("off_value", Value::scalar(off));
        let axis = numbers(&n.value("axis")?)[0];
        let mut inputs = n.inputs.clone();
        inputs.extend([depth, on, off]);
        let ti = n.input_dtype(0).unwrap_or(DType::I32);
        let name = n.name().to_string();
        n.push(
            &name,
            "OneHot",
            &inputs,
            vec![
                ("T", ty(DType::F32)),
                ("TI", ty(ti)),
                ("axis", a(Attr::I(axis))),
            ],
        );
        Ok(())
    }),
    ("Min", |n| n.reduce("Min")),
    ("Prod", |n| n.reduce("Prod")),
    ("Any", |n| {
        n.reduce("Any")?;
        n.out.last_mut().map(|d| d.attr.remove("T"));
        Ok(())
    }),
    ("All", |n| {
        n.reduce("All")?;
        n.out.last_mut().map(|d| d.attr.remove("T"));
        Ok(())
    }),
    ("ArgMin", |n| {
        let axis = n.ints_input("axis")?;
        n.with_inputs(
            "ArgMin",
            &[axis],
            vec![("Tidx", ty(DType::I32)), ("output_type", ty(DType::I64))],
        );
        Ok(())
    }),
    ("TopKV2", |n| {
        let k = n.ints_input("k")?;
        let sorted = n.value("sorted")? == "true";
        n.with_inputs("TopKV2", &[k], vec![("sorted", a(Attr::B(sorted)))]);
        Ok(())
    }),
    ("LeakyRelu", |n| {
        let alpha: f32 = n.value("alpha")?.parse().map_err(|_| n.error("alpha"))?;
        n.with_inputs("LeakyRelu", &[], vec![("alpha", a(Attr::F(alpha)))]);
        Ok(())
    }),
    ("LRN", |n| {
        let r = numbers(&n.value("depth_radius")?)[0];
        let mut attrs = vec![("depth_radius", a(Attr::I(r)))];
        for k in ["bias", "alpha", "beta"] {
            let v: f32 = n.value(k)?.parse().map_err(|_| n.error(k.to_string()))?;
            attrs.push((k, a(Attr::F(v))));
        }
        n.with_inputs("LRN", &[], attrs);
        Ok(())
    }),
    ("Fill", |n| {
        let dims = n.ints_input("dims")?;
        let mut inputs = vec![dims];
        inputs.extend(n.inputs.clone());
        let name = n.name().to_string();
        let t = n.input_dtype(0).unwrap_or(DType::F32);
        n.push(
            &name,
            "Fill",
            &inputs,
            vec![("T", ty(t)), ("index_type", ty(DType::I32))],
        );
        Ok(())
    }),
    ("InTopKV2", |n| {
        let k = numbers(&n.value("k")?)[0];
        let t = n.input_dtype(1).unwrap_or(DType::I32);
        let k = match t {
            DType::I64 => n.constant("k", Value::scalar(k)),
            _ => n.constant("k", Value::scalar(k as i32)),
        };
        let mut inputs = n.inputs.clone();
        inputs.push(k);
        let name = n.name().to_string();
        n.push(&name, "InTopKV2", &inputs, vec![("T", ty(t))]);
        Ok(())
    }),
    ("BatchMatMulV2", |n| {
        let flag = |n: &ExportNode<'_>, k: &str| Ok::<_, Error>(a(Attr::B(n.value(k)? == "true")));
        let attrs = vec![("adj_x", flag(n, "adj_x")?), ("adj_y", flag(n, "adj_y")?)];
        n.with_inputs("BatchMatMulV2", &[], attrs);
        Ok(())
    }),
    ("DepthwiseConv2dNative", |n| {
        let mut attrs = n.window()?;
        attrs.push(("dilations", ints(&numbers(n.attr("dilations")?))));
        n.with_inputs("DepthwiseConv2dNative", &[], attrs);
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
            raw: node.op.attrs(),
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
