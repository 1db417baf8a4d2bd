//! The optimizer interface: `compute_gradients`, `apply_gradients`, `minimize`.

use super::Hyper;
use crate::{gradients, group, Variable};
use rustflow_graph::{Error, Graph, Operation, Result, Tensor};

/// An optimizer, as TensorFlow 1.x's `tf.train.Optimizer`: `minimize(loss)` adds the
/// gradient nodes and one update op per variable, and returns one operation that runs them
/// all. Running that operation performs one training step; every gradient of a step comes
/// from the pre-step values of the variables.
///
/// Between [`Optimizer::compute_gradients`] and [`Optimizer::apply_gradients`] the gradients
/// can be changed (clipped, scaled); [`Optimizer::minimize_with`] and `apply_gradients` take
/// a `global_step` variable that each step increments.
pub trait Optimizer {
    /// The name of the returned operation and of the update scopes (`GradientDescent`).
    fn name(&self) -> &str;

    /// The hyper-parameters, by TensorFlow's tensor names (`learning_rate`, `momentum`), in
    /// the order [`Optimizer::apply_dense`] receives them as tensors.
    fn hypers(&self) -> Vec<(&'static str, &Hyper)>;

    /// Adds the update op of one variable from its gradient, inside the scope
    /// `<name>/update_<var>/`; `h` are the hyper-parameters as tensors. Slot variables were
    /// created before, by [`Optimizer::create_slots`].
    fn apply_dense(&self, grad: &Tensor, var: &Variable, h: &[Tensor]) -> Result<Operation>;

    /// Creates the optimizer's slot and non-slot variables for `vars` (at the top level, named
    /// after each variable), before any update is built. None by default.
    fn create_slots(&self, _vars: &[&Variable]) -> Result<()> {
        Ok(())
    }

    /// The slot `name` (`"momentum"`, `"m"`, `"rms"`, ...) of `var`, once
    /// `apply_gradients` has created it (`get_slot`).
    fn get_slot(&self, _var: &Variable, _name: &str) -> Option<Variable> {
        None
    }

    /// Adds what runs once after every variable's update (Adam's beta powers); none by default.
    fn finish(&self, _g: &Graph, _updates: &[Operation], _h: &[Tensor]) -> Result<Vec<Operation>> {
        Ok(vec![])
    }

    /// The gradient of `loss` for each variable of `var_list` (default: every trainable
    /// variable), `None` where the loss does not depend on it (`compute_gradients`).
    fn compute_gradients(
        &self,
        loss: &Tensor,
        var_list: Option<&[Variable]>,
    ) -> Result<Vec<(Option<Tensor>, Variable)>> {
        let g = loss.graph();
        let vars: Vec<Variable> = match var_list {
            Some(v) => v.to_vec(),
            None => g
                .trainable_variables()
                .iter()
                .map(|info| Variable::from_info(g, info))
                .collect::<Result<_>>()?,
        };
        let xs: Vec<&Tensor> = vars.iter().map(|v| &**v).collect();
        // The backward pass reads the values the forward pass read: inside
        // `control_dependencies` (of UPDATE_OPS, say) it would read the variables anew, maybe
        // after this step's updates. The updates built next carry the dependencies.
        let grads = g.without_control_dependencies(|_| gradients(&[loss], &xs, None))?;
        Ok(grads.into_iter().zip(vars).collect())
    }

    /// Adds one update per (gradient, variable) pair with a gradient, grouped into one
    /// operation named after the optimizer (`apply_gradients`). With a `global_step`, that
    /// operation is an `AssignAdd` of 1 to it that runs after every update, as TensorFlow's.
    fn apply_gradients(
        &self,
        grads_and_vars: &[(Option<Tensor>, Variable)],
        global_step: Option<&Variable>,
    ) -> Result<Operation> {
        let with_grad: Vec<(&Tensor, &Variable)> = grads_and_vars
            .iter()
            .filter_map(|(g, v)| g.as_ref().map(|g| (g, v)))
            .collect();
        let Some((first, _)) = with_grad.first() else {
            return Err(Error::NoGradients {
                vars: grads_and_vars.iter().map(|(_, v)| v.name()).collect(),
                loss: String::from("(unknown)"),
            });
        };
        let g = first.graph().clone();
        let vars: Vec<&Variable> = with_grad.iter().map(|(_, v)| *v).collect();
        // Slots are variables: built at the top, outside control dependencies.
        g.without_control_dependencies(|g| g.name_scope("", |_| self.create_slots(&vars)))?;
        let name = self.name().to_string();
        g.name_scope(&name, |g| {
            let h = self
                .hypers()
                .into_iter()
                .map(|(n, v)| v.tensor(g, n))
                .collect::<Result<Vec<_>>>()?;
            let mut updates = Vec::new();
            for (grad, var) in &with_grad {
                let op = g.name_scope(&format!("update_{}", var.op_name()), |_| {
                    self.apply_dense(grad, var, &h)
                })?;
                updates.push(op);
            }
            let mut all = updates.clone();
            all.extend(self.finish(g, &updates, &h)?);
            // The scope's unique name (`Adam`, `Adam_1`, ...) names the returned operation.
            let name = format!("{}/", g.current_scope());
            match global_step {
                None => group(g, &all.iter().collect::<Vec<_>>(), &name),
                Some(step) => {
                    let all: Vec<&Operation> = all.iter().collect();
                    g.control_dependencies(&all, |g| {
                        let one = crate::cast(&crate::constant(g, 1i64, "value"), step.dtype())?;
                        Ok(step.assign_add(&one)?.op())
                    })?
                    .and_then(|inc| group(g, &[&inc], &name))
                }
            }
        })
    }

    /// `compute_gradients` then `apply_gradients`: one operation that performs a step on
    /// every trainable variable the loss depends on.
    fn minimize(&self, loss: &Tensor) -> Result<Operation> {
        self.minimize_with(loss, None, None)
    }

    /// [`Optimizer::minimize`] that increments `global_step`, over a chosen list of variables.
    fn minimize_with(
        &self,
        loss: &Tensor,
        global_step: Option<&Variable>,
        var_list: Option<&[Variable]>,
    ) -> Result<Operation> {
        let gv = self.compute_gradients(loss, var_list)?;
        if gv.iter().all(|(g, _)| g.is_none()) {
            return Err(Error::NoGradients {
                vars: gv.iter().map(|(_, v)| v.name()).collect(),
                loss: loss.name(),
            });
        }
        self.apply_gradients(&gv, global_step)
    }
}
