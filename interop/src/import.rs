//! `import_graph_def`: builds rustflow nodes from a TensorFlow `GraphDef`, through [`OPS`], a
//! table from TensorFlow's op type to the rustflow builder (one row per op type).

use crate::convert;
use crate::deferred::{fold, Deferred};
use crate::functions::{self, Functions};
use crate::tensor_array as ta;
use rustflow_graph::{DType, Error, Graph, NodeId, Operation, Result, Shape, Tensor, Value};
use rustflow_ops::nn::Padding;
use rustflow_ops::{self as ops, Variable};
use rustflow_proto::{attr_value::Value as Attr, GraphDef, Message, NodeDef};
use std::cell::Cell;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

/// What one imported node became: the rustflow op that carries its name and the tensors that
/// stand for its outputs, in TensorFlow's order.
pub struct Imported {
    /// The op named after the TensorFlow node.
    pub op: Operation,
    /// Its outputs.
    pub outputs: Vec<Tensor>,
}

impl From<Tensor> for Imported {
    fn from(t: Tensor) -> Self {
        Imported {
            op: t.op(),
            outputs: vec![t],
        }
    }
}

impl From<Operation> for Imported {
    fn from(op: Operation) -> Self {
        Imported {
            outputs: op.outputs(),
            op,
        }
    }
}

/// Where a TensorFlow update op (`ApplyAdam`, ...) takes rustflow's inputs: the input index
/// of the variable and each slot, of the gradient and of each scalar, all in rustflow's order
/// ([`ops::train::apply_update`]). TensorFlow's `ApplyCenteredRMSProp` slots are (mg, ms,
/// mom); rustflow's rule takes (ms, mg, mom).
pub const UPDATE_INPUTS: &[(&str, &[usize], usize, &[usize])] = &[
    ("ApplyAdadelta", &[0, 1, 2], 6, &[3, 4, 5]),
    ("ApplyAdagrad", &[0, 1], 3, &[2]),
    ("ApplyAdam", &[0, 1, 2], 9, &[3, 4, 5, 6, 7, 8]),
    ("ApplyCenteredRMSProp", &[0, 2, 1, 3], 8, &[4, 5, 6, 7]),
    ("ApplyGradientDescent", &[0], 2, &[1]),
    ("ApplyMomentum", &[0, 1], 3, &[2, 4]),
    ("ApplyRMSProp", &[0, 1, 2], 7, &[3, 4, 5, 6]),
];

/// The [`UPDATE_INPUTS`] row of `op_type`: (variables, gradient, scalars).
pub fn update_inputs(op_type: &str) -> Option<(&'static [usize], usize, &'static [usize])> {
    UPDATE_INPUTS
        .iter()
        .find(|r| r.0 == op_type)
        .map(|&(_, v, g, s)| (v, g, s))
}

/// A row's builder: makes the rustflow nodes for one TensorFlow node.
pub type Build = fn(&NodeImport<'_>) -> Result<Imported>;

/// One TensorFlow node being imported: its `NodeDef`, its resolved inputs, and typed access
/// to its attributes (a missing attribute takes the op definition's default).
pub struct NodeImport<'a> {
    /// The graph being built.
    pub graph: &'a Graph,
    /// The node.
    pub def: &'a NodeDef,
    /// Its data inputs, resolved.
    pub inputs: Vec<Tensor>,
    /// For a `VariableV2`: the value its initializer (`<var>/Assign`) assigns, if any.
    pub initial_value: Option<Tensor>,
    /// Variables imported so far, by node.
    pub variables: &'a HashMap<NodeId, Variable>,
    /// The first input the row asked for as a constant that neither is one nor folds.
    needs: Cell<Option<usize>>,
    /// The GraphDef's shape arithmetic, for inputs that fold only through it.
    known: Option<Known<'a>>,
    /// The functions `If` and `While` nodes call.
    functions: Option<&'a Functions>,
}

/// What is known at import of the GraphDef's integer vectors (shapes and their pieces),
/// element by element, as TensorFlow's shape inference evaluates shape tensors: `Shape` of
/// a tensor of known rank gives its static dims, and `Slice`, `StridedSlice` (one element or
/// a unit-stride range), `Pack`, `ConcatV2`, `Identity` and `Cast` carry what they can.
#[derive(Clone, Copy)]
pub struct Known<'a> {
    by_name: &'a HashMap<&'a str, &'a NodeDef>,
    outputs: &'a HashMap<&'a str, Imported>,
}

impl Known<'_> {
    fn tensor(&self, input: &str) -> Option<Tensor> {
        let (src, k, _) = parse_input(input);
        self.outputs.get(src)?.outputs.get(k).cloned()
    }

    fn ints(&self, input: &str) -> Option<Vec<i64>> {
        self.partial(input)?.into_iter().collect()
    }

    /// The elements of the tensor `input` (`"node:k"`) known at import.
    pub fn partial(&self, input: &str) -> Option<Vec<Option<i64>>> {
        let t = self.tensor(input)?;
        if let Some(v) = fold(&t) {
            return Some(v.to_f64_vec().iter().map(|&x| Some(x as i64)).collect());
        }
        let (src, k, _) = parse_input(input);
        let node = self.by_name.get(src)?;
        let arg = |i: usize| node.input.get(i).map(String::as_str);
        let attr = |name: &str| match node.attr.get(name).and_then(|a| a.value.as_ref()) {
            Some(Attr::I(i)) => *i,
            _ => 0,
        };
        match node.op.as_str() {
            "Shape" | "ShapeN" => {
                let s = self
                    .tensor(arg(if node.op == "Shape" { 0 } else { k })?)?
                    .shape();
                Some(s.dims()?.iter().map(|d| d.map(|d| d as i64)).collect())
            }
            "Identity" | "Cast" | "StopGradient" => self.partial(arg(0)?),
            "Pack" => node
                .input
                .iter()
                .filter(|i| !i.starts_with('^'))
                .map(|i| match self.partial(i).as_deref() {
                    Some([x]) => Some(*x),
                    _ => Some(None),
                })
                .collect(),
            "ConcatV2" => {
                let data: Vec<&String> =
                    node.input.iter().filter(|i| !i.starts_with('^')).collect();
                let (axis, parts) = data.split_last()?;
                if self.ints(axis)? != [0] {
                    return None;
                }
                let mut out = vec![];
                for p in parts {
                    out.extend(self.partial(p)?);
                }
                Some(out)
            }
            "Slice" => {
                let v = self.partial(arg(0)?)?;
                let (b, n) = (self.ints(arg(1)?)?, self.ints(arg(2)?)?);
                let b = usize::try_from(*b.first()?).ok()?;
                let e = match *n.first()? {
                    -1 => v.len(),
                    n => b + usize::try_from(n).ok()?,
                };
                v.get(b..e).map(<[_]>::to_vec)
            }
            "StridedSlice" => {
                let v = self.partial(arg(0)?)?;
                let (b, e, s) = (
                    self.ints(arg(1)?)?,
                    self.ints(arg(2)?)?,
                    self.ints(arg(3)?)?,
                );
                if s != [1] || b.len() != 1 || attr("ellipsis_mask") | attr("new_axis_mask") != 0 {
                    return None;
                }
                let n = v.len() as i64;
                let norm = |x: i64| if x < 0 { x + n } else { x };
                let begin = if attr("begin_mask") & 1 != 0 {
                    0
                } else {
                    norm(b[0])
                };
                if attr("shrink_axis_mask") & 1 != 0 {
                    return Some(vec![*v.get(usize::try_from(begin).ok()?)?]);
                }
                let end = if attr("end_mask") & 1 != 0 {
                    n
                } else {
                    norm(e[0]).min(n)
                };
                v.get(usize::try_from(begin).ok()?..usize::try_from(end).ok()?)
                    .map(<[_]>::to_vec)
            }
            _ => None,
        }
    }
}

fn t(r: Result<Tensor>) -> Result<Imported> {
    r.map(Imported::from)
}

impl<'a> NodeImport<'a> {
    /// The import of `def` into `graph` with its resolved data `inputs`.
    pub fn new(
        graph: &'a Graph,
        def: &'a NodeDef,
        inputs: Vec<Tensor>,
        initial_value: Option<Tensor>,
        variables: &'a HashMap<NodeId, Variable>,
    ) -> Self {
        NodeImport {
            graph,
            def,
            inputs,
            initial_value,
            variables,
            needs: Cell::new(None),
            known: None,
            functions: None,
        }
    }

    /// The same, with the GraphDef's shape arithmetic to fold inputs through.
    pub fn with_known(mut self, known: Known<'a>) -> Self {
        self.known = Some(known);
        self
    }

    /// The same, with the functions that `If` and `While` nodes call.
    pub fn with_functions(mut self, functions: &'a Functions) -> Self {
        self.functions = Some(functions);
        self
    }

    /// Imports the function of `func` attribute `attr` with `args` as its arguments (inside
    /// a branch or body being built); returns its results.
    fn call(&self, attr: &str, args: &[Tensor]) -> Result<Vec<Tensor>> {
        let name = match self.attr(attr) {
            Some(Attr::Func(f)) => &f.name,
            _ => return Err(self.kind_error(attr, "a function")),
        };
        let functions = self
            .functions
            .ok_or_else(|| self.error("no function library"))?;
        let body = functions
            .get(name)
            .ok_or_else(|| self.error(format!("function '{name}' is not in the library")))?;
        if body.args.len() != args.len() {
            return Err(self.error(format!(
                "function '{name}' takes {} arguments, the node gives {}",
                body.args.len(),
                args.len()
            )));
        }
        let leaf = self.def.name.rsplit('/').next().unwrap_or_default();
        let options = ImportOptions {
            input_map: body
                .args
                .iter()
                .zip(args)
                .map(|(a, t)| (format!("{a}:0"), t.clone()))
                .collect(),
            return_elements: body.rets.clone(),
            name: format!("{leaf}_{attr}"),
        };
        let def = GraphDef {
            node: body.nodes.clone(),
            ..Default::default()
        };
        import_nodes(self.graph, &def, &options, functions)?
            .into_iter()
            .map(|e| match e {
                Element::Tensor(t) => Ok(t),
                Element::Op(op) => {
                    Err(self.error(format!("function '{name}' returns op {}", op.name())))
                }
            })
            .collect()
    }

