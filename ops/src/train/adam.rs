//! `AdamOptimizer`, with TensorFlow 1.x's update (epsilon outside the bias correction).

use super::slots::{lock_var, SlotSpec, Slots};
use super::{Hyper, Optimizer};
use crate::kernels::gemm::{sgemm_serial, MatRef};
use crate::math::MatMul;
use crate::util::add;
use crate::{mul, Variable};
use rayon::prelude::*;
use rustflow_graph::{
    fmt_dims, not_differentiable, DType, Error, GradContext, Graph, KernelContext, NodeId, Op,
    OpKind, Operation, Result, Tensor, Value,
};
use std::cell::RefCell;
use std::sync::{Mutex, PoisonError};

/// Elements per parallel task of the update.
const CHUNK: usize = 1 << 15;

/// Rows of the variable per parallel task when the update computes its gradient: the
/// task's piece of the gradient stays in L2 cache between its product and its update.
const PRODUCT_ROWS: usize = 32;

thread_local! {
    /// Each task's piece of a computed gradient.
    static GRAD_ROWS: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// Where an `ApplyAdam` takes its gradient from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GradSource {
    /// Input 0 is the gradient.
    Tensor,
    /// Inputs 0 and 1 are `a` (`[k, rows]`) and `b` (`[k, cols]`), and the gradient is
    /// `aᵀ · b`: a `MatMul`'s weight gradient, computed and applied a block of rows at a
    /// time, so that it is never written out whole and read back.
    Product,
}

/// The `ApplyAdam` op: updates a variable and its slots `m`, `v` in place. Inputs: the
/// gradient (or the two factors of it, see [`AdamOptimizer`]), `beta1_power`,
/// `beta2_power`, then the scalars learning rate, beta1, beta2, epsilon.
#[derive(Debug)]
pub struct ApplyAdam {
    grad: GradSource,
    var: (NodeId, String),
    m: (NodeId, String),
    v: (NodeId, String),
}

