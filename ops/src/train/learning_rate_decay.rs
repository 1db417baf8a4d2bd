//! Learning-rate schedules as graph tensors (`tf.train.exponential_decay`, ...).

use super::Hyper;
use crate::{add, cast, div, exp, log, minimum, mul, sub};
use rustflow_graph::{DType, Result, Tensor};

/// `base ^ p` for a positive base, in float32.
fn pow(base: &Tensor, p: &Tensor) -> Result<Tensor> {
    exp(&mul(p, &log(base)?)?)
}

/// `learning_rate * decay_rate ^ (global_step / decay_steps)`
/// (`tf.train.exponential_decay`), a float32 scalar recomputed at every step from
/// `global_step` (any integer or float scalar tensor, usually the global step variable).
/// With `staircase`, the exponent is rounded down to an integer (`global_step` counts up
/// from 0, so truncation is the floor). `learning_rate` may itself be a tensor.
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::train::{exponential_decay, get_or_create_global_step};
/// let g = Graph::new();
/// let step = get_or_create_global_step(&g).unwrap();
/// let lr = exponential_decay(0.1, &step, 1000.0, 0.96, true).unwrap();
/// assert!(lr.name().starts_with("ExponentialDecay/"));
/// ```
pub fn exponential_decay(
    learning_rate: impl Into<Hyper>,
    global_step: &Tensor,
    decay_steps: f32,
    decay_rate: f32,
    staircase: bool,
) -> Result<Tensor> {
    let g = global_step.graph();
    g.name_scope("ExponentialDecay", |g| {
        let lr = learning_rate.into().tensor(g, "learning_rate")?;
        let steps = Hyper::from(decay_steps).tensor(g, "decay_steps")?;
        let rate = Hyper::from(decay_rate).tensor(g, "decay_rate")?;
        let mut p = div(&cast(global_step, DType::F32)?, &steps)?;
        if staircase {
            p = cast(&cast(&p, DType::I64)?, DType::F32)?;
        }
        mul(&lr, &pow(&rate, &p)?)
    })
}

/// `(learning_rate - end_learning_rate) * (1 - min(global_step, decay_steps) / decay_steps)
/// ^ power + end_learning_rate` (`tf.train.polynomial_decay` without `cycle`): the rate
/// falls from `learning_rate` to `end_learning_rate` over `decay_steps` steps, then stays.
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::train::{get_or_create_global_step, polynomial_decay};
/// let g = Graph::new();
/// let step = get_or_create_global_step(&g).unwrap();
/// let lr = polynomial_decay(0.1, &step, 10000.0, 0.0001, 1.0).unwrap();
/// assert!(lr.name().starts_with("PolynomialDecay/"));
/// ```
pub fn polynomial_decay(
    learning_rate: impl Into<Hyper>,
    global_step: &Tensor,
    decay_steps: f32,
    end_learning_rate: f32,
    power: f32,
) -> Result<Tensor> {
    let g = global_step.graph();
    g.name_scope("PolynomialDecay", |g| {
        let lr = learning_rate.into().tensor(g, "learning_rate")?;
        let end = Hyper::from(end_learning_rate).tensor(g, "end_learning_rate")?;
        let steps = Hyper::from(decay_steps).tensor(g, "decay_steps")?;
        let power = Hyper::from(power).tensor(g, "power")?;
        let step = minimum(&cast(global_step, DType::F32)?, &steps)?;
        let one = Hyper::from(1.0).tensor(g, "one")?;
        let left = sub(&one, &div(&step, &steps)?)?;
        let scale = pow(&left, &power)?;
        add(&mul(&sub(&lr, &end)?, &scale)?, &end)
    })
}