    /// A scalar as a predicate: itself if bool, else whether it is not zero (TensorFlow's
    /// `If` and `While` conditions).
    fn truth(x: &Tensor) -> Result<Tensor> {
        if x.dtype() == DType::Bool {
            return Ok(x.clone());
        }
        ops::not_equal(x, &ops::zeros_like(x)?)
    }

    /// The input the row needed as a constant when it could not be computed at import: the
    /// node then takes it at run time ([`Deferred`]).
    pub fn needs_value(&self) -> Option<usize> {
        self.needs.get()
    }

    /// An error naming this node and its op type.
    pub fn error(&self, msg: impl Into<String>) -> Error {
        Error::InvalidArgument {
            node: self.def.name.clone(),
            op: self.def.op.clone(),
            msg: msg.into(),
        }
    }

    /// Data input `i`.
    pub fn input(&self, i: usize) -> Result<&Tensor> {
        self.inputs
            .get(i)
            .ok_or_else(|| self.error(format!("needs input {i}, has {}", self.inputs.len())))
    }

    fn attr(&self, name: &str) -> Option<&Attr> {
        self.def.attr.get(name).and_then(|a| a.value.as_ref())
    }

    fn kind_error(&self, name: &str, want: &str) -> Error {
        self.error(format!("attr '{name}' is not {want}"))
    }

    /// A `b` attribute.
    pub fn b(&self, name: &str, default: bool) -> Result<bool> {
        match self.attr(name) {
            None => Ok(default),
            Some(Attr::B(b)) => Ok(*b),
            _ => Err(self.kind_error(name, "a bool")),
        }
    }

    /// An `i` attribute.
    pub fn i(&self, name: &str, default: i64) -> Result<i64> {
        match self.attr(name) {
            None => Ok(default),
            Some(Attr::I(i)) => Ok(*i),
            _ => Err(self.kind_error(name, "an int")),
        }
    }

    /// An `s` attribute.
    pub fn s(&self, name: &str, default: &str) -> Result<String> {
        match self.attr(name) {
            None => Ok(default.to_string()),
            Some(Attr::S(s)) => Ok(String::from_utf8_lossy(s).into_owned()),
            _ => Err(self.kind_error(name, "a string")),
        }
    }

    /// An `f` attribute.
    pub fn f(&self, name: &str, default: f32) -> f32 {
        match self.attr(name) {
            Some(Attr::F(x)) => *x,
            _ => default,
        }
    }

    /// A TensorFlow gradient op as rustflow's gradient of `forward(xs)` with respect to
    /// `xs`, with upstream `dy` (zeros where there is no path).
    fn grad_of(
        &self,
        xs: &[&Tensor],
        dy: &Tensor,
        forward: impl FnOnce(&[&Tensor]) -> Result<Tensor>,
    ) -> Result<Vec<Tensor>> {
        let y = forward(xs)?;
        ops::gradients(&[&y], xs, Some(&[dy]))?
            .into_iter()
            .zip(xs)
            .map(|(g, x)| g.map_or_else(|| ops::zeros_like(x), Ok))
            .collect()
    }

    /// A constant int vector of the node's `T` (`out_type`) dtype, int32 by default.
    fn int_constant(&self, v: &[i64]) -> Result<Imported> {
        let dtype = ["T", "out_type"]
            .iter()
            .find_map(|a| self.dtype(a).ok())
            .unwrap_or(DType::I32);
        let v = crate::deferred::int_value(dtype, &[v.len()], v.to_vec())
            .ok_or_else(|| self.error(format!("dtype {dtype} is not an integer type")))?;
        t(Ok(ops::constant(self.graph, v, "Const")))
    }

    /// A `type` attribute.
    pub fn dtype(&self, name: &str) -> Result<DType> {
        match self.attr(name) {
            Some(Attr::Type(v)) => {
                convert::dtype(*v, &self.def.name).map_err(|e| self.error(e.to_string()))
            }
            _ => Err(self.kind_error(name, "a type")),
        }
    }

    /// A `list(int)` attribute.
    pub fn ints(&self, name: &str, default: &[i64]) -> Result<Vec<i64>> {
        match self.attr(name) {
            None => Ok(default.to_vec()),
            Some(Attr::List(l)) => Ok(l.i.clone()),
            _ => Err(self.kind_error(name, "a list of ints")),
        }
    }

    /// A `list(int)` attribute of four non-negative entries (`strides`, `ksize`).
    pub fn ints4(&self, name: &str) -> Result<[usize; 4]> {
        let v = self.ints(name, &[1, 1, 1, 1])?;
        let v: Vec<usize> = v.iter().map(|&x| usize::try_from(x).unwrap_or(0)).collect();
        v.try_into()
            .map_err(|_| self.error(format!("attr '{name}' must have 4 entries")))
    }

    /// A `shape` attribute (unknown rank when missing).
    pub fn shape(&self, name: &str) -> Result<Shape> {
        match self.attr(name) {
            None => Ok(Shape::unknown()),
            Some(Attr::Shape(s)) => Ok(convert::shape(s)),
            _ => Err(self.kind_error(name, "a shape")),
        }
    }

    /// A `tensor` attribute's value.
    pub fn tensor(&self, name: &str) -> Result<Value> {
        match self.attr(name) {
            Some(Attr::Tensor(v)) => {
                convert::tensor(v, &self.def.name).map_err(|e| self.error(e.to_string()))
            }
            _ => Err(self.kind_error(name, "a tensor")),
        }
    }

    /// Checks that `data_format` is NHWC (the only layout rustflow's kernels have).
    pub fn nhwc(&self) -> Result<()> {
        match self.s("data_format", "NHWC")?.as_str() {
            "NHWC" => Ok(()),
            f => Err(self.error(format!("data_format {f} is not supported (NHWC only)"))),
        }
    }

    /// `padding` (`SAME` or `VALID`), after checking `data_format` is NHWC.
    pub fn padding(&self) -> Result<Padding> {
        self.nhwc()?;
        if self
            .ints("dilations", &[1, 1, 1, 1])?
            .iter()
            .any(|&d| d != 1)
        {
            return Err(self.error("dilations other than 1 are not supported"));
        }
        match self.s("padding", "")?.as_str() {
            "SAME" => Ok(Padding::Same),
            "VALID" => Ok(Padding::Valid),
            p => Err(self.error(format!("padding '{p}' is not supported"))),
        }
    }

    /// The value of input `i` (shapes, axes and sizes that rustflow's builders take as
    /// attributes): a `Const`, or what [`fold`] computes at import. When it cannot, the error
    /// records `i`, and the node takes the value at run time ([`Deferred`]).
    pub fn const_input(&self, i: usize) -> Result<Value> {
        let x = self.input(i)?;
        let through_def = || {
            let known = self.known?;
            let name = self
                .def
                .input
                .iter()
                .filter(|s| !s.starts_with('^'))
                .nth(i)?;
            let v = known.ints(name)?;
            let dims: Vec<usize> = match x.shape().rank() {
                Some(0) => vec![],
                _ => vec![v.len()],
            };
            crate::deferred::int_value(x.dtype(), &dims, v)
        };
        fold(x).or_else(through_def).ok_or_else(|| {
            self.needs.set(Some(i));
            self.error(format!(
                "input {i} ('{}', op {}) is not known at import",
                x.op().name(),
                x.op().op_type()
            ))
        })
    }

    /// A constant integer scalar input (an axis).
    pub fn const_scalar(&self, i: usize) -> Result<i64> {
        match self.const_ints(i)?[..] {
            [a] => Ok(a),
            _ => Err(self.error(format!("input {i} must be a scalar"))),
        }
    }

    /// A constant float scalar input.
    pub fn const_f32(&self, i: usize) -> Result<f32> {
        let v = self.const_input(i)?;
        v.to_f64_vec()
            .first()
            .map(|&x| x as f32)
            .filter(|_| v.len() == 1)
            .ok_or_else(|| self.error(format!("input {i} must be a number")))
    }

    /// A constant string scalar input (a summary's tag).
    pub fn const_str(&self, i: usize) -> Result<String> {
        let v = self.const_input(i)?;
        match v.as_strings().ok() {
            Some([s]) => Ok(String::from_utf8_lossy(s).into_owned()),
            _ => Err(self.error(format!("input {i} must be a string scalar"))),
        }
    }

    /// The variable that input `i` refers to (a `VariableV2` node).
    pub fn variable(&self, i: usize) -> Result<&Variable> {
        let var = self.input(i)?;
        self.variables.get(&var.node()).ok_or_else(|| {
            self.error(format!(
                "input {i} ('{}') is not a variable",
                var.op().name()
            ))
        })
    }

