//! What the random ops share: a per-session generator for each node, and the builders'
//! argument checks.

use crate::util::{add1, arg_error};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rustflow_graph::{DType, Error, Graph, KernelContext, Op, Result, Tensor, TensorSpec, Value};
use std::sync::PoisonError;

/// Runs `f` with the random generator of the node being computed. The generator belongs to
/// the session (created from `seed` on the node's first run in it), so each run continues
/// the sequence and a new session starts it again.
pub(crate) fn with_rng<R>(
    ctx: &KernelContext<'_>,
    seed: u64,
    f: impl FnOnce(&mut ChaCha8Rng) -> R,
) -> Result<R> {
    let state = ctx
        .resources
        .node_state(ctx.node, || Box::new(ChaCha8Rng::seed_from_u64(seed)));
    let mut guard = state.lock().unwrap_or_else(PoisonError::into_inner);
    let rng = guard.downcast_mut::<ChaCha8Rng>().ok_or_else(|| {
        Error::Kernel("internal error: the node's state is not a random generator".into())
    })?;
    Ok(f(rng))
}

/// A random op's output: a float32 value of `shape` whose elements are drawn one by one
/// with `draw` from the node's generator (see [`with_rng`]).
pub(crate) fn sample(
    ctx: &KernelContext<'_>,
    shape: &[usize],
    seed: u64,
    mut draw: impl FnMut(&mut ChaCha8Rng) -> f32,
) -> Result<Vec<Value>> {
    ctx.check_output(DType::F32, shape)?;
    let n: usize = shape.iter().product();
    let data = with_rng(ctx, seed, |rng| (0..n).map(|_| draw(rng)).collect())?;
    Ok(vec![Value::new(shape, data)?])
}

/// A random op's attributes: its shape and its two parameters.
pub(crate) fn attrs(shape: &[usize], params: [(&str, f32); 2]) -> String {
    let [(a, x), (b, y)] = params;
    format!("shape={shape:?}, {a}={x}, {b}={y}")
}

/// Adds a random op that makes a float32 tensor of `shape`: checks the element count, then
/// takes the node's seed from the op seed `seed` (and the graph's) and builds the op with
/// `make(seed)`.
pub(crate) fn add_random<O: Op>(
    g: &Graph,
    name: &str,
    op: &str,
    shape: &[usize],
    seed: Option<u64>,
    make: impl FnOnce(u64) -> O,
) -> Result<Tensor> {
    checked_count(g, name, op, shape)?;
    let seed = g.random_op_seed(seed);
    let spec = TensorSpec::new(DType::F32, shape.to_vec());
    add1(g, name, make(seed), &[], spec)
}

/// The number of elements of a random op's `shape`, or a build-time error.
pub(crate) fn checked_count(g: &Graph, name: &str, op: &str, shape: &[usize]) -> Result<usize> {
    shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .ok_or_else(|| {
            arg_error(
                g,
                name,
                op,
                format!(
                    "shape {} has too many elements",
                    rustflow_graph::fmt_dims(shape)
                ),
            )
        })
}

/// Checks that every parameter is finite.
pub(crate) fn check_finite(g: &Graph, name: &str, op: &str, params: &[(&str, f32)]) -> Result<()> {
    for (what, v) in params {
        if !v.is_finite() {
            return Err(arg_error(
                g,
                name,
                op,
                format!("{what} must be finite, got {v}"),
            ));
        }
    }
    Ok(())
}

/// Checks a normal distribution's parameters: both finite, `stddev` non-negative.
pub(crate) fn check_normal(g: &Graph, name: &str, op: &str, mean: f32, stddev: f32) -> Result<()> {
    check_finite(g, name, op, &[("mean", mean), ("stddev", stddev)])?;
    if stddev < 0.0 {
        return Err(arg_error(
            g,
            name,
            op,
            format!("stddev must be non-negative, got {stddev}"),
        ));
    }
    Ok(())
}
