//! `cond`: runs one of two branches, TensorFlow's functional `If`.

use super::inline::inline;
use crate::{gradients, zeros_like};
use rustflow_graph::{
    DType, Error, Function, GradContext, Graph, KernelContext, Op, OpKind, Result, Shape, Tensor,
    TensorSpec, Value,
};
use std::sync::Arc;

/// The `If` op: input 0 is the boolean predicate, then the tensors captured by the true
/// branch, then those captured by the false branch. Only the taken branch runs.
#[derive(Debug)]
pub struct If {
    then_branch: Function,
    else_branch: Function,
}

impl Op for If {
    fn op_type(&self) -> &'static str {
        "If"
    }
    fn kind(&self) -> OpKind {
        if self.then_branch.stateful.is_empty() && self.else_branch.stateful.is_empty() {
            OpKind::Pure
        } else {
            OpKind::Stateful
        }
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let pred = ctx.input(0);
        if pred.len() != 1 {
            return Err(Error::Kernel(format!(
                "The predicate of If must be a scalar, got shape {:?}",
                pred.shape()
            )));
        }
        let pred = pred.as_slice::<bool>()?[0];
        let mut inputs = std::mem::take(&mut ctx.inputs);
        let else_args = inputs.split_off(1 + self.then_branch.captures.len());
        let then_args = inputs.split_off(1);
        if pred {
            ctx.functions.call(&self.then_branch, then_args)
        } else {
            ctx.functions.call(&self.else_branch, else_args)
        }
    }
    /// An `If` over the branches' gradients: the taken branch's computation again, then its
    /// gradient with respect to everything it captured (zeros for what only the other branch
    /// captured).
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let g = gc.graph;
        let n_then = self.then_branch.captures.len();
        let floats: Vec<usize> = (1..gc.inputs.len())
            .filter(|&i| gc.inputs[i].dtype().is_float())
            .collect();
        let name = gc.op.name();
        let branch = |f: &Function, first: usize| -> Result<Vec<Tensor>> {
            let args: Vec<Tensor> = gc.inputs[first..first + f.captures.len()]
                .iter()
                .map(|t| g.capture(t))
                .collect();
            let outs = inline(g, f, &args, &name)?;
            let (ys, dys): (Vec<&Tensor>, Vec<&Tensor>) = outs
                .iter()
                .zip(&gc.grads)
                .filter(|(y, _)| y.dtype().is_float())
                .unzip();
            let dargs = gradients(&ys, &args.iter().collect::<Vec<_>>(), Some(&dys))?;
            floats
                .iter()
                .map(|&i| match i.checked_sub(first) {
                    Some(k) if k < args.len() => match &dargs[k] {
                        Some(d) => Ok(d.clone()),
                        None => zeros_like(&args[k]),
                    },
                    _ => zeros_like(&g.capture(&gc.inputs[i])),
                })
                .collect()
        };
        let dxs = cond(
            gc.x(0),
            || branch(&self.then_branch, 1),
            || branch(&self.else_branch, 1 + n_then),
        )?;
        let mut out = vec![None; gc.inputs.len()];
        for (&i, d) in floats.iter().zip(dxs) {
            out[i] = Some(d);
        }
        Ok(out)
    }
}

/// The most specific shape that both branches' results fit (TensorFlow's merge of the
/// branches' shapes): dimensions that differ become unknown, and so does a differing rank.
fn most_specific_compatible(a: &Shape, b: &Shape) -> Shape {
    match (a.dims(), b.dims()) {
        (Some(x), Some(y)) if x.len() == y.len() => Shape::new(
            x.iter()
                .zip(y)
                .map(|(p, q)| if p == q { *p } else { None })
                .collect(),
        ),
        _ => Shape::unknown(),
    }
}

/// Checks that `pred` is a boolean scalar, or names the node `node` would become.
pub(crate) fn check_pred(g: &Graph, pred: &Tensor, node: &str, op: &str) -> Result<()> {
    if pred.dtype() != DType::Bool || pred.shape().rank().is_some_and(|r| r != 0) {
        return Err(Error::InvalidArgument {
            node: g.peek_unique_name(node),
            op: op.into(),
            msg: format!(
                "pred must be a boolean scalar, got {} with shape {} ({})",
                pred.dtype(),
                pred.shape(),
                pred.name()
            ),
        });
    }
    Ok(())
}

/// Runs `true_fn`'s tensors if `pred` is true, else `false_fn`'s (`tf.cond`). Each function
/// is called once, now, to build its branch; at run time only the taken branch's ops run, so
/// an assign or a random op in the other branch has no effect. Both branches must return the
/// same number of tensors with the same dtypes; each result's shape is what both branches'
/// shapes have in common.
///
/// ```
/// use rustflow_graph::{DType, Graph, shape};
/// use rustflow_ops::{add, cond, constant, mul, placeholder};
/// let g = Graph::new();
/// let p = placeholder(&g, DType::Bool, shape![], "p");
/// let x = constant(&g, 3.0f32, "x");
/// let y = cond(&p, || Ok(vec![mul(&x, &x)?]), || Ok(vec![add(&x, &x)?])).unwrap();
/// assert_eq!(y[0].op().op_type(), "If");
/// ```
pub fn cond(
    pred: &Tensor,
    true_fn: impl FnOnce() -> Result<Vec<Tensor>>,
    false_fn: impl FnOnce() -> Result<Vec<Tensor>>,
) -> Result<Vec<Tensor>> {
    let g = pred.graph();
    check_pred(g, pred, "cond", "If")?;
    g.name_scope("cond", |g| {
        let scope = g.current_scope();
        let then_branch = g.build_function(&[], |_| true_fn())?;
        let else_branch = g.build_function(&[], |_| false_fn())?;
        let spec = |f: &Function, i: usize| g.with_node(f.results[i].0, |d| d.outputs[f.results[i].1].clone());
        let error = |msg: String| Error::Type {
            node: scope.clone(),
            op: "If".into(),
            msg,
        };
        if then_branch.results.len() != else_branch.results.len() {
            return Err(error(format!(
                "true_fn and false_fn must return the same structure: true_fn returns {} tensors, false_fn {}",
                then_branch.results.len(),
                else_branch.results.len()
            )));
        }
        let mut outputs = Vec::new();
        for i in 0..then_branch.results.len() {
            let (a, b) = (spec(&then_branch, i), spec(&else_branch, i));
            if a.dtype != b.dtype {
                return Err(error(format!(
                    "result {i} of true_fn has dtype {} and result {i} of false_fn has dtype {}: the branches must return the same dtypes",
                    a.dtype, b.dtype
                )));
            }
            outputs.push(TensorSpec::new(a.dtype, most_specific_compatible(&a.shape, &b.shape)));
        }
        let inputs: Vec<Tensor> = std::iter::once(pred)
            .chain(&then_branch.captures)
            .chain(&else_branch.captures)
            .cloned()
            .collect();
        let op = g.add_node(
            &format!("{scope}/"),
            Arc::new(If {
                then_branch,
                else_branch,
            }),
            &inputs.iter().collect::<Vec<_>>(),
            &[],
            outputs,
        )?;
        Ok(op.outputs())
    })
}