    /// A raw update op (`ApplyAdam`, ...) through its [`UPDATE_INPUTS`] row.
    fn apply(&self) -> Result<Imported> {
        let (vars, grad, scalars) =
            update_inputs(&self.def.op).ok_or_else(|| self.error("not an update op"))?;
        let vs = vars
            .iter()
            .map(|&i| self.variable(i))
            .collect::<Result<Vec<_>>>()?;
        let hs = scalars
            .iter()
            .map(|&i| self.input(i))
            .collect::<Result<Vec<_>>>()?;
        let nesterov = self.b("use_nesterov", false)?;
        if nesterov && self.def.op != "ApplyMomentum" {
            return Err(self.error("use_nesterov is not supported"));
        }
        let op = ops::train::apply_update(&self.def.op, &vs, self.input(grad)?, &hs, nesterov)
            .map_err(|e| self.error(e.to_string()))?;
        Ok(op.into())
    }

    /// A fused element-wise gradient (`TanhGrad`, ...) with its saved tensor at input `s`
    /// and the upstream gradient at input `dy` (TensorFlow's order differs between them).
    fn unary_grad(&self, s: usize, dy: usize) -> Result<Imported> {
        let y = ops::unary_grad_of(&self.def.op, self.input(s)?, self.input(dy)?)
            .ok_or_else(|| self.error("no fused gradient of this type"))?;
        t(y)
    }

    /// A constant `[rank, 2]` paddings input.
    fn paddings(&self, i: usize) -> Result<Vec<[usize; 2]>> {
        let p = self.const_dims(i)?;
        if p.len() % 2 != 0 {
            return Err(self.error(format!("input {i} (paddings) must be [rank, 2]")));
        }
        Ok(p.chunks(2).map(|c| [c[0], c[1]]).collect())
    }

    /// The data inputs as references.
    fn input_refs(&self) -> Vec<&Tensor> {
        self.inputs.iter().collect()
    }

    /// Several outputs of one TensorFlow node; the first carries its name.
    fn many(outputs: Vec<Tensor>) -> Result<Imported> {
        let op = outputs
            .first()
            .map(|t| t.op())
            .ok_or_else(|| Error::Kernel("a node without outputs".into()))?;
        Ok(Imported { op, outputs })
    }

    /// A tensor of input `i`'s shape for builders that read only a shape: `x` when input `i`
    /// is `Shape(x)`, else zeros of its constant value.
    fn shape_source(&self, i: usize) -> Result<Tensor> {
        let s = self.input(i)?;
        let op = s.op();
        if op.op_type() == "Shape" {
            return Ok(op.inputs()[0].clone());
        }
        let dims = self.const_dims(i)?;
        ops::fill(self.graph, &dims, 0f32, "zeros")
    }

    /// `(strides, padding, dilations)` of a convolution.
    fn conv_attrs(&self) -> Result<([usize; 4], Padding, [usize; 4])> {
        self.nhwc()?;
        let p = match self.s("padding", "")?.as_str() {
            "SAME" => Padding::Same,
            "VALID" => Padding::Valid,
            p => return Err(self.error(format!("padding '{p}' is not supported"))),
        };
        Ok((self.ints4("strides")?, p, self.ints4("dilations")?))
    }

    /// A constant int32/int64 input's values.
    pub fn const_ints(&self, i: usize) -> Result<Vec<i64>> {
        let v = self.const_input(i)?;
        match v.dtype() {
            DType::I32 => Ok(v.as_slice::<i32>()?.iter().map(|&x| i64::from(x)).collect()),
            DType::I64 => Ok(v.as_slice::<i64>()?.to_vec()),
            d => Err(self.error(format!("input {i} must be int32 or int64, is {d}"))),
        }
    }

    /// A constant input holding non-negative dims.
    pub fn const_dims(&self, i: usize) -> Result<Vec<usize>> {
        self.const_ints(i)?
            .into_iter()
            .map(|d| usize::try_from(d).map_err(|_| self.error(format!("negative dim {d}"))))
            .collect()
    }

    fn seed(&self) -> Result<Option<u64>> {
        let (s, s2) = (self.i("seed", 0)?, self.i("seed2", 0)?);
        Ok((s != 0 || s2 != 0).then_some((s as u64) ^ ((s2 as u64) << 32)))
    }

    fn binary(&self, f: fn(&Tensor, &Tensor) -> Result<Tensor>) -> Result<Imported> {
        t(f(self.input(0)?, self.input(1)?))
    }

    fn unary(&self, f: fn(&Tensor) -> Result<Tensor>) -> Result<Imported> {
        t(f(self.input(0)?))
    }

    fn reduce(&self, f: fn(&Tensor, ops::Axes, bool) -> Result<Tensor>) -> Result<Imported> {
        let axes = self.const_ints(1)?;
        t(f(
            self.input(0)?,
            ops::Axes::List(axes),
            self.b("keep_dims", false)?,
        ))
    }
}

