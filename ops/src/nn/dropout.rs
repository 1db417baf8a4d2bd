//! `dropout`: keeps each element with probability `keep_prob`, scaled by `1 / keep_prob`.

use crate::math::kernels::binary;
use crate::nn::dropout_mask::{keep_prob_value, DropoutMask};
use crate::util::{add1, arg_error, broadcast_dims, expect_dtype};
use rustflow_graph::{
    fmt_dims, DType, Error, GradContext, KernelContext, Op, Result, Tensor, TensorSpec, Value,
};

/// The `Dropout` op: inputs (x, keep_prob, mask); output `x / keep_prob * mask`, the mask
/// broadcasting to x. Its gradient is the same op applied to the upstream gradient with the
/// same mask.
#[derive(Debug)]
pub struct Dropout;

impl Op for Dropout {
    fn op_type(&self) -> &'static str {
        "Dropout"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let kp = keep_prob_value(ctx.input(1))?;
        let (x, mask) = (ctx.input(0), ctx.input(2));
        if broadcast_dims(x.shape(), mask.shape()).ok().as_deref() != Some(x.shape()) {
            return Err(Error::Kernel(format!(
                "the dropout mask {} does not broadcast to the input {}",
                fmt_dims(mask.shape()),
                fmt_dims(x.shape())
            )));
        }
        if x.shape() != mask.shape() {
            return Ok(vec![binary(x, mask, |v: f32, m: f32| v / kp * m)?]);
        }
        let m = ctx.input(2).clone();
        let mut out = ctx.take_input(0);
        for (v, &k) in out.data_mut::<f32>()?.iter_mut().zip(m.as_slice::<f32>()?) {
            *v = *v / kp * k;
        }
        Ok(vec![out])
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let dy = gc.dy(0);
        let dx = add1(
            gc.graph,
            "mul",
            Dropout,
            &[dy, gc.x(1), gc.x(2)],
            gc.x(0).spec(),
        )?;
        Ok(vec![Some(dx), None, None])
    }
}

/// Dropout with a tensor `keep_prob` (`tf.nn.dropout(x, keep_prob)`, TF1): each element of
/// `x` is kept with probability `keep_prob` and scaled by `1 / keep_prob`; the others become
/// 0. `keep_prob` is a float32 scalar, usually a fed placeholder; fed 1.0, the output equals
/// `x` exactly.
///
/// The nodes live under the name scope `dropout/`. Every run draws a new mask
/// (`floor(keep_prob + U[0, 1))`), and within one run the gradient uses the same mask as the
/// forward value: `dx = dy / keep_prob` where kept, 0 elsewhere. A `keep_prob` outside
/// (0, 1] at run time is an error.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::nn::dropout;
/// use rustflow_ops::placeholder;
/// let g = Graph::new();
/// let h = placeholder(&g, DType::F32, shape![?, 1024], "h");
/// let keep_prob = placeholder(&g, DType::F32, shape![], "keep_prob");
/// let h_drop = dropout(&h, &keep_prob).unwrap();
/// assert_eq!(h_drop.shape().to_string(), "[?,1024]");
/// assert_eq!(h_drop.name(), "dropout/mul:0");
/// ```
pub fn dropout(x: &Tensor, keep_prob: &Tensor) -> Result<Tensor> {
    dropout_with(x, keep_prob, None, None)
}

/// [`dropout`] with its options: `noise_shape` (broadcast to `x`'s shape: dimensions of size
/// 1 share one keep/drop decision) and an op `seed` (see [`crate::truncated_normal`] for how
/// seeds combine with the graph seed).
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::nn::dropout_with;
/// use rustflow_ops::placeholder;
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![4, 6], "x");
/// let keep_prob = placeholder(&g, DType::F32, shape![], "keep_prob");
/// // One decision per row.
/// assert!(dropout_with(&x, &keep_prob, Some(&[4, 1]), Some(3)).is_ok());
/// assert!(dropout_with(&x, &keep_prob, Some(&[4, 2]), None).is_err());
/// ```
pub fn dropout_with(
    x: &Tensor,
    keep_prob: &Tensor,
    noise_shape: Option<&[usize]>,
    seed: Option<u64>,
) -> Result<Tensor> {
    x.graph()
        .check_owns(keep_prob.graph(), &keep_prob.to_string())?;
    build(x, KeepProb::Tensor(keep_prob), noise_shape, seed)
}

