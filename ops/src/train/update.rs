//! What every optimizer's update op shares: the lock on the variable and its slots, where
//! the gradient comes from (a tensor, or the two factors of a `MatMul`'s weight gradient,
//! which the fusion pass hands over), and running the optimizer's element-wise rule over
//! blocks of the variable in parallel.

use super::slots::{for_each_unpooled, lock_var};
use crate::kernels::gemm::{sgemm_serial, MatRef};
use rustflow_graph::{
    fmt_dims, not_differentiable, Capability, DType, Error, GradContext, KernelContext, NodeId, Op,
    OpKind, Result, Tensor, Value,
};
use std::cell::RefCell;
use std::fmt;
use std::sync::Arc;

/// Elements per parallel task of an update from a gradient tensor.
const CHUNK: usize = 1 << 15;

/// Rows of the variable per parallel task when the update computes its gradient: the
/// task's piece of the gradient stays in L2 cache between its product and its update.
const PRODUCT_ROWS: usize = 32;

thread_local! {
    /// Each task's piece of a computed gradient.
    static GRAD_ROWS: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// An optimizer's update, element by element.
pub(crate) trait Rule: fmt::Debug + Clone + Send + Sync + 'static {
    /// TensorFlow's op type (`ApplyAdam`).
    const OP: &'static str;
    /// The constants of one step, from the values of the scalar inputs that follow the
    /// gradient (Adam's beta powers; none for the others).
    type Step: Copy + Send + Sync;
    /// This step's constants.
    fn step(&self, scalars: &[f32]) -> Self::Step;
    /// Updates `w` (a block of the variable) and the same blocks of its `slots` from the
    /// gradient `g`.
    fn apply(step: Self::Step, w: &mut [f32], slots: &mut [&mut [f32]], g: &[f32]);
    /// The attributes for graph listings, after the variable's name.
    fn attrs(&self) -> String;
}

/// The most hyper-parameters a [`PerElement`] rule takes.
const MAX_HYPERS: usize = 8;

/// An optimizer rule whose constants are all its hyper-parameter inputs
/// ([`super::slots::Rule`]: GradientDescent, Momentum, Adagrad, RMSProp, Adadelta), as an
/// update rule.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PerElement<R>(pub R);

impl<R: super::slots::Rule + Clone + Copy> Rule for PerElement<R> {
    const OP: &'static str = R::OP_TYPE;
    type Step = (R, [f32; MAX_HYPERS], usize);
    fn step(&self, scalars: &[f32]) -> Self::Step {
        let mut h = [0.0; MAX_HYPERS];
        let n = scalars.len().min(MAX_HYPERS);
        h[..n].copy_from_slice(&scalars[..n]);
        (self.0, h, n)
    }
    fn apply((rule, h, n): Self::Step, w: &mut [f32], slots: &mut [&mut [f32]], g: &[f32]) {
        rule.step(&h[..n], g, w, slots);
    }
    fn attrs(&self) -> String {
        self.0.attrs()
    }
}

/// Where an update takes its gradient from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum GradSource {
    /// Input 0 is the gradient.
    Tensor,
    /// Inputs 0 and 1 are `a` (`[k, rows]`) and `dy` (`[k, cols]`), and the gradient is
    /// `aᵀ · dy`, computed and applied a block of rows at a time, never stored whole.
    Product,
}

/// The update op of one variable: the variable and its slots change in place.
#[derive(Debug)]
pub(crate) struct ApplyDense<R: Rule> {
    rule: R,
    /// The variable, then its slots (the lock order of every update).
    vars: Vec<(NodeId, String)>,
    grad: GradSource,
}

impl<R: Rule> ApplyDense<R> {
    /// The update of `vars` (the variable, then its slots) by `rule`, from a gradient tensor.
    pub fn new(rule: R, vars: Vec<(NodeId, String)>) -> Self {
        ApplyDense {
            rule,
            vars,
            grad: GradSource::Tensor,
        }
    }

    /// The gradient's shape.
    fn grad_shape(&self, ctx: &KernelContext<'_>) -> Result<Vec<usize>> {
        match self.grad {
            GradSource::Tensor => Ok(ctx.input(0).shape().to_vec()),
            GradSource::Product => {
                let (a, dy) = (ctx.input(0), ctx.input(1));
                match (a.shape(), dy.shape()) {
                    (&[k, rows], &[k2, cols]) if k == k2 && a.dtype() == DType::F32 => {
                        Ok(vec![rows, cols])
                    }
                    _ => Err(Error::Kernel(format!(
                        "Matrix size-incompatible: In[0]: {} (transposed), In[1]: {}",
                        fmt_dims(a.shape()),
                        fmt_dims(dy.shape())
                    ))),
                }
            }
        }
    }
}