/// TensorFlow op type → rustflow builder, one row per op type. Inputs that rustflow's
/// builders take as attributes (shapes, axes, permutations) must be `Const` nodes.
pub const OPS: &[(&str, Build)] = &[
    ("Abs", |n| n.unary(ops::abs)),
    ("Add", |n| n.binary(ops::add)),
    ("AddN", |n| {
        t(ops::add_n(&n.inputs.iter().collect::<Vec<_>>()))
    }),
    ("AddV2", |n| n.binary(ops::add)),
    ("ArgMax", |n| {
        let axis = n.const_ints(1)?;
        let [axis] = axis[..] else {
            return Err(n.error("axis must be a scalar"));
        };
        let out = n.dtype("output_type").unwrap_or(DType::I64);
        let y = ops::argmax(n.input(0)?, axis)?;
        t(if out == DType::I64 {
            Ok(y)
        } else {
            ops::cast(&y, out)
        })
    }),
    ("Assign", |n| {
        let var = n.input(0)?;
        let v = n
            .variables
            .get(&var.node())
            .ok_or_else(|| n.error(format!("input 0 ('{}') is not a variable", var.op().name())))?;
        if v.initial_value() == n.input(1)? {
            return Ok(v.initializer().clone().into());
        }
        t(v.assign(n.input(1)?))
    }),
    ("AvgPool", |n| {
        let p = n.padding()?;
        t(ops::nn::avg_pool(
            n.input(0)?,
            n.ints4("ksize")?,
            n.ints4("strides")?,
            p,
        ))
    }),
    ("BiasAdd", |n| {
        n.nhwc()?;
        n.binary(ops::nn::bias_add)
    }),
    ("BiasAddGrad", |n| {
        n.nhwc()?;
        n.unary(ops::nn::bias_add_grad)
    }),
    ("Cast", |n| t(ops::cast(n.input(0)?, n.dtype("DstT")?))),
    ("Const", |n| {
        t(Ok(ops::constant(n.graph, n.tensor("value")?, "Const")))
    }),
    ("Conv2D", |n| {
        let (s, p, d) = n.conv_attrs()?;
        t(ops::nn::conv2d_dilated(n.input(0)?, n.input(1)?, s, p, d))
    }),
    ("Div", |n| n.binary(ops::div)),
    ("Equal", |n| n.binary(ops::equal)),
    ("Exp", |n| n.unary(ops::exp)),
    ("Greater", |n| n.binary(ops::greater)),
    ("GreaterEqual", |n| n.binary(ops::greater_equal)),
    ("Identity", |n| n.unary(ops::identity)),
    ("IdentityN", |n| {
        NodeImport::many(n.inputs.iter().map(ops::identity).collect::<Result<_>>()?)
    }),
    ("Less", |n| n.binary(ops::less)),
    ("LessEqual", |n| n.binary(ops::less_equal)),
    ("Log", |n| n.unary(ops::log)),
    ("LogSoftmax", |n| n.unary(ops::nn::log_softmax)),
    ("MatMul", |n| {
        let (a, b) = (n.b("transpose_a", false)?, n.b("transpose_b", false)?);
        t(ops::matmul_t(n.input(0)?, n.input(1)?, a, b))
    }),
    ("Max", |n| n.reduce(ops::reduce_max)),
    ("Maximum", |n| n.binary(ops::maximum)),
    ("MaxPool", |n| {
        let p = n.padding()?;
        t(ops::nn::max_pool(
            n.input(0)?,
            n.ints4("ksize")?,
            n.ints4("strides")?,
            p,
        ))
    }),
    ("MaxPoolGrad", |n| {
        // Inputs (orig_input, orig_output, grad): rustflow recomputes the argmax from the input.
        let p = n.padding()?;
        t(ops::nn::max_pool_grad(
            n.input(0)?,
            n.input(2)?,
            n.ints4("ksize")?,
            n.ints4("strides")?,
            p,
        ))
    }),
    ("Mean", |n| n.reduce(ops::reduce_mean)),
    ("Minimum", |n| n.binary(ops::minimum)),
    ("Mul", |n| n.binary(ops::mul)),
    ("Neg", |n| n.unary(ops::neg)),
    ("NoOp", |n| Ok(ops::group(n.graph, &[], "NoOp")?.into())),
    ("NotEqual", |n| n.binary(ops::not_equal)),
    ("Placeholder", |n| {
        t(Ok(ops::placeholder(
            n.graph,
            n.dtype("dtype")?,
            n.shape("shape")?,
            "Placeholder",
        )))
    }),
    ("RandomStandardNormal", |n| {
        t(ops::random_normal(
            n.graph,
            &n.const_dims(0)?,
            0.0,
            1.0,
            n.seed()?,
        ))
    }),
    ("RandomUniform", |n| match n.const_dims(0) {
        Ok(shape) => t(ops::random_uniform(n.graph, &shape, 0.0, 1.0, n.seed()?)),
        Err(_) => t(ops::random_uniform_shaped(n.input(0)?, n.seed()?)),
    }),
    ("RealDiv", |n| n.binary(ops::div)),
    ("Relu", |n| n.unary(ops::nn::relu)),
    ("ReluGrad", |n| {
        t(ops::nn::relu_grad(n.input(0)?, n.input(1)?))
    }),
    ("Reshape", |n| {
        t(ops::reshape(n.input(0)?, &n.const_ints(1)?))
    }),
    ("SelectV2", |n| {
        t(ops::select_v2(n.input(0)?, n.input(1)?, n.input(2)?))
    }),
    ("Shape", |n| {
        t(ops::shape(
            n.input(0)?,
            n.dtype("out_type").unwrap_or(DType::I32),
        ))
    }),
    ("Sigmoid", |n| n.unary(ops::sigmoid)),
    ("Softmax", |n| n.unary(ops::nn::softmax)),
    // Output 1, the backprop, is `softmax(logits) - labels`, as TensorFlow's kernel computes it.
    ("SoftmaxCrossEntropyWithLogits", |n| {
        let (logits, labels) = (n.input(0)?, n.input(1)?);
        let loss = ops::nn::softmax_cross_entropy_with_logits(labels, logits)?;
        let backprop = ops::sub(&ops::nn::softmax(logits)?, labels)?;
        NodeImport::many(vec![loss, backprop])
    }),
    ("SparseSoftmaxCrossEntropyWithLogits", |n| {
        let loss = ops::nn::sparse_softmax_cross_entropy_with_logits(n.input(1)?, n.input(0)?)?;
        Ok(loss.op().into())
    }),
    ("Sqrt", |n| n.unary(ops::sqrt)),
    ("Square", |n| n.unary(ops::square)),
    ("StopGradient", |n| n.unary(ops::stop_gradient)),
    ("Sub", |n| n.binary(ops::sub)),
    ("Sum", |n| n.reduce(ops::reduce_sum)),
    ("Tanh", |n| n.unary(ops::tanh)),
    ("Transpose", |n| {
        let perm = n.const_dims(1)?;
        t(ops::transpose(n.input(0)?, Some(&perm)))
    }),
    ("TruncatedNormal", |n| {
        t(ops::truncated_normal(
            n.graph,
            &n.const_dims(0)?,
            0.0,
            1.0,
            n.seed()?,
        ))
    }),
    ("VariableV2", |n| {
        let init = match &n.initial_value {
            Some(v) => v.clone(),
            None => {
                let shape = n.shape("shape")?.to_known().ok_or_else(|| {
                    n.error("a variable without an initializer needs a fully known shape")
                })?;
                ops::fill(n.graph, &shape, 0f32, "zeros")?
            }
        };
        Ok(Variable::new(&init, &n.def.name)?.deref_tensor().into())
    }),
    ("All", |n| n.reduce(ops::reduce_all)),
    ("Any", |n| n.reduce(ops::reduce_any)),
    ("ApplyAdadelta", |n| n.apply()),
    ("ApplyAdagrad", |n| {
        if !n.b("update_slots", true)? {
            return Err(n.error("update_slots=false is not supported"));
        }
        n.apply()
    }),
    ("ApplyAdam", |n| n.apply()),
    ("ApplyCenteredRMSProp", |n| n.apply()),
    ("ApplyGradientDescent", |n| n.apply()),
    ("ApplyMomentum", |n| n.apply()),
    ("ApplyRMSProp", |n| n.apply()),
    ("ArgMin", |n| {
        let y = ops::argmin(n.input(0)?, n.const_scalar(1)?)?;
        let out = n.dtype("output_type").unwrap_or(DType::I64);
        t(if out == DType::I64 {
            Ok(y)
        } else {
            ops::cast(&y, out)
        })
    }),
    ("AssignAdd", |n| t(n.variable(0)?.assign_add(n.input(1)?))),
    ("AssignSub", |n| t(n.variable(0)?.assign_sub(n.input(1)?))),
    ("AvgPoolGrad", |n| {
        let p = n.padding()?;
        let x = n.shape_source(0)?;
        t(ops::nn::avg_pool_grad(
            &x,
            n.input(1)?,
            n.ints4("ksize")?,
            n.ints4("strides")?,
            p,
        ))
    }),
    ("BatchMatMul", |n| {
        let (a, b) = (n.b("adj_x", false)?, n.b("adj_y", false)?);
        t(ops::batch_matmul(n.input(0)?, n.input(1)?, a, b))
    }),
    ("BatchMatMulV2", |n| {
        let (a, b) = (n.b("adj_x", false)?, n.b("adj_y", false)?);
        t(ops::batch_matmul(n.input(0)?, n.input(1)?, a, b))
    }),
    ("BiasAddV1", |n| n.binary(ops::nn::bias_add)),
    ("BroadcastGradientArgs", |n| {
        let (r0, r1) = ops::broadcast_gradient_args(n.input(0)?, n.input(1)?)?;
        NodeImport::many(vec![r0, r1])
    }),
    ("Ceil", |n| n.unary(ops::ceil)),
    ("CheckNumerics", |n| {
        t(ops::check_numerics(n.input(0)?, &n.s("message", "")?))
    }),
    ("Concat", |n| {
        let axis = n.const_scalar(0)?;
        t(ops::concat(&n.input_refs()[1..], axis))
    }),
    ("ConcatV2", |n| {
        let k = n.inputs.len().saturating_sub(1);
        let axis = n.const_scalar(k)?;
        t(ops::concat(&n.input_refs()[..k], axis))
    }),
    ("Conv2DBackpropFilter", |n| {
        let (s, p, d) = n.conv_attrs()?;
        let f = n.shape_source(1)?;
        if d != [1, 1, 1, 1] {
            // Dilated: the gradient of the dilated convolution with respect to its filter.
            let x = n.input(0)?;
            let g = n.grad_of(&[&f], n.input(2)?, |v| {
                ops::nn::conv2d_dilated(x, v[0], s, p, d)
            })?;
            return t(Ok(g[0].clone()));
        }
        t(ops::nn::conv2d_backprop_filter(
            n.input(0)?,
            &f,
            n.input(2)?,
            s,
            p,
        ))
    }),
    ("Conv2DBackpropInput", |n| {
        let (s, p, d) = n.conv_attrs()?;
        if d != [1, 1, 1, 1] {
            // Dilated: the gradient of the dilated convolution with respect to its input.
            let (x, f) = (n.shape_source(0)?, n.input(1)?);
            let g = n.grad_of(&[&x], n.input(2)?, |v| {
                ops::nn::conv2d_dilated(v[0], f, s, p, d)
            })?;
            return t(Ok(g[0].clone()));
        }
        let sizes = n.input(0)?;
        if sizes.op().op_type() == "Shape" {
            let x = sizes.op().inputs()[0].clone();
            return t(ops::nn::conv2d_backprop_input(
                &x,
                n.input(1)?,
                n.input(2)?,
                s,
                p,
            ));
        }
        let dims: [usize; 4] = n
            .const_dims(0)?
            .try_into()
            .map_err(|_| n.error("input_sizes must have 4 entries"))?;
        t(ops::nn::conv2d_transpose(
            n.input(2)?,
            n.input(1)?,
            dims,
            s,
            p,
        ))
    }),
    ("Cos", |n| n.unary(ops::cos)),
    ("Cumsum", |n| {
        let axis = n.const_scalar(1)?;
        t(ops::cumsum(
            n.input(0)?,
            axis,
            n.b("exclusive", false)?,
            n.b("reverse", false)?,
        ))
    }),
    ("DepthwiseConv2dNative", |n| {
        let (s, p, d) = n.conv_attrs()?;
        t(ops::nn::depthwise_conv2d(n.input(0)?, n.input(1)?, s, p, d))
    }),
    ("Elu", |n| n.unary(ops::elu)),
    ("EluGrad", |n| n.unary_grad(1, 0)),
    ("Erf", |n| n.unary(ops::erf)),
    ("ExpandDims", |n| {
        t(ops::expand_dims(n.input(0)?, n.const_scalar(1)?))
    }),
    ("Expm1", |n| n.unary(ops::expm1)),
    ("Fill", |n| {
        let dims = n.const_dims(0)?;
        t(ops::fill_tensor(&dims, n.input(1)?))
    }),
    ("Floor", |n| n.unary(ops::floor)),
    // x - x is 0 exactly where x is finite.
    ("IsFinite", |n| {
        let x = n.input(0)?;
        t(ops::equal(&ops::sub(x, x)?, &ops::zeros_like(x)?))
    }),
    ("InvertPermutation", |n| {
        let p = n.const_dims(0)?;
        let mut inv = vec![0i64; p.len()];
        for (i, &j) in p.iter().enumerate() {
            *inv.get_mut(j)
                .ok_or_else(|| n.error(format!("{p:?} is not a permutation")))? = i as i64;
        }
        n.int_constant(&inv)
    }),
    // Outputs (out, idx): the elements of x not in y, and their positions in x.
    ("ListDiff", |n| {
        let (x, y) = (n.const_ints(0)?, n.const_ints(1)?);
        let idx: Vec<i64> = (0..x.len() as i64)
            .filter(|&i| !y.contains(&x[i as usize]))
            .collect();
        let out: Vec<i64> = idx.iter().map(|&i| x[i as usize]).collect();
        let out = n.int_constant(&out)?.outputs.remove(0);
        let dtype = n.dtype("out_idx").unwrap_or(DType::I32);
        let idx = ops::cast(&n.int_constant(&idx)?.outputs[0], dtype)?;
        NodeImport::many(vec![out, idx])
    }),
    // Inputs (concat_dim, shape_0, ...): each shape's offset in the concatenation.
    ("ConcatOffset", |n| {
        let axis = n.const_scalar(0)?;
        let mut at = 0i64;
        let mut out = vec![];
        for i in 1..n.inputs.len() {
            let s = n.const_ints(i)?;
            let k = usize::try_from(if axis < 0 {
                axis + s.len() as i64
            } else {
                axis
            })
            .ok()
            .filter(|&k| k < s.len())
            .ok_or_else(|| n.error(format!("axis {axis} for shape {s:?}")))?;
            let mut o = vec![0i64; s.len()];
            o[k] = at;
            at += s[k];
            out.push(n.int_constant(&o)?.outputs.remove(0));
        }
        NodeImport::many(out)
    }),
    ("BroadcastTo", |n| {
        let x = n.input(0)?;
        let zeros = ops::cast(&ops::zeros(n.graph, &n.const_dims(1)?)?, x.dtype())?;
        t(ops::add(x, &zeros))
    }),
    ("Cumprod", |n| {
        let (exclusive, reverse) = (n.b("exclusive", false)?, n.b("reverse", false)?);
        t(cumprod(n.input(0)?, n.const_scalar(1)?, exclusive, reverse))
    }),
    ("DepthwiseConv2dNativeBackpropInput", |n| {
        let (s, p, d) = n.conv_attrs()?;
        let x = n.shape_source(0)?;
        let w = n.input(1)?;
        let g = n.grad_of(&[&x], n.input(2)?, |x| {
            ops::nn::depthwise_conv2d(x[0], w, s, p, d)
        })?;
        NodeImport::many(g)
    }),
    ("DepthwiseConv2dNativeBackpropFilter", |n| {
        let (s, p, d) = n.conv_attrs()?;
        let f = n.shape_source(1)?;
        let x = n.input(0)?;
        let g = n.grad_of(&[&f], n.input(2)?, |f| {
            ops::nn::depthwise_conv2d(x, f[0], s, p, d)
        })?;
        NodeImport::many(g)
    }),
    ("MaxPoolGradGrad", |n| {
        let p = n.padding()?;
        t(ops::nn::max_pool_grad_grad(
            n.input(0)?,
            n.input(2)?,
            n.ints4("ksize")?,
            n.ints4("strides")?,
            p,
        ))
    }),
    // Inputs (grad, paddings): the gradient of a mirror pad of an input of grad's shape
    // less the paddings.
    ("MirrorPadGrad", |n| {
        let mode = mirror_mode(n)?;
        let pads = n.paddings(1)?;
        let dims = n
            .input(0)?
            .shape()
            .to_known()
            .ok_or_else(|| n.error("needs the gradient's static shape"))?;
        if dims.len() != pads.len() {
            return Err(n.error("paddings must have one row per dim"));
        }
        let x: Vec<usize> = dims
            .iter()
            .zip(&pads)
            .map(|(d, [a, b])| {
                d.checked_sub(a + b)
                    .ok_or_else(|| n.error("paddings exceed the gradient"))
            })
            .collect::<Result<_>>()?;
        let x = ops::zeros(n.graph, &x)?;
        NodeImport::many(n.grad_of(&[&x], n.input(0)?, |x| ops::pad(x[0], &pads, mode, 0.0))?)
    }),
    // Inputs (indices, updates, shape): the gradient of gather_nd.
    ("ScatterNd", |n| {
        let params = ops::zeros(n.graph, &n.const_dims(2)?)?;
        let i = n.input(0)?;
        NodeImport::many(n.grad_of(&[&params], n.input(1)?, |p| ops::gather_nd(p[0], i))?)
    }),
    ("SoftplusGrad", |n| {
        NodeImport::many(n.grad_of(&[n.input(1)?], n.input(0)?, |x| ops::softplus(x[0]))?)
    }),
    ("SoftsignGrad", |n| {
        NodeImport::many(n.grad_of(&[n.input(1)?], n.input(0)?, |x| ops::softsign(x[0]))?)
    }),
    // Inputs (data, segment_ids, num_segments): the gradient of gather.
    ("UnsortedSegmentSum", |n| {
        let (data, ids) = (n.input(0)?, n.input(1)?);
        let num =
            usize::try_from(n.const_scalar(2)?).map_err(|_| n.error("negative num_segments"))?;
        // The dims of data after segment_ids' must be known; the leading ones may not be.
        let shape = data.shape();
        let inner = match (shape.dims(), ids.shape().rank()) {
            (Some(d), Some(r)) => d.get(r..).and_then(|d| d.iter().copied().collect()),
            _ => None,
        };
        let Some(inner) = inner else {
            return Err(n.error("needs data's static dims after segment_ids' rank"));
        };
        let mut shape = vec![num];
        shape.extend::<Vec<usize>>(inner);
        let params = ops::zeros(n.graph, &shape)?;
        NodeImport::many(n.grad_of(&[&params], data, |p| ops::gather(p[0], ids, 0))?)
    }),
    ("FloorDiv", |n| n.binary(ops::floordiv)),
    ("FloorMod", |n| n.binary(ops::floormod)),
    ("FusedBatchNorm", fused_batch_norm),
    ("FusedBatchNormGrad", fused_batch_norm_grad),
    ("FusedBatchNormGradV2", fused_batch_norm_grad),
    ("FusedBatchNormGradV3", fused_batch_norm_grad),
    ("If", functional_if),
    ("StatelessIf", functional_if),
    ("While", functional_while),
    ("StatelessWhile", functional_while),
    ("TensorArrayV3", ta::tensor_array_v3),
    ("TensorArrayWriteV3", ta::write),
    ("TensorArrayScatterV3", ta::scatter),
    ("TensorArrayReadV3", ta::read),
    ("TensorArrayGatherV3", ta::gather),
    ("TensorArraySizeV3", ta::size),
    ("TensorListReserve", ta::tensor_list_reserve),
    ("TensorListFromTensor", ta::same_flow),
    ("TensorListSetItem", ta::write),
    ("TensorListGetItem", ta::read),
    ("TensorListGather", ta::gather),
    ("TensorListStack", ta::same_flow),
    ("TensorListLength", ta::size),
    ("FusedBatchNormV2", fused_batch_norm),
    ("FusedBatchNormV3", fused_batch_norm),
    ("Gather", |n| t(ops::gather(n.input(0)?, n.input(1)?, 0))),
    ("GatherNd", |n| n.binary(ops::gather_nd)),
    ("GatherV2", |n| {
        if n.i("batch_dims", 0)? != 0 {
            return Err(n.error("batch_dims other than 0 are not supported"));
        }
        t(ops::gather(n.input(0)?, n.input(1)?, n.const_scalar(2)?))
    }),
    ("HistogramSummary", |n| {
        t(ops::summary::histogram(&n.const_str(0)?, n.input(1)?))
    }),
    ("ImageSummary", |n| {
        let max = usize::try_from(n.i("max_images", 3)?).unwrap_or(3);
        t(ops::summary::image(&n.const_str(0)?, n.input(1)?, max))
    }),
    ("InTopKV2", |n| {
        let k =
            usize::try_from(n.const_scalar(2)?).map_err(|_| n.error("k must not be negative"))?;
        t(ops::in_top_k(n.input(0)?, n.input(1)?, k))
    }),
    ("L2Loss", |n| n.unary(ops::l2_loss)),
    ("LRN", |n| t(lrn(n, n.input(0)?))),
    ("LRNGrad", |n| {
        let g = n.grad_of(&[n.input(1)?], n.input(0)?, |x| lrn(n, x[0]))?;
        NodeImport::many(g)
    }),
    ("LeakyReluGrad", |n| {
        let alpha = n.f("alpha", 0.2);
        let g = n.grad_of(&[n.input(1)?], n.input(0)?, |x| {
            ops::leaky_relu(x[0], alpha)
        })?;
        NodeImport::many(g)
    }),
    ("LeakyRelu", |n| {
        let alpha = match n.def.attr.get("alpha").and_then(|v| v.value.as_ref()) {
            Some(Attr::F(x)) => *x,
            _ => 0.2,
        };
        t(ops::leaky_relu(n.input(0)?, alpha))
    }),
    ("Log1p", |n| n.unary(ops::log1p)),
    ("LogicalAnd", |n| n.binary(ops::logical_and)),
    ("LogicalNot", |n| n.unary(ops::logical_not)),
    ("LogicalOr", |n| n.binary(ops::logical_or)),
    ("MergeSummary", |n| t(ops::summary::merge(&n.input_refs()))),
    ("Min", |n| n.reduce(ops::reduce_min)),
    ("MirrorPad", |n| {
        t(ops::pad(n.input(0)?, &n.paddings(1)?, mirror_mode(n)?, 0.0))
    }),
    ("OneHot", |n| {
        let depth = usize::try_from(n.const_scalar(1)?).map_err(|_| n.error("negative depth"))?;
        if n.dtype("T").unwrap_or(DType::F32) != DType::F32 {
            return Err(n.error("only float32 one_hot is supported"));
        }
        let (on, off) = (n.const_f32(2)?, n.const_f32(3)?);
        t(ops::one_hot(n.input(0)?, depth, on, off, n.i("axis", -1)?))
    }),
    ("OnesLike", |n| n.unary(ops::ones_like)),
    ("Pack", |n| t(ops::stack(&n.input_refs(), n.i("axis", 0)?))),
    ("Pad", |n| {
        t(ops::pad(
            n.input(0)?,
            &n.paddings(1)?,
            ops::PadMode::Constant,
            0.0,
        ))
    }),
    ("PadV2", |n| {
        let c = f64::from(n.const_f32(2)?);
        t(ops::pad(
            n.input(0)?,
            &n.paddings(1)?,
            ops::PadMode::Constant,
            c,
        ))
    }),
    // A placeholder that need not be fed: rustflow can feed any tensor.
    ("PlaceholderWithDefault", |n| n.unary(ops::identity)),
    ("Pow", |n| n.binary(ops::pow)),
    ("Prod", |n| n.reduce(ops::reduce_prod)),
    ("Range", |n| {
        let dtype = n.dtype("Tidx").unwrap_or(DType::I32);
        let v = |i| {
            n.const_input(i)
                .map(|v| v.to_f64_vec().first().copied().unwrap_or(0.0))
        };
        t(ops::range(n.graph, v(0)?, v(1)?, v(2)?, dtype))
    }),
    ("Rank", |n| n.unary(ops::rank)),
    ("Reciprocal", |n| n.unary(ops::reciprocal)),
    ("ReciprocalGrad", |n| n.unary_grad(0, 1)),
    ("Relu6", |n| n.unary(ops::relu6)),
    ("Relu6Grad", |n| n.unary_grad(1, 0)),
    ("RestoreV2", |n| {
        let dtypes = match n.def.attr.get("dtypes").and_then(|v| v.value.as_ref()) {
            Some(Attr::List(l)) => l
                .r#type
                .iter()
                .map(|&d| convert::dtype(d, &n.def.name))
                .collect::<Result<Vec<_>>>()?,
            _ => return Err(n.error("attr 'dtypes' is not a list of types")),
        };
        NodeImport::many(crate::ops::restore_v2(
            n.input(0)?,
            n.input(1)?,
            n.input(2)?,
            &dtypes,
        )?)
    }),
    ("ReverseV2", |n| {
        t(ops::reverse(n.input(0)?, &n.const_ints(1)?))
    }),
    ("Round", |n| n.unary(ops::round)),
    ("Rsqrt", |n| n.unary(ops::rsqrt)),
    ("RsqrtGrad", |n| n.unary_grad(0, 1)),
    ("SaveV2", |n| {
        let ins = n.input_refs();
        if ins.len() < 3 {
            return Err(n.error("needs a prefix, tensor names and shapes and slices"));
        }
        Ok(crate::ops::save_v2(ins[0], ins[1], ins[2], &ins[3..])?.into())
    }),
    ("ScalarSummary", |n| {
        t(ops::summary::scalar(&n.const_str(0)?, n.input(1)?))
    }),
    ("Select", |n| {
        t(ops::select(n.input(0)?, n.input(1)?, n.input(2)?))
    }),
    ("Selu", |n| n.unary(ops::selu)),
    ("SeluGrad", |n| n.unary_grad(1, 0)),
    ("ShapeN", |n| {
        let out = n.dtype("out_type").unwrap_or(DType::I32);
        let shapes = n
            .inputs
            .iter()
            .map(|x| ops::shape(x, out))
            .collect::<Result<Vec<_>>>()?;
        NodeImport::many(shapes)
    }),
    ("SigmoidGrad", |n| n.unary_grad(0, 1)),
    ("Sign", |n| n.unary(ops::sign)),
    ("Sin", |n| n.unary(ops::sin)),
    ("Size", |n| {
        t(ops::size(
            n.input(0)?,
            n.dtype("out_type").unwrap_or(DType::I32),
        ))
    }),
    ("Slice", |n| {
        t(ops::slice(
            n.input(0)?,
            &n.const_ints(1)?,
            &n.const_ints(2)?,
        ))
    }),
    ("Snapshot", |n| n.unary(ops::identity)),
    ("Softplus", |n| n.unary(ops::softplus)),
    ("Softsign", |n| n.unary(ops::softsign)),
    ("Split", |n| {
        let num =
            usize::try_from(n.i("num_split", 1)?).map_err(|_| n.error("negative num_split"))?;
        let axis = n.const_scalar(0)?;
        NodeImport::many(ops::split(n.input(1)?, num, axis)?)
    }),
    ("SplitV", |n| {
        let axis = n.const_scalar(2)?;
        NodeImport::many(ops::split_v(n.input(0)?, &n.const_ints(1)?, axis)?)
    }),
    ("SqrtGrad", |n| n.unary_grad(0, 1)),
    ("SquaredDifference", |n| n.binary(ops::squared_difference)),
    ("Squeeze", |n| {
        let dims = n.ints("squeeze_dims", &[])?;
        t(ops::squeeze(
            n.input(0)?,
            (!dims.is_empty()).then_some(&dims[..]),
        ))
    }),
    ("StridedSlice", |n| t(strided_slice(n, n.input(0)?, 1))),
    // Inputs (shape, begin, end, strides, dy).
    ("StridedSliceGrad", |n| {
        let x = ops::zeros(n.graph, &n.const_dims(0)?)?;
        NodeImport::many(n.grad_of(&[&x], n.input(4)?, |x| strided_slice(n, x[0], 1))?)
    }),
    ("TanhGrad", |n| n.unary_grad(0, 1)),
    ("Tile", |n| t(ops::tile(n.input(0)?, &n.const_dims(1)?))),
    ("TopKV2", |n| {
        let k = usize::try_from(n.const_scalar(1)?).map_err(|_| n.error("negative k"))?;
        let (v, i) = ops::top_k(n.input(0)?, k)?;
        NodeImport::many(vec![v, i])
    }),
    ("Unpack", |n| {
        let num = usize::try_from(n.i("num", 0)?).ok();
        NodeImport::many(ops::unstack(n.input(0)?, n.i("axis", 0)?, num)?)
    }),
    ("Where", |n| n.unary(ops::where_indices)),
    ("ZerosLike", |n| n.unary(ops::zeros_like)),
];

