//! `ExponentialMovingAverage`: shadow variables that follow the trained ones.

use super::Hyper;
use crate::{cast, constant, div, group, minimum, mul, sub, Variable};
use rustflow_graph::{DType, Error, GraphKeys, Operation, Result, Tensor};
use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

/// Moving averages of variables (`tf.train.ExponentialMovingAverage`). [`Self::apply`]
/// creates a shadow variable `<var>/ExponentialMovingAverage` per variable, starting at the
/// variable's initial value, and returns the op that updates them all:
///
/// ```text
/// shadow -= (1 - decay) * (shadow - var)
/// ```
///
/// With `num_updates`, the decay is `min(decay, (1 + num_updates) / (10 + num_updates))`.
/// Build `apply` inside `control_dependencies` of the training step, so that it reads the
/// updated variables.
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{constant, Variable};
/// use rustflow_ops::train::ExponentialMovingAverage;
/// let g = Graph::new();
/// let w = Variable::new(&constant(&g, 1.0f32, ""), "w").unwrap();
/// let ema = ExponentialMovingAverage::new(0.9);
/// let update = ema.apply(&[&w]).unwrap();
/// assert_eq!(update.name(), "ExponentialMovingAverage");
/// assert_eq!(ema.average(&w).unwrap().name(), "w/ExponentialMovingAverage:0");
/// ```
#[derive(Debug)]
pub struct ExponentialMovingAverage {
    decay: Hyper,
    num_updates: Option<Tensor>,
    shadows: Mutex<HashMap<String, Variable>>,
}

impl ExponentialMovingAverage {
    /// Moving averages with this decay (a number or a float32 scalar tensor).
    pub fn new(decay: impl Into<Hyper>) -> Self {
        ExponentialMovingAverage {
            decay: decay.into(),
            num_updates: None,
            shadows: Mutex::new(HashMap::new()),
        }
    }

    /// Lowers the decay early in training: `min(decay, (1 + n) / (10 + n))` with `n` this
    /// (integer or float scalar) tensor, usually the global step.
    pub fn with_num_updates(mut self, num_updates: &Tensor) -> Self {
        self.num_updates = Some(num_updates.clone());
        self
    }

    /// Creates the shadow variables of `vars` (once per variable) and returns one op,
    /// `ExponentialMovingAverage`, that updates them all. The variables join the
    /// `MOVING_AVERAGE_VARIABLES` collection.
    pub fn apply(&self, vars: &[&Variable]) -> Result<Operation> {
        let Some(first) = vars.first() else {
            return Err(Error::InvalidArgument {
                node: "ExponentialMovingAverage".into(),
                op: "NoOp".into(),
                msg: "ExponentialMovingAverage.apply needs at least one variable".into(),
            });
        };
        let g = first.graph().clone();
        for v in vars {
            if self.average(v).is_none() {
                let shadow = g.name_scope("", |_| {
                    Variable::non_trainable(
                        v.initial_value(),
                        &format!("{}/ExponentialMovingAverage", v.op_name()),
                    )
                })?;
                g.add_to_collection(GraphKeys::MOVING_AVERAGE_VARIABLES, &***v);
                self.shadows
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(v.op_name(), shadow);
            }
        }
        g.name_scope("ExponentialMovingAverage", |g| {
            let mut decay = self.decay.tensor(g, "decay")?;
            if let Some(n) = &self.num_updates {
                let n = cast(n, DType::F32)?;
                let ratio = div(
                    &crate::add(&constant(g, 1f32, ""), &n)?,
                    &crate::add(&constant(g, 10f32, ""), &n)?,
                )?;
                decay = minimum(&decay, &ratio)?;
            }
            let one_minus = sub(&constant(g, 1f32, ""), &decay)?;
            let updates = vars
                .iter()
                .map(|v| {
                    let shadow = self.average(v).ok_or_else(|| Error::NotFound {
                        name: format!("{}/ExponentialMovingAverage", v.op_name()),
                    })?;
                    let delta = mul(&sub(&shadow, v)?, &one_minus)?;
                    Ok(shadow.assign_sub(&delta)?.op())
                })
                .collect::<Result<Vec<_>>>()?;
            let name = format!("{}/", g.current_scope());
            group(g, &updates.iter().collect::<Vec<_>>(), &name)
        })
    }

    /// The shadow variable of `var`, once [`Self::apply`] created it (`average`).
    pub fn average(&self, var: &Variable) -> Option<Variable> {
        self.shadows
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(&var.op_name())
            .cloned()
    }
}
