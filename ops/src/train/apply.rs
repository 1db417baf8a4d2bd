//! `apply_update`: TensorFlow's raw update ops (`ApplyGradientDescent`, `ApplyAdam`, ...) on
//! given variables and slots, as a graph that TensorFlow's optimizers wrote uses them.

use super::adadelta::Adadelta;
use super::adagrad::Adagrad;
use super::adam::Adam;
use super::gradient_descent::GradientDescent;
use super::momentum::Momentum;
use super::rmsprop::{CenteredRmsProp, RmsProp};
use super::slots::apply_rule;
use super::update::ApplyDense;
use crate::util::add;
use crate::Variable;
use rustflow_graph::{Error, Operation, Result, Tensor};

/// The update op `op_type` of `vars[0]` with the slots `vars[1..]`, from `grad` and the float32
/// scalar inputs `scalars`, in rustflow's order (the order of the optimizer's rule):
///
/// | op type | slots | scalars |
/// | --- | --- | --- |
/// | `ApplyGradientDescent` | | learning rate |
/// | `ApplyMomentum` | accum | learning rate, momentum |
/// | `ApplyAdagrad` | accum | learning rate |
/// | `ApplyRMSProp` | ms, mom | learning rate, rho, momentum, epsilon |
/// | `ApplyCenteredRMSProp` | ms, mg, mom | learning rate, rho, momentum, epsilon |
/// | `ApplyAdadelta` | accum, accum_update | learning rate, rho, epsilon |
/// | `ApplyAdam` | m, v | beta1_power, beta2_power, learning rate, beta1, beta2, epsilon |
///
/// `use_nesterov` is `ApplyMomentum`'s attribute. An unknown op type, or the wrong number of
/// slots or scalars, is an error naming the op type.
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{constant, Variable};
/// use rustflow_ops::train::apply_update;
/// let g = Graph::new();
/// let w = Variable::new(&constant(&g, 3.0f32, ""), "w").unwrap();
/// let (lr, grad) = (constant(&g, 0.1f32, "lr"), constant(&g, 1.0f32, "g"));
/// let step = apply_update("ApplyGradientDescent", &[&w], &grad, &[&lr], false).unwrap();
/// assert_eq!(step.op_type(), "ApplyGradientDescent");
/// assert!(apply_update("ApplyFrobnicate", &[&w], &grad, &[&lr], false).is_err());
/// ```
pub fn apply_update(
    op_type: &str,
    vars: &[&Variable],
    grad: &Tensor,
    scalars: &[&Tensor],
    use_nesterov: bool,
) -> Result<Operation> {
    let arity = match op_type {
        "ApplyGradientDescent" => (1, 1),
        "ApplyMomentum" => (2, 2),
        "ApplyAdagrad" => (2, 1),
        "ApplyRMSProp" => (3, 4),
        "ApplyCenteredRMSProp" => (4, 4),
        "ApplyAdadelta" => (3, 3),
        "ApplyAdam" => (3, 6),
        _ => {
            return Err(Error::InvalidArgument {
                node: op_type.into(),
                op: op_type.into(),
                msg: "not an update op rustflow has".into(),
            })
        }
    };
    if (vars.len(), scalars.len()) != arity {
        return Err(Error::InvalidArgument {
            node: op_type.into(),
            op: op_type.into(),
            msg: format!(
                "takes a variable with {} slot(s) and {} scalar(s), got {} and {}",
                arity.0 - 1,
                arity.1,
                vars.len().saturating_sub(1),
                scalars.len()
            ),
        });
    }
    let (var, slots) = (vars[0], &vars[1..]);
    let slots: Vec<Variable> = slots.iter().map(|v| (*v).clone()).collect();
    let h: Vec<Tensor> = scalars.iter().map(|t| (*t).clone()).collect();
    match op_type {
        "ApplyGradientDescent" => apply_rule(GradientDescent, grad, var, &slots, &h),
        "ApplyMomentum" => apply_rule(Momentum { use_nesterov }, grad, var, &slots, &h),
        "ApplyAdagrad" => apply_rule(Adagrad, grad, var, &slots, &h),
        "ApplyRMSProp" => apply_rule(RmsProp, grad, var, &slots, &h),
        "ApplyCenteredRMSProp" => apply_rule(CenteredRmsProp, grad, var, &slots, &h),
        "ApplyAdadelta" => apply_rule(Adadelta, grad, var, &slots, &h),
        _ => {
            let vars = vars.iter().map(|v| (v.node(), v.op_name())).collect();
            let inputs: Vec<&Tensor> = std::iter::once(grad)
                .chain(scalars.iter().copied())
                .collect();
            add(
                var.graph(),
                "ApplyAdam",
                ApplyDense::new(Adam, vars),
                &inputs,
                vec![],
            )
        }
    }
}
