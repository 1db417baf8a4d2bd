//! The build-time checks of sliding-window attributes; the padding schemes and window
//! geometry are the kernels' ([`crate::kernels::window`]).

pub use crate::kernels::window::Padding;
use rustflow_graph::{Dim, Shape};

/// Checks a `[1, a, b, 1]` attribute (strides or ksize) and returns `(a, b)`.
pub(crate) fn spatial_attr(what: &str, v: [usize; 4]) -> Result<(usize, usize), String> {
    if v[0] != 1 || v[3] != 1 {
        return Err(format!(
            "{what} in the batch and depth dimensions must be 1, got [{},{},{},{}]",
            v[0], v[1], v[2], v[3]
        ));
    }
    if v[1] == 0 || v[2] == 0 {
        return Err(format!(
            "{what} must be positive, got [{},{},{},{}]",
            v[0], v[1], v[2], v[3]
        ));
    }
    Ok((v[1], v[2]))
}

/// The static dims of a 4-D NHWC tensor, or a message when the rank is known and not 4.
pub(crate) fn nhwc_dims(s: &Shape, what: &str) -> Result<[Dim; 4], String> {
    match s.dims() {
        None => Ok([None; 4]),
        Some(&[a, b, c, d]) => Ok([a, b, c, d]),
        Some(d) => Err(format!(
            "Shape must be rank 4 but is rank {} for {what}",
            d.len()
        )),
    }
}
