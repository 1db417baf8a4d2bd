//! Golden cases of array ops (concat, gather, pad, strided_slice, ...).

use super::*;

/// Builds the case's op on the placeholders `x` (named after its inputs); `None` when the
/// op is not one of this module's.
pub fn build(c: &Case, g: &Graph, x: &BTreeMap<String, Tensor>) -> rustflow::Result<Option<Built>> {
    let _ = (c, g, x);
    Ok(None)
}

/// Runs a case that is not a plain op case (its own format); `None` when it is not one of
/// this module's.
pub fn run(c: &Case) -> Option<Result<(), String>> {
    let _ = c;
    None
}

/// The (outputs, grads) tolerances of this module's ops, from WAVE2.md.
pub fn tolerance(op: &str) -> Option<((f64, f64), (f64, f64))> {
    let _ = op;
    None
}