impl Op for ApplyAdam {
    fn op_type(&self) -> &'static str {
        "ApplyAdam"
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        not_differentiable(gc)
    }
    fn kind(&self) -> OpKind {
        OpKind::Stateful
    }
    fn reads_variables(&self) -> Vec<NodeId> {
        vec![self.var.0, self.m.0, self.v.0]
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let powers = match self.grad {
            GradSource::Tensor => 1,
            GradSource::Product => 2,
        };
        let s = |i: usize| ctx.input(powers + i).scalar_value::<f32>();
        let (b1p, b2p, lr, beta1, beta2, eps) = (s(0)?, s(1)?, s(2)?, s(3)?, s(4)?, s(5)?);
        let shape = match self.grad {
            GradSource::Tensor => ctx.input(0).shape().to_vec(),
            GradSource::Product => product_shape(ctx.input(0), ctx.input(1))?.to_vec(),
        };
        let lr_t = lr * (1.0 - b2p).sqrt() / (1.0 - b1p);
        let r = ctx.resources;
        let (vs, ms, ss) = (
            r.variable(self.var.0),
            r.variable(self.m.0),
            r.variable(self.v.0),
        );
        // Lock order: the variable, then its slots (every optimizer op does the same).
        let mut var = lock_var(&vs, &self.var.1, &shape)?;
        let mut m = lock_var(&ms, &self.m.1, &shape)?;
        let mut v = lock_var(&ss, &self.v.1, &shape)?;
        let (Some(var), Some(m), Some(v)) = (var.as_mut(), m.as_mut(), v.as_mut()) else {
            return Err(Error::Kernel("Adam slots vanished".into()));
        };
        let (w, m, v) = (
            var.data_mut::<f32>()?,
            m.data_mut::<f32>()?,
            v.data_mut::<f32>()?,
        );
        let step = Step {
            lr_t,
            b1: 1.0 - beta1,
            b2: 1.0 - beta2,
            eps,
        };
        match self.grad {
            GradSource::Tensor => {
                let g = ctx.input(0).as_slice::<f32>()?;
                w.par_chunks_mut(CHUNK)
                    .zip(m.par_chunks_mut(CHUNK))
                    .zip(v.par_chunks_mut(CHUNK))
                    .zip(g.par_chunks(CHUNK))
                    .for_each(|(((w, m), v), g)| step.apply(w, m, v, g));
            }
            GradSource::Product => {
                let (a, b) = (ctx.input(0), ctx.input(1));
                let (k, rows, cols) = (a.shape()[0], shape[0], shape[1]);
                let (a, b) = (a.as_slice::<f32>()?, b.as_slice::<f32>()?);
                let block = PRODUCT_ROWS * cols.max(1);
                w.par_chunks_mut(block)
                    .zip(m.par_chunks_mut(block))
                    .zip(v.par_chunks_mut(block))
                    .enumerate()
                    .for_each(|(i, ((w, m), v))| {
                        let (r0, nr) = (i * PRODUCT_ROWS, w.len() / cols);
                        GRAD_ROWS.with(|cell| {
                            let mut g = cell.borrow_mut();
                            g.resize(w.len(), 0.0);
                            // Rows r0..r0 + nr of aᵀ · b: element (r, kk) of aᵀ is a[kk][r0 + r].
                            // (With k = 0, `a` is empty and the product is 0.)
                            let at = MatRef {
                                data: &a[r0.min(a.len())..],
                                rs: 1,
                                cs: rows,
                            };
                            sgemm_serial(
                                nr,
                                cols,
                                k,
                                at,
                                MatRef::new(b, cols, false),
                                &mut g,
                                false,
                            );
                            step.apply(w, m, v, &g);
                        });
                    });
            }
        }
        Ok(vec![])
    }
    fn attrs(&self) -> String {
        let grad = match self.grad {
            GradSource::Tensor => "",
            GradSource::Product => ", gradient=transpose(input 0) x input 1",
        };
        format!("var={}{grad}", self.var.1)
    }
}

/// The shape `[rows, cols]` of `aᵀ · b` for `a` `[k, rows]` and `b` `[k, cols]`, or the error
/// a `MatMul` would give.
fn product_shape(a: &Value, b: &Value) -> Result<[usize; 2]> {
    match (a.shape(), b.shape()) {
        (&[k, rows], &[k2, cols]) if k == k2 && a.dtype() == DType::F32 => Ok([rows, cols]),
        _ => Err(Error::Kernel(format!(
            "Matrix size-incompatible: In[0]: {} (transposed), In[1]: {}",
            fmt_dims(a.shape()),
            fmt_dims(b.shape())
        ))),
    }
}

/// One Adam step's constants.
#[derive(Clone, Copy)]
struct Step {
    lr_t: f32,
    b1: f32,
    b2: f32,
    eps: f32,
}

impl Step {
    /// Updates `w`, `m`, `v` with the gradient `g`, element by element.
    fn apply(self, w: &mut [f32], m: &mut [f32], v: &mut [f32], g: &[f32]) {
        let Step { lr_t, b1, b2, eps } = self;
        for (((w, m), v), &g) in w.iter_mut().zip(m).zip(v).zip(g) {
            *m += (g - *m) * b1;
            *v += (g * g - *v) * b2;
            *w -= lr_t * *m / (v.sqrt() + eps);
        }
    }
}

/// When `grad` is a `MatMul`'s weight gradient `aᵀ · b` (`transpose_a` only, both matrices),
/// its factors `a` and `b`.
fn product_factors(grad: &Tensor) -> Option<(Tensor, Tensor)> {
    let op = grad.op();
    let transposes = op.graph().with_node(op.id(), |n| {
        (*n.op)
            .as_any()
            .downcast_ref::<MatMul>()
            .map(MatMul::transposes)
    });
    let inputs = op.inputs();
    match (transposes, &inputs[..]) {
        (Some((true, false)), [a, b])
            if a.shape().rank() == Some(2) && b.shape().rank() == Some(2) =>
        {
            Some((a.clone(), b.clone()))
        }
        _ => None,
    }
}