enum KeepProb<'a> {
    Tensor(&'a Tensor),
    Const(f32),
}

fn build(
    x: &Tensor,
    keep_prob: KeepProb<'_>,
    noise_shape: Option<&[usize]>,
    seed: Option<u64>,
) -> Result<Tensor> {
    let g = x.graph();
    let (name, op) = ("dropout", "Dropout");
    expect_dtype(g, name, op, x, &[DType::F32])?;
    if let KeepProb::Tensor(kp) = keep_prob {
        let kps = kp.shape();
        if kp.dtype() != DType::F32 || kps.rank().is_some_and(|r| r != 0) {
            return Err(arg_error(
                g,
                name,
                op,
                format!(
                    "keep_prob must be a scalar tensor or a float in the range (0, 1], got a {} tensor of shape {kps}",
                    kp.dtype()
                ),
            ));
        }
    }
    if let Some(ns) = noise_shape {
        let xs = x.shape();
        let fits = match xs.dims() {
            None => true,
            Some(d) => {
                d.len() == ns.len()
                    && d.iter()
                        .zip(ns)
                        .all(|(xd, &nd)| nd == 1 || xd.is_none_or(|xd| xd == nd))
            }
        };
        if !fits {
            return Err(arg_error(
                g,
                name,
                op,
                format!(
                    "noise_shape {} does not broadcast to the input's shape {xs}",
                    fmt_dims(ns)
                ),
            ));
        }
    }
    let seed = g.random_op_seed(seed);
    g.name_scope(name, |g| {
        let kp = match keep_prob {
            KeepProb::Tensor(t) => t.clone(),
            KeepProb::Const(v) => crate::constant(g, v, "keep_prob"),
        };
        let mask_op = DropoutMask {
            noise_shape: noise_shape.map(<[usize]>::to_vec),
            seed,
        };
        let mask = match noise_shape {
            Some(ns) => add1(
                g,
                "random_uniform",
                mask_op,
                &[&kp],
                TensorSpec::new(DType::F32, ns.to_vec()),
            )?,
            None => add1(g, "random_uniform", mask_op, &[&kp, x], x.spec())?,
        };
        add1(g, "mul", Dropout, &[x, &kp, &mask], x.spec())
    })
}

/// [`dropout`] with a constant `keep_prob`, checked when building: 1.0 returns `x` itself (no
/// op is added), and a value outside (0, 1] is an error
/// (`keep_prob must be a scalar tensor or a float in the range (0, 1], got 0`).
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::nn::dropout_const;
/// use rustflow_ops::placeholder;
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 10], "x");
/// assert_eq!(dropout_const(&x, 1.0).unwrap(), x);
/// assert!(dropout_const(&x, 0.5).is_ok());
/// let err = dropout_const(&x, 0.0).unwrap_err().to_string();
/// assert!(err.starts_with("keep_prob must be a scalar tensor or a float in the range (0, 1], got 0"));
/// ```
pub fn dropout_const(x: &Tensor, keep_prob: f32) -> Result<Tensor> {
    let g = x.graph();
    if !(keep_prob > 0.0 && keep_prob <= 1.0) {
        return Err(arg_error(
            g,
            "dropout",
            "Dropout",
            format!(
                "keep_prob must be a scalar tensor or a float in the range (0, 1], got {keep_prob}"
            ),
        ));
    }
    if keep_prob == 1.0 {
        return Ok(x.clone());
    }
    build(x, KeepProb::Const(keep_prob), None, None)
}
