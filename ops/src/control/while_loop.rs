//! `while_loop`: repeats a body while a condition holds, TensorFlow's functional `While`.

use super::cond::check_pred;
use super::rows::stack;
use super::while_grad::while_grad;
use rustflow_graph::{
    DType, Error, Function, GradContext, KernelContext, Op, OpKind, Result, Shape, Tensor,
    TensorSpec, Value,
};
use std::sync::Arc;

/// The `While` op: inputs are the loop variables' initial values, the tensors captured by the
/// condition, those captured by the body, and `maximum_iterations` when given; outputs are
/// the loop variables' final values. Once a gradient asks for it (`keep`), it also outputs the
/// number of iterations and, per loop variable, its value entering each iteration, stacked
/// (an empty stack for the variables whose values no gradient reads).
#[derive(Clone, Debug)]
pub struct While {
    pub(crate) cond: Function,
    pub(crate) body: Function,
    pub(crate) n_vars: usize,
    has_max: bool,
    back_prop: bool,
    /// Per loop variable, whether its value entering each iteration is kept; empty: the
    /// node has only the loop variables as outputs.
    keep: Vec<bool>,
}

impl While {
    /// The inputs captured by the body, as a range of the node's inputs.
    pub(crate) fn body_captures(&self) -> std::ops::Range<usize> {
        let start = self.n_vars + self.cond.captures.len();
        start..start + self.body.captures.len()
    }
}

impl Op for While {
    fn op_type(&self) -> &'static str {
        "While"
    }
    fn kind(&self) -> OpKind {
        if self.body.stateful.is_empty() && self.cond.stateful.is_empty() {
            OpKind::Pure
        } else {
            OpKind::Stateful
        }
    }
    fn attrs(&self) -> String {
        format!("back_prop={}", self.back_prop)
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let n = self.n_vars;
        let mut inputs = std::mem::take(&mut ctx.inputs);
        let max = if self.has_max {
            let m = inputs.pop().unwrap_or_else(|| Value::scalar(0i32));
            Some(match m.dtype() {
                DType::I64 => m.scalar_value::<i64>()?,
                _ => i64::from(m.scalar_value::<i32>()?),
            })
        } else {
            None
        };
        let body_caps = inputs.split_off(self.body_captures().start);
        let cond_caps = inputs.split_off(n);
        let mut vars = inputs;
        let elem: Vec<Vec<usize>> = vars.iter().map(|v| v.shape().to_vec()).collect();
        let mut kept: Vec<Vec<Value>> = vec![Vec::new(); self.keep.len()];
        let mut iterations: i64 = 0;
        loop {
            if max.is_some_and(|m| iterations >= m) {
                break;
            }
            let go = ctx
                .functions
                .call(&self.cond, [&vars[..], &cond_caps].concat())?;
            if !go[0].scalar_value::<bool>()? {
                break;
            }
            for ((k, v), _) in kept.iter_mut().zip(&vars).zip(&self.keep).filter(|x| *x.1) {
                k.push(v.clone());
            }
            vars.extend(body_caps.iter().cloned());
            vars = ctx.functions.call(&self.body, vars)?;
            iterations += 1;
        }
        if !self.keep.is_empty() {
            vars.push(Value::scalar(i32::try_from(iterations).map_err(|_| {
                Error::Kernel(format!("{iterations} iterations do not fit an int32"))
            })?));
            for (k, e) in kept.iter().zip(&elem) {
                vars.push(stack(k, e)?);
            }
        }
        Ok(vars)
    }
    /// A `WhileGrad` that runs the body's gradient once per forward iteration, last first,
    /// on the loop variables that iteration started from (which this op keeps from then on).
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        if !self.back_prop {
            return Ok(vec![None; gc.inputs.len()]);
        }
        while_grad(gc, self)
    }
}

impl While {
    /// Makes the node of `gc` keep the values entering each iteration of the loop variables
    /// marked in `used`, besides those it keeps already; returns the node's outputs.
    pub(crate) fn keep(&self, gc: &GradContext<'_>, used: &[bool]) -> Vec<Tensor> {
        let keep: Vec<bool> = if self.keep.is_empty() {
            used.to_vec()
        } else {
            self.keep.iter().zip(used).map(|(a, b)| *a || *b).collect()
        };
        if keep != self.keep {
            let mut outputs: Vec<TensorSpec> = gc.outputs.iter().map(Tensor::spec).collect();
            outputs.truncate(self.n_vars);
            outputs.push(TensorSpec::new(DType::I32, Shape::scalar()));
            for t in &gc.outputs[..self.n_vars] {
                let mut dims = vec![None];
                dims.extend(t.shape().dims().unwrap_or_default().iter().copied());
                let shape = if t.shape().rank().is_some() {
                    Shape::new(dims)
                } else {
                    Shape::unknown()
                };
                outputs.push(TensorSpec::new(t.dtype(), shape));
            }
            let keep = While {
                keep,
                ..self.clone()
            };
            gc.graph.replace_op(gc.op.id(), Arc::new(keep), outputs);
        }
        gc.op.outputs()
    }
}

/// Options of [`while_loop`] beyond the functions and variables (TensorFlow's keyword
/// arguments).
#[derive(Clone, Debug)]
pub struct WhileOptions {
    /// One shape per loop variable that every iteration's value must fit, for variables whose
    /// shape changes; `None` keeps each variable's initial shape.
    pub shape_invariants: Option<Vec<Shape>>,
    /// Stops after this many iterations even if the condition still holds (an int32 or int64
    /// scalar).
    pub maximum_iterations: Option<Tensor>,
    /// Whether gradients flow through the loop (`false`: none, and nothing is kept).
    pub back_prop: bool,
}