/// The nodes that read both `var` and `dy`: the input gradients of the layer that `var`
/// weighs (`dy · varᵀ`). The update waits for them, so that they read the variable before
/// it changes, and it is changed in place rather than copied.
fn readers_of_both(var: &Variable, dy: &Tensor) -> Vec<Operation> {
    let g = var.graph();
    let (v, d) = ((var.node(), var.index()), (dy.node(), dy.index()));
    g.node_ids()
        .into_iter()
        .filter(|&id| g.with_node(id, |n| n.inputs.contains(&v) && n.inputs.contains(&d)))
        .map(|id| Operation::from_graph(g, id))
        .collect()
}

/// Adam (`tf.train.AdamOptimizer`), exactly as TensorFlow 1.x computes it:
///
/// ```text
/// lr_t = lr * sqrt(1 - beta2_power) / (1 - beta1_power)
/// m    = m + (g - m) * (1 - beta1)
/// v    = v + (g*g - v) * (1 - beta2)
/// var  = var - lr_t * m / (sqrt(v) + epsilon)
/// then, after every variable's update: beta1_power *= beta1, beta2_power *= beta2
/// ```
///
/// `minimize` creates the slots `<var>/Adam` (m) and `<var>/Adam_1` (v) and the scalars
/// `beta1_power` and `beta2_power`, all non-trainable: run `global_variables_initializer()`
/// after `minimize`. The learning rate, betas and epsilon are numbers or float32 scalar
/// tensors ([`Hyper`]); `beta1_power` and `beta2_power` start at the betas' values when
/// those are numbers, and at the tensors' values (read by the initializer) otherwise.
///
/// When a gradient is a `MatMul`'s weight gradient `aᵀ · dy`, the update computes it itself,
/// a block of rows at a time, from `a` and `dy`: the same values, without writing the whole
/// gradient to memory and reading it back (for the tutorial's first fully-connected layer,
/// 12.8 MB each way per step). The `MatMul` node stays in the graph for whoever fetches
/// it. The update then also waits for the layer's input gradient (`dy · Wᵀ`), which reads
/// the weights it changes.
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{constant, square, Variable};
/// use rustflow_ops::train::{AdamOptimizer, Optimizer};
/// let g = Graph::new();
/// let w = Variable::new(&constant(&g, 3.0f32, ""), "w").unwrap();
/// let step = AdamOptimizer::new(1e-4).minimize(&square(&w).unwrap()).unwrap();
/// assert_eq!(step.name(), "Adam");
/// for name in ["w/Adam:0", "w/Adam_1:0", "beta1_power:0", "beta2_power:0"] {
///     assert!(g.tensor_by_name(name).is_ok(), "{name}");
/// }
/// ```
#[derive(Debug)]
pub struct AdamOptimizer {
    learning_rate: Hyper,
    beta1: Hyper,
    beta2: Hyper,
    epsilon: Hyper,
    slots: Slots,
    powers: Mutex<Option<(Variable, Variable)>>,
}

impl AdamOptimizer {
    /// Adam with this learning rate and TensorFlow's defaults: beta1 0.9, beta2 0.999,
    /// epsilon 1e-8.
    pub fn new(learning_rate: impl Into<Hyper>) -> Self {
        AdamOptimizer {
            learning_rate: learning_rate.into(),
            beta1: 0.9.into(),
            beta2: 0.999.into(),
            epsilon: 1e-8.into(),
            slots: Slots::default(),
            powers: Mutex::new(None),
        }
    }

    /// Sets the decay of the first moment (default 0.9).
    pub fn with_beta1(mut self, beta1: impl Into<Hyper>) -> Self {
        self.beta1 = beta1.into();
        self
    }