/// `FusedBatchNorm` (V2, V3): outputs y, batch mean and batch variance, and the reserve
/// spaces.
fn fused_batch_norm(n: &NodeImport<'_>) -> Result<Imported> {
    n.nhwc()?;
    let eps = match n.def.attr.get("epsilon").and_then(|v| v.value.as_ref()) {
        Some(Attr::F(x)) => *x,
        _ => 1e-4,
    };
    let training = n.b("is_training", true)?;
    let (mean, var) = if training {
        (None, None)
    } else {
        (Some(n.input(3)?), Some(n.input(4)?))
    };
    let (y, m, v) = ops::nn::fused_batch_norm(
        n.input(0)?,
        n.input(1)?,
        n.input(2)?,
        mean,
        var,
        eps,
        training,
    )?;
    // TensorFlow's reserve spaces: the batch's mean and variance again (read only by
    // FusedBatchNormGrad, which recomputes what it needs), and an unused third.
    let unused = ops::zeros_like(&m)?;
    NodeImport::many(vec![y, m.clone(), v.clone(), m, v, unused])
}

/// `LRN` of `x` with the node's attributes.
fn lrn(n: &NodeImport<'_>, x: &Tensor) -> Result<Tensor> {
    let r =
        usize::try_from(n.i("depth_radius", 5)?).map_err(|_| n.error("negative depth_radius"))?;
    ops::nn::local_response_normalization(
        x,
        r,
        n.f("bias", 1.0),
        n.f("alpha", 1.0),
        n.f("beta", 0.5),
    )
}