impl Default for WhileOptions {
    fn default() -> Self {
        WhileOptions {
            shape_invariants: None,
            maximum_iterations: None,
            back_prop: true,
        }
    }
}

/// Repeats `body` while `cond` holds (`tf.while_loop`): both receive the loop variables and
/// are called once, now, to build the loop; `body` returns the next values, with the same
/// dtypes and shapes (or shapes within `shape_invariants`). The number of iterations is
/// decided at run time. Tensors from outside used in the functions are captured.
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{add, constant, equal, while_loop, WhileOptions};
/// let g = Graph::new();
/// let i = constant(&g, 0i32, "i");
/// let one = constant(&g, 1i32, "one");
/// // while i == 0: i += 1
/// let out = while_loop(
///     |v| equal(&v[0], &constant(&g, 0i32, "zero")),
///     |v| Ok(vec![add(&v[0], &one)?]),
///     &[&i],
///     WhileOptions::default(),
/// )
/// .unwrap();
/// assert_eq!(out[0].op().op_type(), "While");
/// ```
pub fn while_loop(
    cond: impl FnOnce(&[Tensor]) -> Result<Tensor>,
    body: impl FnOnce(&[Tensor]) -> Result<Vec<Tensor>>,
    loop_vars: &[&Tensor],
    options: WhileOptions,
) -> Result<Vec<Tensor>> {
    let Some(first) = loop_vars.first() else {
        return Err(Error::InvalidArgument {
            node: "while".into(),
            op: "While".into(),
            msg: "while_loop needs at least one loop variable".into(),
        });
    };
    let g = first.graph();
    let node = g.peek_unique_name("while");
    let error = |msg: String| Error::InvalidArgument {
        node: node.clone(),
        op: "While".into(),
        msg,
    };
    let mut specs = Vec::with_capacity(loop_vars.len());
    for (k, v) in loop_vars.iter().enumerate() {
        g.check_owns(v.graph(), &v.to_string())?;
        let shape = match &options.shape_invariants {
            Some(inv) if inv.len() != loop_vars.len() => {
                return Err(error(format!(
                    "{} shape invariants for {} loop variables",
                    inv.len(),
                    loop_vars.len()
                )))
            }
            Some(inv) => {
                if !fits(&v.shape(), &inv[k]) {
                    return Err(error(format!(
                        "The shape invariant specified for {} is not compatible with the initial shape of the loop variable. It enters the loop with shape {}, but the specified shape invariant is {}.",
                        v.name(),
                        v.shape(),
                        inv[k]
                    )));
                }
                inv[k].clone()
            }
            None => v.shape(),
        };
        specs.push(TensorSpec::new(v.dtype(), shape));
    }
    if let Some(m) = &options.maximum_iterations {
        if !matches!(m.dtype(), DType::I32 | DType::I64) || m.shape().rank().is_some_and(|r| r != 0)
        {
            return Err(error(format!(
                "maximum_iterations must be an int32 or int64 scalar, got {} {}",
                m.dtype(),
                m.shape()
            )));
        }
    }
    g.name_scope("while", |g| {
        let scope = g.current_scope();
        let cond_f = g.build_function(&specs, |v| {
            let c = cond(v)?;
            check_pred(g, &c, &format!("{scope}/"), "While")?;
            Ok(vec![c])
        })?;
        let body_f = g.build_function(&specs, |v| body(v))?;
        let results: Vec<TensorSpec> = body_f
            .results
            .iter()
            .map(|&(n, i)| g.with_node(n, |d| d.outputs[i].clone()))
            .collect();
        if results.len() != specs.len() {
            return Err(error(format!(
                "the body returns {} tensors for {} loop variables",
                results.len(),
                specs.len()
            )));
        }
        for ((r, s), v) in results.iter().zip(&specs).zip(loop_vars) {
            if r.dtype != s.dtype {
                return Err(error(format!(
                    "Input tensor '{}' enters the loop with dtype {}, but has dtype {} after one iteration",
                    v.name(),
                    s.dtype,
                    r.dtype
                )));
            }
            if !fits(&r.shape, &s.shape) {
                return Err(error(format!(
                    "Input tensor '{}' enters the loop with shape {}, but has shape {} after one iteration. To allow the shape to vary across iterations, use the `shape_invariants` argument of tf.while_loop to specify a less-specific shape.",
                    v.name(),
                    s.shape,
                    r.shape
                )));
            }
        }
        let max = options.maximum_iterations.as_ref();
        let inputs: Vec<Tensor> = loop_vars
            .iter()
            .copied()
            .chain(&cond_f.captures)
            .chain(&body_f.captures)
            .chain(max)
            .cloned()
            .collect();
        let op = g.add_node(
            &format!("{scope}/"),
            Arc::new(While {
                cond: cond_f,
                body: body_f,
                n_vars: specs.len(),
                has_max: max.is_some(),
                back_prop: options.back_prop,
                keep: vec![],
            }),
            &inputs.iter().collect::<Vec<_>>(),
            &[],
            specs.clone(),
        )?;
        Ok(op.outputs()[..specs.len()].to_vec())
    })
}

/// Whether `shape` is at least as specific as `invariant` (TensorFlow's rule for a loop
/// variable's shape after an iteration).
fn fits(shape: &Shape, invariant: &Shape) -> bool {
    match (shape.dims(), invariant.dims()) {
        (_, None) => true,
        (None, Some(_)) => false,
        (Some(s), Some(i)) => {
            s.len() == i.len() && s.iter().zip(i).all(|(a, b)| b.is_none() || a == b)
        }
    }
}