    /// Sets the decay of the second moment (default 0.999).
    pub fn with_beta2(mut self, beta2: impl Into<Hyper>) -> Self {
        self.beta2 = beta2.into();
        self
    }

    /// Sets epsilon (default 1e-8), added to `sqrt(v)` of the uncorrected `v`.
    pub fn with_epsilon(mut self, epsilon: impl Into<Hyper>) -> Self {
        self.epsilon = epsilon.into();
        self
    }

    fn powers(&self) -> Result<(Variable, Variable)> {
        self.powers
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
            .ok_or_else(|| Error::Kernel("Adam: minimize has not created beta1_power".into()))
    }
}

impl Optimizer for AdamOptimizer {
    fn name(&self) -> &str {
        "Adam"
    }

    fn hypers(&self) -> Vec<(&'static str, &Hyper)> {
        vec![
            ("learning_rate", &self.learning_rate),
            ("beta1", &self.beta1),
            ("beta2", &self.beta2),
            ("epsilon", &self.epsilon),
        ]
    }

    fn create_slots(&self, vars: &[&Variable]) -> Result<()> {
        let mut powers = self.powers.lock().unwrap_or_else(PoisonError::into_inner);
        if powers.is_none() {
            if let Some(first) = vars.first() {
                let g = first.graph();
                let b1 = Variable::non_trainable(
                    &self.beta1.tensor(g, "beta1_power/initial_value")?,
                    "beta1_power",
                )?;
                let b2 = Variable::non_trainable(
                    &self.beta2.tensor(g, "beta2_power/initial_value")?,
                    "beta2_power",
                )?;
                *powers = Some((b1, b2));
            }
        }
        let spec = |name| SlotSpec { name, init: 0.0 };
        let specs = [spec("m"), spec("v")];
        vars.iter()
            .try_for_each(|v| self.slots.create(v, "Adam", &specs))
    }

    fn get_slot(&self, var: &Variable, name: &str) -> Option<Variable> {
        self.slots.get_slot(var, name)
    }

    fn apply_dense(&self, grad: &Tensor, var: &Variable, h: &[Tensor]) -> Result<Operation> {
        let slots = self.slots.get(var)?;
        let (b1, b2) = self.powers()?;
        let factors = product_factors(grad);
        let op = ApplyAdam {
            grad: match factors {
                Some(_) => GradSource::Product,
                None => GradSource::Tensor,
            },
            var: (var.node(), var.op_name()),
            m: (slots[0].node(), slots[0].op_name()),
            v: (slots[1].node(), slots[1].op_name()),
        };
        match &factors {
            Some((a, dy)) => {
                let after = readers_of_both(var, dy);
                let inputs = [a, dy, &b1, &b2, &h[0], &h[1], &h[2], &h[3]];
                if after.is_empty() {
                    add(var.graph(), "ApplyAdam", op, &inputs, vec![])
                } else {
                    let after: Vec<&Operation> = after.iter().collect();
                    var.graph().control_dependencies(&after, |g| {
                        add(g, "ApplyAdam", op, &inputs, vec![])
                    })?
                }
            }
            None => {
                let inputs = [grad, &b1, &b2, &h[0], &h[1], &h[2], &h[3]];
                add(var.graph(), "ApplyAdam", op, &inputs, vec![])
            }
        }
    }

    fn finish(&self, g: &Graph, updates: &[Operation], h: &[Tensor]) -> Result<Vec<Operation>> {
        let (b1, b2) = self.powers()?;
        g.control_dependencies(
            &updates.iter().collect::<Vec<_>>(),
            |_| -> Result<Vec<Operation>> {
                let next1 = b1.assign(&mul(&b1, &h[1])?)?;
                let next2 = b2.assign(&mul(&b2, &h[2])?)?;
                Ok(vec![next1.op(), next2.op()])
            },
        )?
    }
}