/// `StridedSlice` of `x` with begin, end and strides at inputs `at..at + 3` and the
/// node's masks.
fn strided_slice(n: &NodeImport<'_>, x: &Tensor, at: usize) -> Result<Tensor> {
    let masks = ops::SliceMasks {
        begin: n.i("begin_mask", 0)?,
        end: n.i("end_mask", 0)?,
        ellipsis: n.i("ellipsis_mask", 0)?,
        new_axis: n.i("new_axis_mask", 0)?,
        shrink_axis: n.i("shrink_axis_mask", 0)?,
    };
    let (b, e, s) = (
        n.const_ints(at)?,
        n.const_ints(at + 1)?,
        n.const_ints(at + 2)?,
    );
    ops::strided_slice(x, &b, &e, &s, masks)
}

/// The `mode` of `MirrorPad` and `MirrorPadGrad`.
fn mirror_mode(n: &NodeImport<'_>) -> Result<ops::PadMode> {
    match n.s("mode", "")?.as_str() {
        "REFLECT" => Ok(ops::PadMode::Reflect),
        "SYMMETRIC" => Ok(ops::PadMode::Symmetric),
        m => Err(n.error(format!("mode '{m}' is not supported"))),
    }
}

/// `tf.math.cumprod` along `axis` (of static length): running products of the slices.
fn cumprod(x: &Tensor, axis: i64, exclusive: bool, reverse: bool) -> Result<Tensor> {
    let mut parts = ops::unstack(x, axis, None)?;
    if reverse {
        parts.reverse();
    }
    let mut out = Vec::with_capacity(parts.len());
    let mut acc: Option<Tensor> = None;
    for p in &parts {
        let next = match &acc {
            Some(a) => ops::mul(a, p)?,
            None => p.clone(),
        };
        out.push(match (exclusive, &acc) {
            (false, _) => next.clone(),
            (true, Some(a)) => a.clone(),
            (true, None) => ops::ones_like(p)?,
        });
        acc = Some(next);
    }
    if reverse {
        out.reverse();
    }
    ops::stack(&out.iter().collect::<Vec<_>>(), axis)
}