/// `bufs` cut into blocks of `len`: element `i` holds block `i` of each buffer, in order.
fn blocks(bufs: Vec<&mut [f32]>, len: usize) -> Vec<Vec<&mut [f32]>> {
    let mut out: Vec<Vec<&mut [f32]>> = vec![];
    for b in bufs {
        for (i, c) in b.chunks_mut(len.max(1)).enumerate() {
            if out.len() <= i {
                out.push(vec![]);
            }
            out[i].push(c);
        }
    }
    out
}

impl<R: Rule> Op for ApplyDense<R> {
    fn op_type(&self) -> &'static str {
        R::OP
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        not_differentiable(gc)
    }
    fn kind(&self) -> OpKind {
        OpKind::Stateful
    }
    fn reads_variables(&self) -> Vec<NodeId> {
        self.vars.iter().map(|v| v.0).collect()
    }
    fn capability(&self) -> Capability {
        if self.grad != GradSource::Tensor {
            return Capability::None;
        }
        Capability::Update {
            var: self.vars[0].0,
            with_product: Arc::new(ApplyDense {
                rule: self.rule.clone(),
                vars: self.vars.clone(),
                grad: GradSource::Product,
            }),
        }
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let first = match self.grad {
            GradSource::Tensor => 1,
            GradSource::Product => 2,
        };
        let scalars = (first..ctx.inputs.len())
            .map(|i| ctx.input(i).scalar_value::<f32>())
            .collect::<Result<Vec<_>>>()?;
        let step = self.rule.step(&scalars);
        let shape = self.grad_shape(ctx)?;
        let slots: Vec<_> = self
            .vars
            .iter()
            .map(|v| ctx.resources.variable(v.0))
            .collect();
        let mut guards = slots
            .iter()
            .zip(&self.vars)
            .map(|(s, v)| lock_var(s, &v.1, &shape))
            .collect::<Result<Vec<_>>>()?;
        let mut bufs = vec![];
        for g in guards.iter_mut() {
            let v = g
                .as_mut()
                .ok_or_else(|| Error::Kernel("a slot vanished".into()))?;
            bufs.push(v.data_mut::<f32>()?);
        }
        match self.grad {
            GradSource::Tensor => {
                let g = ctx.input(0).as_slice::<f32>()?;
                // Under the locks, never on rayon's pool (see `slots`' lock order).
                let items = blocks(bufs, CHUNK).into_iter().zip(g.chunks(CHUNK));
                for_each_unpooled(items, |(mut b, g)| {
                    if let Some((w, slots)) = b.split_first_mut() {
                        R::apply(step, w, slots, g);
                    }
                });
            }
            GradSource::Product => {
                let (k, rows, cols) = (ctx.input(0).shape()[0], shape[0], shape[1]);
                let (a, dy) = (
                    ctx.input(0).as_slice::<f32>()?,
                    ctx.input(1).as_slice::<f32>()?,
                );
                let items = blocks(bufs, PRODUCT_ROWS * cols).into_iter().enumerate();
                for_each_unpooled(items, |(i, mut b)| {
                    let Some((w, slots)) = b.split_first_mut() else {
                        return;
                    };
                    let (r0, nr) = (i * PRODUCT_ROWS, w.len() / cols.max(1));
                    GRAD_ROWS.with(|cell| {
                        let mut g = cell.borrow_mut();
                        g.resize(w.len(), 0.0);
                        // Rows r0..r0 + nr of aᵀ · dy: element (r, kk) of aᵀ is
                        // a[kk][r0 + r]. (With k = 0, `a` is empty and the product is 0.)
                        let at = MatRef {
                            data: &a[r0.min(a.len())..],
                            rs: 1,
                            cs: rows,
                        };
                        let dy = MatRef::new(dy, cols, false);
                        sgemm_serial(nr, cols, k, at, dy, &mut g, false);
                        R::apply(step, w, slots, &g);
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
        let rule = self.rule.attrs();
        let sep = if rule.is_empty() { "" } else { ", " };
        format!("var={}{sep}{rule}{grad}", self.vars[0].1)
    }
}
