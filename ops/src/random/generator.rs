//! What the random ops share: a per-session generator for each node, and the builders'
//! argument checks.

use crate::util::arg_error;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rustflow_graph::{Error, Graph, KernelContext, Result};
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