/// `FusedBatchNormGrad` (V2, V3), inputs (dy, x, scale, reserve 1 and 2 = the batch's or
/// the population's mean and variance): the gradients of rustflow's fused batch norm with
/// respect to x, scale and offset, and two empty reserve outputs.
fn fused_batch_norm_grad(n: &NodeImport<'_>) -> Result<Imported> {
    n.nhwc()?;
    let eps = n.f("epsilon", 1e-4);
    let training = n.b("is_training", true)?;
    let (dy, x, scale) = (n.input(0)?, n.input(1)?, n.input(2)?);
    let offset = ops::zeros_like(scale)?;
    let (mean, var) = (n.input(3)?, n.input(4)?);
    let mut g = n.grad_of(&[x, scale, &offset], dy, |v| {
        let (m, s) = if training {
            (None, None)
        } else {
            (Some(mean), Some(var))
        };
        Ok(ops::nn::fused_batch_norm(v[0], v[1], v[2], m, s, eps, training)?.0)
    })?;
    g.push(ops::zeros_like(scale)?);
    g.push(ops::zeros_like(scale)?);
    NodeImport::many(g)
}

/// `If`/`StatelessIf` (`tf.cond` with control flow v2, and TF1's `Switch`/`Merge` conds
/// as [`crate::control_v1`] rebuilds them): rustflow's `cond` with the `then_branch` and
/// `else_branch` functions, each called with the inputs after the predicate.
fn functional_if(n: &NodeImport<'_>) -> Result<Imported> {
    let pred = NodeImport::truth(n.input(0)?)?;
    let args = &n.inputs[1..];
    let out = ops::cond(
        &pred,
        || n.call("then_branch", args),
        || n.call("else_branch", args),
    )?;
    NodeImport::many(out)
}

/// `While`/`StatelessWhile` (`tf.while_loop` with control flow v2, and TF1's loop frames as
/// [`crate::control_v1`] rebuilds them): rustflow's `while_loop` over the inputs with the
/// `cond` and `body` functions; `output_shapes`, when given, are the shape invariants (but
/// for a variant or resource, a TensorArray's flow here: its shape as it enters).
fn functional_while(n: &NodeImport<'_>) -> Result<Imported> {
    let vars: Vec<&Tensor> = n.inputs.iter().collect();
    let types = match n.attr("T") {
        Some(Attr::List(l)) => l.r#type.clone(),
        _ => vec![],
    };
    let flow = |k: usize| {
        [
            rustflow_proto::DataType::DtVariant,
            rustflow_proto::DataType::DtResource,
        ]
        .iter()
        .any(|&d| types.get(k) == Some(&(d as i32)))
    };
    let shape_invariants = match n.attr("output_shapes") {
        Some(Attr::List(l)) if l.shape.len() == vars.len() => Some(
            l.shape
                .iter()
                .enumerate()
                .map(|(k, s)| {
                    if flow(k) {
                        vars[k].shape()
                    } else {
                        convert::shape(s)
                    }
                })
                .collect(),
        ),
        _ => None,
    };
    let options = ops::WhileOptions {
        shape_invariants,
        ..Default::default()
    };
    let out = ops::while_loop(
        |v| {
            let c = n.call("cond", v)?;
            let [c] = &c[..] else {
                return Err(n.error(format!("cond returns {} tensors, not one", c.len())));
            };
            NodeImport::truth(c)
        },
        |v| n.call("body", v),
        &vars,
        options,
    )?;
    NodeImport::many(out)
}

/// The node of `ctx` as a [`Deferred`] op that takes input `i` (and any other the row asks
/// for) at run time; its output's dtype is the node's `T` (or `dtype`, `out_type`, `Tidx`)
/// attribute, its shape unknown.
fn deferred(ctx: &NodeImport<'_>, build: Build, i: usize) -> Result<Imported> {
    let op_type = OPS
        .iter()
        .map(|(name, _)| *name)
        .find(|name| *name == ctx.def.op)
        .ok_or_else(|| ctx.error("no row"))?;
    let dtype = ["T", "dtype", "out_type", "Tidx"]
        .iter()
        .find_map(|a| ctx.dtype(a).ok())
        .unwrap_or(DType::F32);
    let op = Deferred::new(op_type, ctx.def.clone(), build, i);
    let spec = rustflow_graph::TensorSpec::new(dtype, Shape::unknown());
    Ok(ctx
        .graph
        .add_node(
            &ctx.def.name,
            Arc::new(op),
            &ctx.input_refs(),
            &[],
            vec![spec],
        )?
        .into())
}

/// `Variable` as its value tensor.
trait DerefTensor {
    fn deref_tensor(&self) -> Tensor;
}

impl DerefTensor for Variable {
    fn deref_tensor(&self) -> Tensor {
        (**self).clone()
    }
}

/// The builder of a TensorFlow op type, if rustflow has one.
pub fn builder(op_type: &str) -> Option<Build> {
    OPS.iter()
        .find(|(name, _)| *name == op_type)
        .map(|(_, b)| *b)
}

/// Whether [`import_graph_def`] imports nodes of `op_type`: a row of [`OPS`], or TF1 control
/// flow, which it rebuilds as `If` and `While` ([`crate::control_v1`]).
pub fn imports(op_type: &str) -> bool {
    builder(op_type).is_some() || crate::control_v1::is_v1(op_type)
}

/// Options of [`import_graph_def`] (`tf.import_graph_def`'s arguments).
#[derive(Clone, Debug, Default)]
pub struct ImportOptions {
    /// Tensors of the graph to use in place of the GraphDef's (`"x:0"` → tensor).
    pub input_map: HashMap<String, Tensor>,
    /// Tensor (`"name:0"`) or op (`"name"`) names to return, in order.
    pub return_elements: Vec<String>,
    /// The name scope of the imported nodes (`"import"` as TensorFlow's default; `""` for
    /// none). A used scope becomes `import_1`, ...
    pub name: String,
}

/// What [`import_graph_def`] returns.
#[derive(Debug, Clone)]
pub enum Element {
    /// A tensor (`"name:k"`).
    Tensor(Tensor),
    /// An op (`"name"`).
    Op(Operation),
}

/// Why bytes are not a GraphDef: the byte offset and cause (binary), or the text parser's
/// line and field (text: printable bytes only).
fn graph_def_fault(bytes: &[u8], binary: rustflow_proto::DecodeError) -> (u64, String) {
    let printable = |b: &u8| b.is_ascii_graphic() || b.is_ascii_whitespace() || *b >= 0x80;
    if let (true, Ok(text)) = (bytes.iter().all(printable), std::str::from_utf8(bytes)) {
        if let Err(e) = rustflow_proto::text::parse::<GraphDef>(text) {
            return (0, format!("not a GraphDef in text form: {e}"));
        }
    }
    let (at, why) = crate::wire::graph_def(bytes).unwrap_or((0, binary.to_string()));
    (at as u64, format!("not a GraphDef: {why}"))
}

/// Parses a GraphDef from its binary or text form; an error gives the byte offset of the
/// first fault (binary) or the line (text).
pub fn parse_graph_def(bytes: &[u8]) -> Result<GraphDef> {
    match GraphDef::decode(bytes) {
        Ok(g) => Ok(g),
        Err(binary) => {
            if let Some(g) = std::str::from_utf8(bytes)
                .ok()
                .and_then(|t| rustflow_proto::text::parse(t).ok())
            {
                return Ok(g);
            }
            let (at, msg) = graph_def_fault(bytes, binary);
            Err(Error::Kernel(format!("{msg} (at byte offset {at})")))
        }
    }
}

/// Reads the GraphDef file `path` (`.pb` or `.pbtxt`); a corrupt or truncated file is an
/// error naming it and the byte offset of the first fault.
pub fn read_graph_def(path: impl AsRef<std::path::Path>) -> Result<GraphDef> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| Error::Io {
        path: path.into(),
        source,
    })?;
    match GraphDef::decode(bytes.as_slice()) {
        Ok(g) => Ok(g),
        Err(binary) => {
            if let Some(g) = std::str::from_utf8(&bytes)
                .ok()
                .and_then(|t| rustflow_proto::text::parse(t).ok())
            {
                return Ok(g);
            }
            let (offset, msg) = graph_def_fault(&bytes, binary);
            Err(Error::DataLoss {
                path: path.into(),
                offset,
                msg,
            })
        }
    }
}

/// `(node, output index, is control)` of an input string (`"n"`, `"n:1"`, `"^n"`).
pub(crate) fn parse_input(s: &str) -> (&str, usize, bool) {
    if let Some(n) = s.strip_prefix('^') {
        return (n, 0, true);
    }
    match s.rsplit_once(':') {
        Some((n, k)) if k.bytes().all(|b| b.is_ascii_digit()) && !k.is_empty() => {
            (n, k.parse().unwrap_or(0), false)
        }
        _ => (s, 0, false),
    }
}

/// The initializer of each variable: the `Assign` named `<var>/Assign`, else the first
/// `Assign` to it.
fn initializers(def: &GraphDef) -> HashMap<&str, &NodeDef> {
    let mut out: HashMap<&str, &NodeDef> = HashMap::new();
    for n in def.node.iter().filter(|n| n.op == "Assign") {
        let Some(var) = n.input.first().map(|s| parse_input(s).0) else {
            continue;
        };
        let conventional = n.name == format!("{var}/Assign");
        if conventional || !out.contains_key(var) {
            out.insert(var, n);
        }
    }
    out
}

