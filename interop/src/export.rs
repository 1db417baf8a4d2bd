//! `to_graph_def` and `write_graph`: a rustflow graph as TensorFlow's `GraphDef`, with
//! TensorFlow's op types and attributes, through [`EXPORTS`] (one row per rustflow op type
//! that needs more than its type attribute `T`).

use crate::convert::{proto_dtype, shape_proto, tensor_proto};
use crate::import::update_inputs;
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

    /// The `axis` attribute's axes of input `i` (`All`: every axis of its static rank).
    fn axes(&self, i: usize) -> Result<Vec<i64>> {
        let axis = self.attr("axis")?;
        if axis.contains("All") {
            let rank = self.input_shape(i).rank().ok_or_else(|| {
                self.error("a reduction over all axes of an input of unknown rank")
            })?;
            Ok((0..rank as i64).collect())
        } else {
            Ok(numbers(axis))
        }
    }

    /// Adds `<name>/<suffix>` of TensorFlow op `op` with `attrs` (not `T`); returns its name.
    fn sub(
        &mut self,
        suffix: &str,
        op: &str,
        inputs: &[&str],
        attrs: Vec<(&str, AttrValue)>,
    ) -> String {
        let name = format!("{}/{suffix}", self.name());
        let inputs: Vec<String> = inputs.iter().map(|s| s.to_string()).collect();
        self.push(&name, op, &inputs, attrs);
        name
    }

    /// `Shape(x)` as int32, named `<name>/<suffix>`.
    fn shape_of(&mut self, suffix: &str, x: &str, dtype: DType) -> String {
        self.sub(
            suffix,
            "Shape",
            &[x],
            vec![("T", ty(dtype)), ("out_type", ty(DType::I32))],
        )
    }

    /// Input `i` (a reduction's result or its gradient) with the reduced `axes` of a rank
    /// `rank` input kept as 1s: itself when it has rank `rank`, else one `ExpandDims` per
    /// axis in ascending order.
    fn kept_dims(&mut self, i: usize, axes: &[i64], rank: usize) -> Result<String> {
        let mut axes: Vec<i64> = axes
            .iter()
            .map(|&a| if a < 0 { a + rank as i64 } else { a })
            .collect();
        axes.sort_unstable();
        axes.dedup();
        let have = self
            .input_shape(i)
            .rank()
            .ok_or_else(|| self.error(format!("input {i} has unknown rank")))?;
        let mut t = self.inputs[i].clone();
        if have == rank {
            return Ok(t);
        }
        if have + axes.len() != rank {
            return Err(self.error(format!(
                "input {i} of rank {have} is not a reduction over {axes:?} of rank {rank}"
            )));
        }
        let d = self.input_dtype(i).unwrap_or(DType::F32);
        for a in axes {
            let dim = self.constant(&format!("kept{i}_{a}/dim"), Value::scalar(a as i32));
            t = self.sub(
                &format!("kept{i}_{a}"),
                "ExpandDims",
                &[&t, &dim],
                vec![("T", ty(d)), ("Tdim", ty(DType::I32))],
            );
        }
        Ok(t)
    }

    /// The static rank of input `i`, or an error.
    fn rank(&self, i: usize) -> Result<usize> {
        self.input_shape(i)
            .rank()
            .ok_or_else(|| self.error(format!("input {i} has unknown rank")))
    }

    /// A float binary op `<name>/<suffix>` (or the node itself when `suffix` is empty).
    fn binary(&mut self, suffix: &str, op: &str, x: &str, y: &str) -> String {
        let attrs = vec![("T", ty(DType::F32))];
        if suffix.is_empty() {
            let name = self.name().to_string();
            self.push(&name, op, &[x.to_string(), y.to_string()], attrs);
            name
        } else {
            self.sub(suffix, op, &[x, y], attrs)
        }
    }

    /// `Sum(x, axis=-1, keep_dims=true)` named `<name>/<suffix>`.
    fn sum_last(&mut self, suffix: &str, x: &str) -> String {
        let axis = self.constant(&format!("{suffix}/axis"), Value::scalar(-1i32));
        self.sub(
            suffix,
            "Sum",
            &[x, &axis],
            vec![
                ("T", ty(DType::F32)),
                ("Tidx", ty(DType::I32)),
                ("keep_dims", a(Attr::B(true))),
            ],
        )
    }

    /// `ExpandDims(x, -1)` named `<name>/<suffix>`.
    fn expand_last(&mut self, suffix: &str, x: &str) -> String {
        let dim = self.constant(&format!("{suffix}/dim"), Value::scalar(-1i32));
        self.sub(
            suffix,
            "ExpandDims",
            &[x, &dim],
            vec![("T", ty(DType::F32)), ("Tdim", ty(DType::I32))],
        )
    }

    /// The node as `Unpack(Pack(outputs))`: a rustflow op with several outputs of one shape
    /// written as a TensorFlow subgraph per output.
    fn outputs_of(&mut self, outputs: &[String]) {
        let n = outputs.len() as i64;
        let attrs = |k: &'static str| {
            vec![
                ("T", ty(DType::F32)),
                (k, a(Attr::I(n))),
                ("axis", a(Attr::I(0))),
            ]
        };
        let refs: Vec<&str> = outputs.iter().map(String::as_str).collect();
        let pack = self.sub("Pack", "Pack", &refs, attrs("N"));
        let name = self.name().to_string();
        self.push(&name, "Unpack", &[pack], attrs("num"));
    }

    /// The same TensorFlow op with its two inputs swapped (a fused element-wise gradient
    /// TensorFlow takes as `(dy, saved)`, rustflow as `(saved, dy)`).
    fn swapped(&mut self) {
        let inputs = vec![self.inputs[1].clone(), self.inputs[0].clone()];
        let op = self.node.op.op_type();
        self.typed(op, &inputs, vec![]);
    }

    /// A convolution's attributes (a depthwise one has no `use_cudnn_on_gpu`).
    fn conv_attrs(&self) -> Result<Vec<(&'static str, AttrValue)>> {
        let mut attrs = self.window()?;
        let dilations = self
            .attrs
            .get("dilations")
            .map_or(vec![1, 1, 1, 1], |d| numbers(d));
        attrs.push(("dilations", ints(&dilations)));
        if !self.node.op.op_type().starts_with("Depthwise") {
            attrs.push(("use_cudnn_on_gpu", a(Attr::B(true))));
        }
        Ok(attrs)
    }

    /// A convolution's gradient whose input `shape_only` is read for its shape (or is the
    /// int32 shape itself).
    fn conv_backprop(&mut self, shape_only: usize) -> Result<()> {
        let attrs = self.conv_attrs()?;
        let mut inputs = self.inputs.clone();
        if self.input_dtype(shape_only) != Some(DType::I32) {
            let src = inputs[shape_only].clone();
            inputs[shape_only] = self.shape_of("Shape", &src, DType::F32);
        }
        self.push_typed(self.node.op.op_type(), &inputs, attrs);
        Ok(())
    }

    /// A pool's `ksize`, `strides`, `padding`, `data_format` (and `explicit_paddings`).
    fn pool_attrs(&self, explicit: bool) -> Result<Vec<(&'static str, AttrValue)>> {
        let mut attrs = self.window()?;
        attrs.push(("ksize", ints(&numbers(self.attr("ksize")?))));
        if !explicit {
            attrs.retain(|(k, _)| *k != "explicit_paddings");
        }
        Ok(attrs)
    }

    /// `MaxPoolGrad(x, dy)` (`grad`) or `MaxPoolGradGrad(x, g)` with the pooled output.
    fn max_pool_grad(&mut self, grad: bool) -> Result<()> {
        let attrs = self.pool_attrs(true)?;
        let x = self.inputs[0].clone();
        let y = self.sub(
            "MaxPool",
            "MaxPool",
            &[&x],
            [attrs.clone(), vec![("T", ty(DType::F32))]].concat(),
        );
        let inputs = vec![x, y, self.inputs[1].clone()];
        let attrs = if grad { attrs } else { self.pool_attrs(false)? };
        self.push_typed(self.node.op.op_type(), &inputs, attrs);
        Ok(())
    }

    /// A fused batch norm's (or its gradient's) attributes: `epsilon`, `is_training` (fixed
    /// when built; one that reads a training tensor has no TensorFlow form), NHWC, `U`.
    fn batch_norm_attrs(&self) -> Result<Vec<(&'static str, AttrValue)>> {
        let eps: f32 = self
            .value("epsilon")?
            .parse()
            .map_err(|_| self.error("epsilon"))?;
        let training = match self.value("is_training")?.as_str() {
            "true" => true,
            "false" => false,
            _ => {
                return Err(self.error(
                    "is_training is read from a tensor at run time, which TensorFlow's \
                     FusedBatchNormV3 cannot express: build it with a fixed training flag",
                ))
            }
        };
        Ok(vec![
            ("epsilon", a(Attr::F(eps))),
            ("is_training", a(Attr::B(training))),
            ("data_format", a(Attr::S(b"NHWC".to_vec()))),
            ("U", ty(DType::F32)),
        ])
    }

    fn lrn_attrs(&self) -> Result<Vec<(&'static str, AttrValue)>> {
        let r = numbers(&self.value("depth_radius")?)[0];
        let mut attrs = vec![("depth_radius", a(Attr::I(r)))];
        for k in ["bias", "alpha", "beta"] {
            let v: f32 = self
                .value(k)?
                .parse()
                .map_err(|_| self.error(k.to_string()))?;
            attrs.push((k, a(Attr::F(v))));
        }
        Ok(attrs)
    }

    /// The node as TensorFlow op `op` of `inputs` with `attrs` and `T` float32.
    fn push_typed(&mut self, op: &str, inputs: &[String], attrs: Vec<(&str, AttrValue)>) {
        let mut attrs = attrs;
        attrs.push(("T", ty(DType::F32)));
        let name = self.name().to_string();
        self.push(&name, op, inputs, attrs);
    }

    /// An update op (`ApplyAdam`, ...): its variables (rustflow's inputs by reference),
    /// gradient and scalars at TensorFlow's input positions ([`crate::import::UPDATE_INPUTS`]).
    fn update(&mut self) -> Result<()> {
        let op = self.node.op.op_type();
        let (vars, grad, scalars) =
            update_inputs(op).ok_or_else(|| self.error("not an update op"))?;
        let names: Vec<String> = self
            .node
            .op
            .reads_variables()
            .iter()
            .map(|&v| self.graph.node(v).name)
            .collect();
        if names.len() != vars.len() || self.inputs.len() != scalars.len() + 1 {
            return Err(self.error(format!(
                "{} variables and {} inputs, TensorFlow's op takes {} and {}",
                names.len(),
                self.inputs.len(),
                vars.len(),
                scalars.len() + 1
            )));
        }
        let mut inputs = vec![String::new(); vars.len() + 1 + scalars.len()];
        for (&at, name) in vars.iter().zip(names) {
            inputs[at] = name;
        }
        inputs[grad] = self.inputs[0].clone();
        for (&at, x) in scalars.iter().zip(&self.inputs[1..]) {
            inputs[at] = x.clone();
        }
        let mut attrs = vec![("use_locking", a(Attr::B(false)))];
        if op == "ApplyMomentum" {
            let nesterov = self.value("use_nesterov").is_ok_and(|v| v == "true");
            attrs.push(("use_nesterov", a(Attr::B(nesterov))));
        }
        if op == "ApplyAdam" {
            attrs.push(("use_nesterov", a(Attr::B(false))));
        }
        self.push_typed(op, &inputs, attrs);
        Ok(())
    }

    fn random_attrs(&self) -> Vec<(&'static str, AttrValue)> {
        vec![
            ("T", ty(DType::I32)),
            ("dtype", ty(DType::F32)),
            ("seed", a(Attr::I(0))),
            ("seed2", a(Attr::I(0))),
        ]
    }

    /// A random op `op` of the `shape` attribute, then `* b + a` for the mean and stddev
    /// attributes `a`, `b` (`b - a` and `a` for a uniform's `minval`, `maxval`).
    fn random(&mut self, op: &str, a: &str, b: &str) -> Result<()> {
        let num = |n: &Self, k: &str| -> Result<f32> {
            n.value(k)?
                .parse()
                .map_err(|_| n.error(format!("'{k}' is not a number")))
        };
        let (shift, mut scale) = (num(self, a)?, num(self, b)?);
        if op == "RandomUniform" {
            scale -= shift;
        }
        let shape = self.int32s("shape", &numbers(&self.value("shape")?));
        let raw = self.sub(op, op, &[&shape], self.random_attrs());
        let scale = self.constant("scale", Value::scalar(scale));
        let mul = self.binary("mul", "Mul", &raw, &scale);
        let shift = self.constant("shift", Value::scalar(shift));
        self.binary("", "AddV2", &mul, &shift);
        Ok(())
    }

    /// Axis `axis` of input `i` made non-negative with its static rank.
    fn axis_of(&self, i: usize, axis: i64) -> Result<usize> {
        let r = self.rank(i)? as i64;
        let a = if axis < 0 { axis + r } else { axis };
        usize::try_from(a)
            .ok()
            .filter(|&a| a < r as usize)
            .ok_or_else(|| self.error(format!("axis {axis} out of range for rank {r}")))
    }

    /// Dims `begin..end` (to the last when `None`) of the int32 shape vector `shape`, as
    /// `StridedSlice` `<name>/<suffix>`.
    fn dims_of(&mut self, suffix: &str, shape: &str, begin: usize, end: Option<usize>) -> String {
        let b = self.int32s(&format!("{suffix}/begin"), &[begin as i64]);
        let e = self.int32s(&format!("{suffix}/end"), &[end.unwrap_or(0) as i64]);
        let s = self.int32s(&format!("{suffix}/strides"), &[1]);
        let mut attrs = vec![("T", ty(DType::I32)), ("Index", ty(DType::I32))];
        for (k, v) in [
            ("begin_mask", 0),
            ("end_mask", i64::from(end.is_none())),
            ("ellipsis_mask", 0),
            ("new_axis_mask", 0),
            ("shrink_axis_mask", 0),
        ] {
            attrs.push((k, a(Attr::I(v))));
        }
        self.sub(suffix, "StridedSlice", &[shape, &b, &e, &s], attrs)
    }

    /// `gather`'s gradient `(dy, indices, params)` along the `axis` attribute.
    fn gather_grad(&mut self) -> Result<()> {
        let r = self.rank(2)?;
        let axis = self.axis_of(2, numbers(self.attr("axis")?)[0])?;
        let (dy, ind, like) = (
            self.inputs[0].clone(),
            self.inputs[1].clone(),
            self.inputs[2].clone(),
        );
        let shape = self.shape_of("Shape", &like, DType::F32);
        let outer = self.dims_of("outer", &shape, 0, Some(axis));
        let inner = self.dims_of("inner", &shape, axis + 1, None);
        let rows = self.dims_of("rows", &shape, axis, Some(axis + 1));
        let minus1 = self.int32s("minus_one", &[-1]);
        let zero = self.constant("concat_axis", Value::scalar(0i32));
        let vshape = self.sub(
            "values_shape",
            "ConcatV2",
            &[&outer, &minus1, &inner, &zero],
            vec![
                ("T", ty(DType::I32)),
                ("N", a(Attr::I(3))),
                ("Tidx", ty(DType::I32)),
            ],
        );
        let reshape = |t: DType| vec![("T", ty(t)), ("Tshape", ty(DType::I32))];
        let mut values = self.sub("values", "Reshape", &[&dy, &vshape], reshape(DType::F32));
        let ti = self.input_dtype(1).unwrap_or(DType::I32);
        let flat = self.sub("indices", "Reshape", &[&ind, &minus1], reshape(ti));
        // The gathered axis first, then back.
        let perm: Vec<i64> = std::iter::once(axis)
            .chain((0..r).filter(|&d| d != axis))
            .map(|d| d as i64)
            .collect();
        if axis != 0 {
            let p = self.int32s("values_t/perm", &perm);
            let attrs = vec![("T", ty(DType::F32)), ("Tperm", ty(DType::I32))];
            values = self.sub("values_t", "Transpose", &[&values, &p], attrs);
        }
        let scalar = self.int32s("scalar", &[]);
        let num = self.sub(
            "num_segments",
            "Reshape",
            &[&rows, &scalar],
            reshape(DType::I32),
        );
        // With the axis moved, the sum is transposed back into the node.
        let name = self.name().to_string();
        let sum = match axis {
            0 => name.clone(),
            _ => format!("{name}/UnsortedSegmentSum"),
        };
        self.push(
            &sum,
            "UnsortedSegmentSum",
            &[values, flat, num],
            vec![
                ("T", ty(DType::F32)),
                ("Tindices", ty(ti)),
                ("Tnumsegments", ty(DType::I32)),
            ],
        );
        if axis != 0 {
            let mut inverse = vec![0i64; r];
            for (i, &p) in perm.iter().enumerate() {
                inverse[p as usize] = i as i64;
            }
            let p = self.int32s("back/perm", &inverse);
            let attrs = vec![("T", ty(DType::F32)), ("Tperm", ty(DType::I32))];
            self.push(&name, "Transpose", &[sum, p], attrs);
        }
        Ok(())
    }

    /// `ProdGrad(dy, x)`: with the reduced axes moved last and flattened, each element's
    /// exclusive products from the left and from the right, times `dy`.
    fn prod_grad(&mut self) -> Result<()> {
        let r = self.rank(1)?;
        let mut red: Vec<usize> = self
            .axes(1)?
            .iter()
            .map(|&a| self.axis_of(1, a))
            .collect::<Result<_>>()?;
        red.sort_unstable();
        red.dedup();
        let perm: Vec<i64> = (0..r)
            .filter(|d| !red.contains(d))
            .chain(red.iter().copied())
            .map(|d| d as i64)
            .collect();
        let kept = r - red.len();
        let (dy, x) = (self.inputs[0].clone(), self.inputs[1].clone());
        let f = vec![("T", ty(DType::F32)), ("Tperm", ty(DType::I32))];
        let p = self.int32s("perm", &perm);
        let xt = self.sub("transpose", "Transpose", &[&x, &p], f.clone());
        let st = self.shape_of("Shape", &xt, DType::F32);
        let lead = self.dims_of("kept", &st, 0, Some(kept));
        let zero = self.constant("concat_axis", Value::scalar(0i32));
        let concat = vec![
            ("T", ty(DType::I32)),
            ("N", a(Attr::I(2))),
            ("Tidx", ty(DType::I32)),
        ];
        let mut shapes = vec![];
        for (k, last) in [(0, -1i64), (1, 1)] {
            let l = self.int32s(&format!("last_{k}"), &[last]);
            shapes.push(self.sub(
                &format!("shape_{k}"),
                "ConcatV2",
                &[&lead, &l, &zero],
                concat.clone(),
            ));
        }
        let reshape = vec![("T", ty(DType::F32)), ("Tshape", ty(DType::I32))];
        let xr = self.sub("Reshape", "Reshape", &[&xt, &shapes[0]], reshape.clone());
        let dyr = self.sub("Reshape_1", "Reshape", &[&dy, &shapes[1]], reshape.clone());
        let axis = self.constant("axis", Value::scalar(-1i32));
        let mut sides = vec![];
        for (k, reverse) in [(0, false), (1, true)] {
            sides.push(self.sub(
                &format!("Cumprod_{k}"),
                "Cumprod",
                &[&xr, &axis],
                vec![
                    ("T", ty(DType::F32)),
                    ("Tidx", ty(DType::I32)),
                    ("exclusive", a(Attr::B(true))),
                    ("reverse", a(Attr::B(reverse))),
                ],
            ));
        }
        let right = self.binary("mul", "Mul", &sides[1], &dyr);
        let both = self.binary("mul_1", "Mul", &sides[0], &right);
        let back = self.sub("Reshape_2", "Reshape", &[&both, &st], reshape);
        let mut inverse = vec![0i64; r];
        for (i, &p) in perm.iter().enumerate() {
            inverse[p as usize] = i as i64;
        }
        let ip = self.int32s("inverse_perm", &inverse);
        let name = self.name().to_string();
        self.push(&name, "Transpose", &[back, ip], f);
        Ok(())
    }

    /// `MaximumGrad`/`MinimumGrad` with `cmp` choosing `a`.
    fn min_max_grad(&mut self, cmp: &str) -> Result<()> {
        let (dy, x, y) = (
            self.inputs[0].clone(),
            self.inputs[1].clone(),
            self.inputs[2].clone(),
        );
        let t = self.input_dtype(1).unwrap_or(DType::F32);
        let mask = self.sub(cmp, cmp, &[&x, &y], vec![("T", ty(t))]);
        let zeros = self.sub(
            "ZerosLike",
            "ZerosLike",
            &[&dy],
            vec![("T", ty(DType::F32))],
        );
        let mut outs = vec![];
        for (k, (p, q)) in [(&dy, &zeros), (&zeros, &dy)].into_iter().enumerate() {
            outs.push(self.sub(
                &format!("SelectV2_{k}"),
                "SelectV2",
                &[&mask, p, q],
                vec![("T", ty(DType::F32))],
            ));
        }
        self.outputs_of(&outs);
        Ok(())
    }

    fn reduce(&mut self, op: &str) -> Result<()> {
        let axes = self.axes(0)?;
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
    // rustflow's fused gradient ops, as the TensorFlow subgraphs TensorFlow's own gradient
    // functions build (`_SumGrad`, `_MeanGrad`, `_MaxGrad`, `_SoftmaxGrad`, ...).
    // `ReduceGrad(dy, x)`: `dy` with the reduced axes kept, broadcast to `x`'s shape; for a
    // mean, times `1 / (size(x) / size(dy))`.
    ("ReduceGrad", |n| {
        let (axes, rank) = (n.axes(1)?, n.rank(1)?);
        let dy = n.kept_dims(0, &axes, rank)?;
        let x = n.inputs[1].clone();
        let shape = n.shape_of("Shape", &x, n.input_dtype(1).unwrap_or(DType::F32));
        let attrs = vec![("T", ty(DType::F32)), ("Tidx", ty(DType::I32))];
        if n.attr("mean")? != "true" {
            let name = n.name().to_string();
            n.push(&name, "BroadcastTo", &[dy, shape], attrs);
            return Ok(());
        }
        let b = n.sub("BroadcastTo", "BroadcastTo", &[&dy, &shape], attrs);
        let mut sizes = vec![];
        for (k, t) in [(0, &x), (1, &dy)] {
            let size = n.sub(
                &format!("Size_{k}"),
                "Size",
                &[t],
                vec![("T", ty(DType::F32)), ("out_type", ty(DType::I32))],
            );
            let cast = vec![
                ("SrcT", ty(DType::I32)),
                ("DstT", ty(DType::F32)),
                ("Truncate", a(Attr::B(false))),
            ];
            sizes.push(n.sub(&format!("Cast_{k}"), "Cast", &[&size], cast));
        }
        let count = n.binary("count", "RealDiv", &sizes[0], &sizes[1]);
        let scale = n.sub(
            "scale",
            "Reciprocal",
            &[&count],
            vec![("T", ty(DType::F32))],
        );
        n.binary("", "Mul", &b, &scale);
        Ok(())
    }),
    // `ReduceMaxGrad(dy, x, y)`: `indicators / count * dy` with `indicators = x == y`.
    ("ReduceMaxGrad", |n| {
        let (axes, rank) = (n.axes(1)?, n.rank(1)?);
        let dy = n.kept_dims(0, &axes, rank)?;
        let y = n.kept_dims(2, &axes, rank)?;
        let x = n.inputs[1].clone();
        let eq = n.sub(
            "Equal",
            "Equal",
            &[&y, &x],
            vec![
                ("T", ty(DType::F32)),
                ("incompatible_shape_error", a(Attr::B(true))),
            ],
        );
        let cast = vec![
            ("SrcT", ty(DType::Bool)),
            ("DstT", ty(DType::F32)),
            ("Truncate", a(Attr::B(false))),
        ];
        let ind = n.sub("Cast", "Cast", &[&eq], cast);
        let mut rel: Vec<i64> = axes
            .iter()
            .map(|&x| if x < 0 { x + rank as i64 } else { x })
            .collect();
        rel.sort_unstable();
        let axes = n.int32s("Sum/reduction_indices", &rel);
        let count = n.sub(
            "Sum",
            "Sum",
            &[&ind, &axes],
            vec![
                ("T", ty(DType::F32)),
                ("Tidx", ty(DType::I32)),
                ("keep_dims", a(Attr::B(true))),
            ],
        );
        let share = n.binary("div", "RealDiv", &ind, &count);
        n.binary("", "Mul", &share, &dy);
        Ok(())
    }),
    // `SumToShape(grad[, like])`: `Sum` over `BroadcastGradientArgs`' axes, then `Reshape`.
    ("SumToShape", |n| {
        let target = match n.node.inputs.len() {
            1 => n.int32s("shape", &numbers(n.attr("shape")?)),
            _ => {
                let like = n.inputs[1].clone();
                n.shape_of("Shape_1", &like, n.input_dtype(1).unwrap_or(DType::F32))
            }
        };
        let grad = n.inputs[0].clone();
        let have = n.shape_of("Shape", &grad, DType::F32);
        let args = n.sub(
            "BroadcastGradientArgs",
            "BroadcastGradientArgs",
            &[&target, &have],
            vec![("T", ty(DType::I32))],
        );
        let sum = n.sub(
            "Sum",
            "Sum",
            &[&grad, &args],
            vec![
                ("T", ty(DType::F32)),
                ("Tidx", ty(DType::I32)),
                ("keep_dims", a(Attr::B(false))),
            ],
        );
        let name = n.name().to_string();
        n.push(
            &name,
            "Reshape",
            &[sum, target],
            vec![("T", ty(DType::F32)), ("Tshape", ty(DType::I32))],
        );
        Ok(())
    }),
    // `ReshapeLike(x, like)`: `Reshape(x, Shape(like))`.
    ("ReshapeLike", |n| {
        let like = n.inputs[1].clone();
        let shape = n.shape_of("Shape", &like, n.input_dtype(1).unwrap_or(DType::F32));
        let inputs = vec![n.inputs[0].clone(), shape];
        n.typed("Reshape", &inputs, vec![("Tshape", ty(DType::I32))]);
        Ok(())
    }),
    // `XentGrad(dy, backprop)`: `ExpandDims(dy, -1) * backprop`.
    ("XentGrad", |n| {
        let dy = n.inputs[0].clone();
        let e = n.expand_last("ExpandDims", &dy);
        let bp = n.inputs[1].clone();
        n.binary("", "Mul", &e, &bp);
        Ok(())
    }),
    // `XentLabelsGrad(dy, logits)`: `-ExpandDims(dy, -1) * LogSoftmax(logits)`.
    ("XentLabelsGrad", |n| {
        let (dy, z) = (n.inputs[0].clone(), n.inputs[1].clone());
        let e = n.expand_last("ExpandDims", &dy);
        let neg = n.sub("Neg", "Neg", &[&e], vec![("T", ty(DType::F32))]);
        let ls = n.sub(
            "LogSoftmax",
            "LogSoftmax",
            &[&z],
            vec![("T", ty(DType::F32))],
        );
        n.binary("", "Mul", &neg, &ls);
        Ok(())
    }),
    // `SoftmaxGrad(dy, y)`: `(dy - Σ dy·y) * y`; `LogSoftmaxGrad`: `dy - exp(y) * Σ dy`.
    ("SoftmaxGrad", |n| {
        let (dy, y) = (n.inputs[0].clone(), n.inputs[1].clone());
        let p = n.binary("mul", "Mul", &dy, &y);
        let s = n.sum_last("Sum", &p);
        let d = n.binary("sub", "Sub", &dy, &s);
        n.binary("", "Mul", &d, &y);
        Ok(())
    }),
    ("LogSoftmaxGrad", |n| {
        let (dy, y) = (n.inputs[0].clone(), n.inputs[1].clone());
        let e = n.sub("Exp", "Exp", &[&y], vec![("T", ty(DType::F32))]);
        let s = n.sum_last("Sum", &dy);
        let p = n.binary("mul", "Mul", &e, &s);
        n.binary("", "Sub", &dy, &p);
        Ok(())
    }),
    // `MaximumGrad(dy, a, b)` → `(da, db)`: `dy` where `a >= b` (`<=` for the minimum), else
    // 0, and the rest for `b`; as `Unpack(Pack(..))` of the two `SelectV2`s.
    ("MaximumGrad", |n| n.min_max_grad("GreaterEqual")),
    ("MinimumGrad", |n| n.min_max_grad("LessEqual")),
    // `AbsGrad(x, dy)`: `dy * Sign(x)`.
    ("AbsGrad", |n| {
        let x = n.inputs[0].clone();
        let sign = n.sub("Sign", "Sign", &[&x], vec![("T", ty(DType::F32))]);
        let dy = n.inputs[1].clone();
        n.binary("", "Mul", &dy, &sign);
        Ok(())
    }),
    ("Relu6Grad", |n| {
        n.swapped();
        Ok(())
    }),
    ("EluGrad", |n| {
        n.swapped();
        Ok(())
    }),
    ("SeluGrad", |n| {
        n.swapped();
        Ok(())
    }),
    // `TopKGrad(dvalues, indices, x)`: `Σ_k OneHot(indices, n) * dvalues[..., None]`.
    ("TopKGrad", |n| {
        let x = n.inputs[2].clone();
        let shape = n.shape_of("Shape", &x, DType::F32);
        let (b, e, s) = (
            n.int32s("begin", &[-1]),
            n.int32s("end", &[0]),
            n.int32s("strides", &[1]),
        );
        let mut attrs = vec![("T", ty(DType::I32)), ("Index", ty(DType::I32))];
        for (k, v) in [
            ("begin_mask", 0),
            ("end_mask", 1),
            ("ellipsis_mask", 0),
            ("new_axis_mask", 0),
            ("shrink_axis_mask", 1),
        ] {
            attrs.push((k, a(Attr::I(v))));
        }
        let depth = n.sub("depth", "StridedSlice", &[&shape, &b, &e, &s], attrs);
        let on = n.constant("on_value", Value::scalar(1f32));
        let off = n.constant("off_value", Value::scalar(0f32));
        let ix = n.inputs[1].clone();
        let hot = n.sub(
            "OneHot",
            "OneHot",
            &[&ix, &depth, &on, &off],
            vec![
                ("T", ty(DType::F32)),
                ("TI", ty(DType::I32)),
                ("axis", a(Attr::I(-1))),
            ],
        );
        let dv = n.inputs[0].clone();
        let e = n.expand_last("ExpandDims", &dv);
        let p = n.binary("mul", "Mul", &hot, &e);
        let axis = n.constant("axis", Value::scalar(-2i32));
        let name = n.name().to_string();
        n.push(
            &name,
            "Sum",
            &[p, axis],
            vec![
                ("T", ty(DType::F32)),
                ("Tidx", ty(DType::I32)),
                ("keep_dims", a(Attr::B(false))),
            ],
        );
        Ok(())
    }),
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
    ("ApplyAdadelta", |n| n.update()),
    ("ApplyAdagrad", |n| n.update()),
    ("ApplyAdam", |n| n.update()),
    ("ApplyCenteredRMSProp", |n| n.update()),
    ("ApplyGradientDescent", |n| n.update()),
    ("ApplyMomentum", |n| n.update()),
    ("ApplyRMSProp", |n| n.update()),
    // `tf.random.*(shape, a, b)`: the raw op of `shape`, times the scale, plus the shift.
    ("TruncatedNormal", |n| {
        n.random("TruncatedNormal", "mean", "stddev")
    }),
    ("RandomStandardNormal", |n| {
        n.random("RandomStandardNormal", "mean", "stddev")
    }),
    ("RandomUniform", |n| match n.node.inputs.len() {
        0 => n.random("RandomUniform", "minval", "maxval"),
        // `random_uniform_shaped(like)`: U[0, 1) of `like`'s run-time shape.
        _ => {
            let like = n.inputs[0].clone();
            let shape = n.shape_of("Shape", &like, n.input_dtype(0).unwrap_or(DType::F32));
            let name = n.name().to_string();
            n.push(&name, "RandomUniform", &[shape], n.random_attrs());
            Ok(())
        }
    }),
    // rustflow's cross-entropies take (labels, logits), TensorFlow's (logits, labels).
    ("SoftmaxCrossEntropyWithLogits", |n| {
        n.swapped();
        Ok(())
    }),
    ("SparseSoftmaxCrossEntropyWithLogits", |n| {
        let t = n.input_dtype(0).unwrap_or(DType::I32);
        n.swapped();
        if let Some(last) = n.out.last_mut() {
            last.attr.insert("T".into(), ty(DType::F32));
            last.attr.insert("Tlabels".into(), ty(t));
        }
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
        let attrs = n.pool_attrs(false)?;
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
        let attrs = n.conv_attrs()?;
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
    ("Pad", |n| {
        let p = n.paddings()?;
        n.with_inputs("Pad", &[p], vec![("Tpaddings", ty(DType::I32))]);
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
    // Also the gradient (`dy`, `x` read for its shape): the upstream reversed.
    ("ReverseV2", |n| {
        let axes = n.ints_input("axes")?;
        let inputs = vec![n.inputs[0].clone(), axes];
        n.typed("ReverseV2", &inputs, vec![("Tidx", ty(DType::I32))]);
        Ok(())
    }),
    // The gradient of `Slice` and `StridedSlice` (`dy`, `x` read for its shape).
    ("StridedSliceGrad", |n| {
        let x = n.inputs[1].clone();
        let shape = n.shape_of("Shape", &x, n.input_dtype(1).unwrap_or(DType::F32));
        let mut masks = [0i64; 5];
        let (begin, end, strides) = if n.raw.contains("masks") {
            let m = &n.raw[n.raw.find("masks").unwrap_or(0)..];
            for (k, f) in ["begin", "end", "ellipsis", "new_axis", "shrink_axis"]
                .iter()
                .enumerate()
            {
                masks[k] = ExportNode::field(m, f).ok_or_else(|| n.error(format!("mask {f}")))?;
            }
            let v = |k: &str| n.value(k).map(|v| numbers(&v));
            (v("begin")?, v("end")?, v("strides")?)
        } else {
            // `Slice(begin, size)`: `end = begin + size`, a size of -1 to the end.
            let (b, z) = (numbers(&n.value("begin")?), numbers(&n.value("size")?));
            let mut end = vec![];
            for (i, (&b, &z)) in b.iter().zip(&z).enumerate() {
                if z < 0 {
                    masks[1] |= 1 << i;
                }
                end.push(b + z.max(0));
            }
            let ones = vec![1; b.len()];
            (b, end, ones)
        };
        let inputs = vec![
            shape,
            n.int32s("begin", &begin),
            n.int32s("end", &end),
            n.int32s("strides", &strides),
            n.inputs[0].clone(),
        ];
        let mut attrs = vec![("T", ty(DType::F32)), ("Index", ty(DType::I32))];
        for (k, tf) in [
            "begin_mask",
            "end_mask",
            "ellipsis_mask",
            "new_axis_mask",
            "shrink_axis_mask",
        ]
        .into_iter()
        .enumerate()
        {
            attrs.push((tf, a(Attr::I(masks[k]))));
        }
        let name = n.name().to_string();
        n.push(&name, "StridedSliceGrad", &inputs, attrs);
        Ok(())
    }),
    // The gradient of a constant `Pad` (`dy`, `x` read for its shape): the middle slice.
    ("Slice", |n| {
        if n.node.inputs.len() == 2 && n.raw.contains("paddings") {
            let begin: Vec<i64> = numbers(&n.value("paddings")?)
                .chunks(2)
                .map(|p| p[0])
                .collect();
            let x = n.inputs[1].clone();
            let size = n.shape_of("Shape", &x, n.input_dtype(1).unwrap_or(DType::F32));
            let inputs = vec![n.inputs[0].clone(), n.int32s("begin", &begin), size];
            n.typed("Slice", &inputs, vec![("Index", ty(DType::I32))]);
            return Ok(());
        }
        let (b, z) = (n.ints_input("begin")?, n.ints_input("size")?);
        n.with_inputs("Slice", &[b, z], vec![("Index", ty(DType::I32))]);
        Ok(())
    }),
    // The gradient of a `MirrorPad` (`dy`, `x` read for its shape).
    ("MirrorPadGrad", |n| {
        let p = n.paddings()?;
        let mode = n.value("mode")?.to_uppercase().into_bytes();
        let inputs = vec![n.inputs[0].clone(), p];
        n.typed(
            "MirrorPadGrad",
            &inputs,
            vec![("Tpaddings", ty(DType::I32)), ("mode", a(Attr::S(mode)))],
        );
        Ok(())
    }),
    // The gradient of a `Tile` (`dy`, `x`): `dy` reshaped to `[m0, d0, m1, d1, ...]` and
    // summed over the multiples' axes (TensorFlow's `_TileGrad`).
    ("TileGrad", |n| {
        let m = numbers(&n.value("multiples")?);
        let x = n.inputs[1].clone();
        let shape = n.shape_of("Shape", &x, n.input_dtype(1).unwrap_or(DType::F32));
        let mc = n.int32s("multiples", &m);
        let pack = n.sub(
            "stack",
            "Pack",
            &[&mc, &shape],
            vec![
                ("T", ty(DType::I32)),
                ("N", a(Attr::I(2))),
                ("axis", a(Attr::I(0))),
            ],
        );
        let perm = n.int32s("perm", &[1, 0]);
        let tr = n.sub(
            "transpose",
            "Transpose",
            &[&pack, &perm],
            vec![("T", ty(DType::I32)), ("Tperm", ty(DType::I32))],
        );
        let flat = n.int32s("flat", &[-1]);
        let split = n.sub(
            "split_shape",
            "Reshape",
            &[&tr, &flat],
            vec![("T", ty(DType::I32)), ("Tshape", ty(DType::I32))],
        );
        let dy = n.inputs[0].clone();
        let r = n.sub(
            "Reshape",
            "Reshape",
            &[&dy, &split],
            vec![("T", ty(DType::F32)), ("Tshape", ty(DType::I32))],
        );
        let axes: Vec<i64> = (0..m.len() as i64).map(|i| 2 * i).collect();
        let axes = n.int32s("axes", &axes);
        let name = n.name().to_string();
        n.push(
            &name,
            "Sum",
            &[r, axes],
            vec![
                ("T", ty(DType::F32)),
                ("Tidx", ty(DType::I32)),
                ("keep_dims", a(Attr::B(false))),
            ],
        );
        Ok(())
    }),
    // `range(start, delta, len)`: `Range(start, start + (len - 1/2) * delta, delta)`, whose
    // length TensorFlow computes as `len`.
    ("Range", |n| {
        let num = |k: &str| -> Result<f64> {
            n.value(k)?
                .parse()
                .map_err(|_| n.error(format!("'{k}' is not a number")))
        };
        let (start, delta, len) = (num("start")?, num("delta")?, num("len")?);
        let dtype = n.node.outputs[0].dtype;
        let limit = match dtype {
            DType::F32 => start + (len - 0.5) * delta,
            _ => start + len * delta,
        };
        let v = |x: f64| match dtype {
            DType::I32 => Value::scalar(x as i32),
            DType::I64 => Value::scalar(x as i64),
            _ => Value::scalar(x as f32),
        };
        let inputs = vec![
            n.constant("start", v(start)),
            n.constant("limit", v(limit)),
            n.constant("delta", v(delta)),
        ];
        let name = n.name().to_string();
        n.push(&name, "Range", &inputs, vec![("Tidx", ty(dtype))]);
        Ok(())
    }),
    // The gradient of `gather` (`dy`, `indices`, `params`): `dy` with the gathered axis
    // first, flattened to `[indices, rest]`, summed into `params`' rows
    // (`UnsortedSegmentSum`), then the axis put back.
    ("UnsortedSegmentSum", |n| n.gather_grad()),
    // The gradient of `gather_nd` (`indices`, `updates`, `params` read for its shape).
    ("ScatterNd", |n| {
        let like = n.inputs[2].clone();
        let shape = n.shape_of("Shape", &like, n.input_dtype(2).unwrap_or(DType::F32));
        let inputs = vec![n.inputs[0].clone(), n.inputs[1].clone(), shape];
        let ti = n.input_dtype(0).unwrap_or(DType::I32);
        let name = n.name().to_string();
        n.push(
            &name,
            "ScatterNd",
            &inputs,
            vec![("T", ty(DType::F32)), ("Tindices", ty(ti))],
        );
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
    // With inputs after the first (`concat`'s gradient), the sizes are theirs along the axis.
    ("SplitV", |n| {
        let sizes = match n.node.inputs.len() {
            1 => n.int32s("size_splits", &numbers(&n.value("sizes")?)),
            k => {
                let axis = n.axis_of(0, numbers(&n.value("axis")?)[0])?;
                let mut parts = vec![];
                for i in 1..k {
                    let like = n.inputs[i].clone();
                    let s = n.shape_of(&format!("Shape_{i}"), &like, DType::F32);
                    parts.push(n.dims_of(&format!("size_{i}"), &s, axis, Some(axis + 1)));
                }
                let zero = n.constant("concat_axis", Value::scalar(0i32));
                let mut inputs: Vec<&str> = parts.iter().map(String::as_str).collect();
                inputs.push(&zero);
                let count = parts.len() as i64;
                n.sub(
                    "size_splits",
                    "ConcatV2",
                    &inputs,
                    vec![
                        ("T", ty(DType::I32)),
                        ("N", a(Attr::I(count))),
                        ("Tidx", ty(DType::I32)),
                    ],
                )
            }
        };
        let axis = n.ints_input("axis")?;
        n.inputs.truncate(1);
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
    ("ProdGrad", |n| n.prod_grad()),
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
    ("FusedBatchNormV3", |n| {
        let attrs = n.batch_norm_attrs()?;
        n.with_inputs("FusedBatchNormV3", &[], attrs);
        Ok(())
    }),
    ("FusedBatchNormGradV3", |n| {
        let attrs = n.batch_norm_attrs()?;
        n.with_inputs("FusedBatchNormGradV3", &[], attrs);
        Ok(())
    }),
    ("LRN", |n| {
        let attrs = n.lrn_attrs()?;
        n.with_inputs("LRN", &[], attrs);
        Ok(())
    }),
    // `LRNGrad(dy, x)`: TensorFlow's op also takes the LRN's output, recomputed here.
    ("LRNGrad", |n| {
        let (dy, x) = (n.inputs[0].clone(), n.inputs[1].clone());
        let attrs = n.lrn_attrs()?;
        let y = n.sub(
            "LRN",
            "LRN",
            &[&x],
            [attrs.clone(), vec![("T", ty(DType::F32))]].concat(),
        );
        n.typed("LRNGrad", &[dy, x, y], attrs);
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
        let attrs = n.conv_attrs()?;
        n.with_inputs("DepthwiseConv2dNative", &[], attrs);
        Ok(())
    }),
    ("DepthwiseConv2dNativeBackpropInput", |n| n.conv_backprop(0)),
    ("DepthwiseConv2dNativeBackpropFilter", |n| {
        n.conv_backprop(1)
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
        let attrs = n.pool_attrs(true)?;
        let inputs = n.inputs.clone();
        n.typed("MaxPool", &inputs, attrs);
        Ok(())
    }),
    // `MaxPoolGrad(x, dy)` and `MaxPoolGradGrad(x, g)`: TensorFlow's ops also take the
    // pooled output, recomputed here.
    ("MaxPoolGrad", |n| n.max_pool_grad(true)),
    ("MaxPoolGradGrad", |n| n.max_pool_grad(false)),
    // `AvgPoolGrad(x, dy)`: TensorFlow's takes `x`'s shape.
    ("AvgPoolGrad", |n| {
        let x = n.inputs[0].clone();
        let shape = n.shape_of("Shape", &x, DType::F32);
        let attrs = n.pool_attrs(false)?;
        let inputs = vec![shape, n.inputs[1].clone()];
        n.push_typed("AvgPoolGrad", &inputs, attrs);
        Ok(())
    }),
    // `Conv2DBackpropInput(input, filter, dy)` and `Conv2DBackpropFilter(input, filter, dy)`
    // read `input` (`filter`) for its shape only: TensorFlow's take the shape.
    ("Conv2DBackpropInput", |n| n.conv_backprop(0)),
    ("Conv2DBackpropFilter", |n| n.conv_backprop(1)),
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
