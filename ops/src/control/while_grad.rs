//! `WhileGrad`: the gradient of a `While`, its body's gradient run once per forward
//! iteration, last first.

use super::inline::inline;
use super::rows::row;
use super::while_loop::While;
use crate::{add, gradients, zeros_like};
use rustflow_graph::{
    Function, GradContext, Graph, KernelContext, NodeId, Op, Result, Tensor, TensorSpec, Value,
};
use std::collections::HashSet;
use std::sync::Arc;

/// Inputs: the forward loop's iteration count, its stacked loop variables (one per loop
/// variable; empty for those `step` does not read), the upstream gradients of its float loop variables, the initial sums of the
/// gradients of the float tensors its body captured (zeros), then what `step` captured.
/// Outputs: the gradients of the float loop variables' initial values, then of the captured
/// tensors, summed over the iterations.
#[derive(Debug)]
pub struct WhileGrad {
    /// One backward iteration: (values entering forward iteration t, the gradients so far)
    /// → the gradients before iteration t.
    step: Function,
    /// Per loop variable, whether `step` reads its forward value.
    used: Vec<bool>,
    n_grads: usize,
}

impl Op for WhileGrad {
    fn op_type(&self) -> &'static str {
        "WhileGrad"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let mut inputs = std::mem::take(&mut ctx.inputs);
        let n_vars = self.used.len();
        let captured = inputs.split_off(1 + n_vars + self.n_grads);
        let mut grads = inputs.split_off(1 + n_vars);
        let stacks = inputs.split_off(1);
        let n = usize::try_from(inputs[0].scalar_value::<i32>()?).unwrap_or(0);
        for t in (0..n).rev() {
            let mut args = stacks
                .iter()
                .zip(&self.used)
                .map(|(s, &used)| if used { row(s, t) } else { Ok(s.clone()) })
                .collect::<Result<Vec<_>>>()?;
            args.append(&mut grads);
            args.extend(captured.iter().cloned());
            grads = ctx.functions.call(&self.step, args)?;
        }
        Ok(grads)
    }
}

/// Builds the gradient of the `While` node of `gc` (which already keeps its iterations).
pub(crate) fn while_grad(gc: &GradContext<'_>, w: &While) -> Result<Vec<Option<Tensor>>> {
    let g = gc.graph;
    let n = w.n_vars;
    let name = gc.op.name();
    let vars: Vec<usize> = (0..n)
        .filter(|&k| gc.inputs[k].dtype().is_float())
        .collect();
    let caps_range = w.body_captures();
    let caps: Vec<usize> = caps_range.clone().filter(|&i| gc.wanted[i]).collect();
    if vars.is_empty() {
        return Ok(vec![None; gc.inputs.len()]);
    }
    let mut specs: Vec<TensorSpec> = (0..n).map(|k| gc.inputs[k].spec()).collect();
    specs.extend(vars.iter().map(|&k| gc.inputs[k].spec()));
    specs.extend(caps.iter().map(|&i| gc.inputs[i].spec()));
    let step = g.build_function(&specs, |a| {
        let (x, rest) = a.split_at(n);
        let (dvars, dcaps) = rest.split_at(vars.len());
        let captured: Vec<Tensor> = gc.inputs[caps_range.clone()]
            .iter()
            .map(|t| g.capture(t))
            .collect();
        let args: Vec<Tensor> = x.iter().chain(&captured).cloned().collect();
        let ys = inline(g, &w.body, &args, &name)?;
        let wrt: Vec<&Tensor> = vars
            .iter()
            .map(|&k| &x[k])
            .chain(caps.iter().map(|&i| &captured[i - caps_range.start]))
            .collect();
        let d = gradients(
            &vars.iter().map(|&k| &ys[k]).collect::<Vec<_>>(),
            &wrt,
            Some(&dvars.iter().collect::<Vec<_>>()),
        )?;
        let mut next = Vec::with_capacity(d.len());
        for (dk, x) in d.iter().zip(&wrt).take(vars.len()) {
            next.push(match dk {
                Some(dk) => dk.clone(),
                None => zeros_like(x)?,
            });
        }
        for (dk, acc) in d[vars.len()..].iter().zip(dcaps) {
            next.push(match dk {
                Some(dk) => add(acc, dk)?,
                None => acc.clone(),
            });
        }
        Ok(next)
    })?;
    let used = used_args(g, &step);
    let outs = w.keep(gc, &used[..n]);
    let zeros = caps
        .iter()
        .map(|&i| zeros_like(&gc.inputs[i]))
        .collect::<Result<Vec<_>>>()?;
    let inputs: Vec<Tensor> = std::iter::once(&outs[n])
        .chain(&outs[n + 1..2 * n + 1])
        .chain(vars.iter().map(|&k| &gc.grads[k]))
        .chain(&zeros)
        .chain(&step.captures)
        .cloned()
        .collect();
    let out_specs: Vec<TensorSpec> = vars
        .iter()
        .chain(&caps)
        .map(|&i| gc.inputs[i].spec())
        .collect();
    let op = g.add_node(
        "WhileGrad",
        Arc::new(WhileGrad {
            step,
            used: used[..n].to_vec(),
            n_grads: vars.len() + caps.len(),
        }),
        &inputs.iter().collect::<Vec<_>>(),
        &[],
        out_specs,
    )?;
    let mut out = vec![None; gc.inputs.len()];
    for (&i, t) in vars.iter().chain(&caps).zip(op.outputs()) {
        out[i] = Some(t);
    }
    Ok(out)
}

/// Whether each argument of `f` is read by a node its results (or stateful nodes) need.
fn used_args(g: &Graph, f: &Function) -> Vec<bool> {
    let members: HashSet<NodeId> = f.nodes.iter().copied().collect();
    let mut seen: HashSet<NodeId> = HashSet::new();
    let mut stack: Vec<NodeId> = f.results.iter().map(|r| r.0).collect();
    stack.extend(&f.stateful);
    while let Some(n) = stack.pop() {
        if seen.insert(n) && members.contains(&n) {
            g.with_node(n, |d| {
                stack.extend(d.inputs.iter().map(|x| x.0));
                stack.extend(&d.control_inputs);
            });
        }
    }
    f.args.iter().map(|a| seen.contains(a)).collect()
}