/// Imports `def` into `graph` (`tf.import_graph_def`): every node becomes rustflow nodes
/// through [`OPS`], named `<scope>/<node name>`. An op type rustflow does not have, or an
/// input naming no node, is an error naming the node before anything is added.
/// Returns `options.return_elements`, resolved.
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_interop::{import_graph_def, parse_graph_def, ImportOptions};
/// let def = parse_graph_def(br#"node { name: "c" op: "Const" attr { key: "dtype" value { type: DT_FLOAT } }
///   attr { key: "value" value { tensor { dtype: DT_FLOAT tensor_shape { } float_val: 2 } } } }
///   node { name: "y" op: "Mul" input: "c" input: "c" attr { key: "T" value { type: DT_FLOAT } } }"#).unwrap();
/// let g = Graph::new();
/// let opts = ImportOptions { return_elements: vec!["y:0".into()], ..Default::default() };
/// let out = import_graph_def(&g, &def, &opts).unwrap();
/// assert_eq!(g.tensor_by_name("y:0").unwrap().op().op_type(), "Mul");
/// let bad = parse_graph_def(br#"node { name: "z" op: "Frobnicate" }"#).unwrap();
/// let e = import_graph_def(&g, &bad, &ImportOptions::default()).unwrap_err().to_string();
/// assert!(e.contains("Frobnicate") && e.contains("'z'"), "{e}");
/// # drop(out);
/// ```
pub fn import_graph_def(
    graph: &Graph,
    def: &GraphDef,
    options: &ImportOptions,
) -> Result<Vec<Element>> {
    let mut functions = functions::library(def.library.as_ref())?;
    let def = crate::control_v1::lower(&ta::element_shapes(def), &mut functions)?;
    // Everything is checked before any node is added: the nodes, and the functions they call.
    let mapped: HashSet<&str> = options.input_map.keys().map(|k| parse_input(k).0).collect();
    check(&def.node, &mapped)?;
    let mut called: Vec<&str> = def.node.iter().flat_map(called_functions).collect();
    let mut checked = HashSet::new();
    while let Some(f) = called.pop() {
        if !checked.insert(f) {
            continue;
        }
        let Some(body) = functions.get(f) else {
            let n = def.node.iter().find(|n| called_functions(n).contains(&f));
            return Err(Error::InvalidArgument {
                node: n.map_or(f, |n| &n.name).to_string(),
                op: n.map_or("", |n| &n.op).to_string(),
                msg: format!("calls function '{f}', which the GraphDef's library lacks"),
            });
        };
        check(&body.nodes, &body.args.iter().map(String::as_str).collect())?;
        called.extend(body.nodes.iter().flat_map(called_functions));
    }
    import_nodes(graph, &def, options, &functions)
}

/// The functions a node's attributes name.
fn called_functions(n: &NodeDef) -> Vec<&str> {
    n.attr
        .values()
        .flat_map(|a| match &a.value {
            Some(Attr::Func(f)) => vec![f.name.as_str()],
            Some(Attr::List(l)) => l.func.iter().map(|f| f.name.as_str()).collect(),
            _ => vec![],
        })
        .collect()
}

/// Checks that every node has a row and every input names a node of `nodes` or one of
/// `outside`; the error names the node and its op type.
fn check(nodes: &[NodeDef], outside: &HashSet<&str>) -> Result<()> {
    let names: HashSet<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
    for n in nodes {
        let err = |msg: String| Error::InvalidArgument {
            node: n.name.clone(),
            op: n.op.clone(),
            msg,
        };
        if builder(&n.op).is_none() {
            return Err(err(format!(
                "Op type not registered '{}' in rustflow (node '{}')",
                n.op, n.name
            )));
        }
        for i in &n.input {
            let (src, _, _) = parse_input(i);
            if !names.contains(src) && !outside.contains(src) {
                return Err(err(format!("input '{i}' names no node of the GraphDef")));
            }
        }
    }
    Ok(())
}

/// Imports the nodes of `def`, checked, calling `functions`.
fn import_nodes(
    graph: &Graph,
    def: &GraphDef,
    options: &ImportOptions,
    functions: &Functions,
) -> Result<Vec<Element>> {
    let by_name: HashMap<&str, &NodeDef> = def.node.iter().map(|n| (n.name.as_str(), n)).collect();
    let inits = initializers(def);
    // Dependencies: inputs, and for a variable its initializer's value.
    let deps = |n: &NodeDef| -> Vec<String> {
        let mut d: Vec<String> = n
            .input
            .iter()
            .map(|i| parse_input(i).0.to_string())
            .collect();
        if n.op == "VariableV2" {
            if let Some(a) = inits.get(n.name.as_str()) {
                d.extend(a.input.iter().skip(1).map(|i| parse_input(i).0.to_string()));
            }
        }
        d
    };
    let order = topo_order(def, &by_name, &deps)?;

    let scope = if options.name.is_empty() {
        String::new()
    } else {
        format!("{}/", graph.unique_name(&options.name))
    };
    let first_new = graph.len();
    let mut outputs: HashMap<&str, Imported> = HashMap::new();
    let mut variables: HashMap<NodeId, Variable> = HashMap::new();
    let resolve = |outputs: &HashMap<&str, Imported>, s: &str| -> Result<Tensor> {
        if let Some(t) = options.input_map.get(s).or_else(|| {
            (!s.contains(':'))
                .then(|| options.input_map.get(&format!("{s}:0")))
                .flatten()
        }) {
            return Ok(t.clone());
        }
        let (src, k, _) = parse_input(s);
        outputs
            .get(src)
            .and_then(|o| o.outputs.get(k))
            .cloned()
            .ok_or_else(|| Error::NotFound {
                name: s.to_string(),
            })
    };
    for n in order {
        let node = by_name[n];
        let mut inputs = Vec::new();
        let mut controls = Vec::new();
        for i in &node.input {
            if i.starts_with('^') {
                // A control input on an argument of a function is met by the call.
                controls.extend(outputs.get(parse_input(i).0).map(|o| o.op.clone()));
            } else {
                inputs.push(resolve(&outputs, i)?);
            }
        }
        let initial_value = match (node.op.as_str(), inits.get(n)) {
            ("VariableV2", Some(a)) => Some(resolve(
                &outputs,
                a.input.get(1).map_or("", String::as_str),
            )?),
            _ => None,
        };
        let full = format!("{scope}{n}");
        let ctx_def = NodeDef {
            name: full.clone(),
            ..node.clone()
        };
        let known = Known {
            by_name: &by_name,
            outputs: &outputs,
        };
        let ctx = NodeImport::new(graph, &ctx_def, inputs, initial_value, &variables)
            .with_known(known)
            .with_functions(functions);
        let before = graph.len();
        let build = builder(&node.op).expect("checked above");
        let refs: Vec<&Operation> = controls.iter().collect();
        let mut imported = match graph.control_dependencies(&refs, |_| build(&ctx))? {
            Ok(i) => i,
            Err(e) => match ctx.needs_value() {
                Some(i) => graph.control_dependencies(&refs, |_| deferred(&ctx, build, i))??,
                None if e.to_string().contains(&format!("'{full}'")) => return Err(e),
                None => return Err(ctx.error(e.to_string())),
            },
        };
        if imported.op.id().index() < before && imported.op.name() != full {
            // The builder returned an existing tensor: give the node a node of its own.
            let y = ops::identity(&imported.outputs[0])?;
            imported = y.into();
        }
        if imported.op.name() != full {
            // A node an earlier row added (not one of the GraphDef's) may hold the name.
            if let Ok(other) = graph.operation_by_name(&full) {
                if other.id().index() >= first_new && other.id() != imported.op.id() {
                    graph.rename_node(other.id(), &graph.unique_name(&full))?;
                }
            }
            graph.rename_node(imported.op.id(), &full)?;
        }
        if node.op == "VariableV2" {
            let v = Variable::from_info(
                graph,
                &graph
                    .global_variables()
                    .into_iter()
                    .find(|v| v.node == imported.op.id())
                    .expect("a variable registers itself"),
            )?;
            variables.insert(imported.op.id(), v);
        }
        outputs.insert(n, imported);
    }
    options
        .return_elements
        .iter()
        .map(|r| {
            if r.contains(':') {
                return Ok(Element::Tensor(resolve(&outputs, r)?));
            }
            let imported = outputs
                .get(r.as_str())
                .ok_or_else(|| Error::NotFound { name: r.clone() })?;
            Ok(Element::Op(imported.op.clone()))
        })
        .collect()
}

/// Kahn's order of the nodes; a cycle is an error naming a node on it.
fn topo_order<'a>(
    def: &'a GraphDef,
    by_name: &HashMap<&'a str, &'a NodeDef>,
    deps: &dyn Fn(&NodeDef) -> Vec<String>,
) -> Result<Vec<&'a str>> {
    let mut indegree: BTreeMap<&str, usize> = BTreeMap::new();
    let mut readers: HashMap<&str, Vec<&str>> = HashMap::new();
    for n in &def.node {
        let ds: HashSet<String> = deps(n)
            .into_iter()
            .filter(|d| by_name.contains_key(d.as_str()))
            .collect();
        indegree.insert(&n.name, ds.len());
        for d in ds {
            let key = by_name[d.as_str()].name.as_str();
            readers.entry(key).or_default().push(&n.name);
        }
    }
    let mut ready: Vec<&str> = def
        .node
        .iter()
        .map(|n| n.name.as_str())
        .filter(|n| indegree[n] == 0)
        .collect();
    ready.reverse();
    let mut order = Vec::with_capacity(def.node.len());
    while let Some(n) = ready.pop() {
        order.push(n);
        for r in readers.get(n).into_iter().flatten() {
            let d = indegree.get_mut(r).expect("every node counted");
            *d -= 1;
            if *d == 0 {
                ready.push(r);
            }
        }
    }
    if let Some((n, _)) = indegree.iter().find(|(n, _)| !order.contains(n)) {
        let node = by_name[n];
        return Err(Error::InvalidArgument {
            node: node.name.clone(),
            op: node.op.clone(),
            msg: "the GraphDef has a cycle through this node".into(),
        });
    }
    Ok(order)
}
