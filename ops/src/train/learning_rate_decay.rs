//! Learning-rate schedules as graph tensors (`tf.train.exponential_decay`, ...).

use super::Hyper;
use crate::util::arg_error;
use crate::{
    add, cast, ceil, constant, div, equal, floor, greater, minimum, mul, pow, select_v2, sub,
};
use rustflow_graph::{DType, Result, Tensor, Value};

/// `learning_rate * decay_rate ^ (global_step / decay_steps)`
/// (`tf.train.exponential_decay`), a float32 scalar recomputed at every step from
/// `global_step` (any integer or float scalar tensor, usually the global step variable).
/// With `staircase`, the exponent is rounded down to an integer. `learning_rate` may itself
/// be a tensor.
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
            p = floor(&p)?;
        }
        mul(&lr, &pow(&rate, &p)?)
    })
}

/// `(learning_rate - end_learning_rate) * (1 - step / decay_steps) ^ power +
/// end_learning_rate` (`tf.train.polynomial_decay`): the rate falls from `learning_rate` to
/// `end_learning_rate` over `decay_steps` steps. Without `cycle`, `step` is
/// `min(global_step, decay_steps)` and the rate then stays at `end_learning_rate`; with
/// `cycle`, `decay_steps` is first multiplied by `ceil(global_step / decay_steps)` (1 at step
/// 0), so the rate jumps back up at each multiple of `decay_steps` and decays more slowly.
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::train::{get_or_create_global_step, polynomial_decay};
/// let g = Graph::new();
/// let step = get_or_create_global_step(&g).unwrap();
/// let lr = polynomial_decay(0.1, &step, 10000.0, 0.0001, 1.0, false).unwrap();
/// assert!(lr.name().starts_with("PolynomialDecay/"));
/// ```
pub fn polynomial_decay(
    learning_rate: impl Into<Hyper>,
    global_step: &Tensor,
    decay_steps: f32,
    end_learning_rate: f32,
    power: f32,
    cycle: bool,
) -> Result<Tensor> {
    let g = global_step.graph();
    g.name_scope("PolynomialDecay", |g| {
        let lr = learning_rate.into().tensor(g, "learning_rate")?;
        let end = Hyper::from(end_learning_rate).tensor(g, "end_learning_rate")?;
        let mut steps = Hyper::from(decay_steps).tensor(g, "decay_steps")?;
        let power = Hyper::from(power).tensor(g, "power")?;
        let mut step = cast(global_step, DType::F32)?;
        let one = Hyper::from(1.0).tensor(g, "one")?;
        if cycle {
            let zero = constant(g, 0f32, "Const");
            let multiplier = select_v2(&equal(&step, &zero)?, &one, &ceil(&div(&step, &steps)?)?)?;
            steps = mul(&steps, &multiplier)?;
        } else {
            step = minimum(&step, &steps)?;
        }
        let left = sub(&one, &div(&step, &steps)?)?;
        let scale = pow(&left, &power)?;
        add(&mul(&sub(&lr, &end)?, &scale)?, &end)
    })
}

/// `values[0]` while `x <= boundaries[0]`, `values[i]` while
/// `boundaries[i - 1] < x <= boundaries[i]`, and the last value past the last boundary
/// (`tf.train.piecewise_constant`). `x` is a scalar tensor (int32, int64 or float32; usually
/// the global step) and the boundaries are converted to its dtype (an int `x` needs whole
/// boundaries); the boundaries must not decrease, and there is one value more than
/// boundaries. The result is a float32 scalar.
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::train::{get_or_create_global_step, piecewise_constant};
/// let g = Graph::new();
/// let step = get_or_create_global_step(&g).unwrap();
/// let lr = piecewise_constant(&step, &[100000.0, 110000.0], &[1.0, 0.5, 0.1]).unwrap();
/// assert!(lr.name().starts_with("PiecewiseConstant/"));
/// assert!(piecewise_constant(&step, &[1.5], &[1.0, 0.5]).is_err());
/// ```
pub fn piecewise_constant(x: &Tensor, boundaries: &[f64], values: &[f32]) -> Result<Tensor> {
    let g = x.graph();
    let op = "PiecewiseConstant";
    let bad = |msg: String| Err(arg_error(g, op, op, msg));
    if values.len() != boundaries.len() + 1 {
        return bad(format!(
            "piecewise_constant needs one value more than boundaries, got {} boundaries and {} \
             values",
            boundaries.len(),
            values.len()
        ));
    }
    if boundaries.windows(2).any(|w| w[1] < w[0]) {
        return bad(format!("the boundaries decrease: {boundaries:?}"));
    }
    let whole = boundaries.iter().all(|b| b.fract() == 0.0);
    let at = |b: f64| -> Result<Value> {
        Ok(match x.dtype() {
            DType::F32 => Value::scalar(b as f32),
            DType::I32 if whole && b.abs() <= i32::MAX as f64 => Value::scalar(b as i32),
            DType::I64 if whole => Value::scalar(b as i64),
            d => {
                return Err(arg_error(
                    g,
                    op,
                    op,
                    format!("boundary {b} cannot be converted to {x}'s dtype {d}"),
                ))
            }
        })
    };
    g.name_scope(op, |g| {
        let mut y = constant(g, values[0], "Const");
        for (b, v) in boundaries.iter().zip(&values[1..]) {
            let past = greater(x, &constant(g, at(*b)?, "boundary"))?;
            y = select_v2(&past, &constant(g, *v, "value"), &y)?;
        }
        Ok(y)
    })
}
