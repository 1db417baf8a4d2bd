//! `reverse`: the order of some dimensions reversed.

use crate::array::index_map::{IndexMap, Remap, Remapped};
use crate::util::{add1, norm_axis, shape_error};
use rustflow_graph::{fmt_dims, Error, Result, Tensor};
use std::sync::Arc;

/// The `ReverseV2` op.
#[derive(Debug)]
pub struct Reverse {
    axes: Vec<i64>,
}

impl Reverse {
    /// Which dimensions of a rank-`rank` tensor are reversed, or TensorFlow's message.
    fn flipped(&self, rank: usize) -> std::result::Result<Vec<bool>, String> {
        let mut flip = vec![false; rank];
        for &a in &self.axes {
            let i = norm_axis(a, rank).ok_or_else(|| {
                format!(
                    "'axis'[{a}] = {a} is out of valid range [0, {})",
                    rank.max(1) - 1
                )
            })?;
            if flip[i] {
                return Err(format!("axis {i} specified more than once."));
            }
            flip[i] = true;
        }
        Ok(flip)
    }
}

impl IndexMap for Reverse {
    fn op_type(&self) -> &'static str {
        "ReverseV2"
    }
    fn grad_type(&self) -> &'static str {
        "ReverseV2"
    }
    fn remap(&self, shape: &[usize]) -> Result<Remap> {
        let flip = self
            .flipped(shape.len())
            .map_err(|m| Error::Kernel(format!("{m} (input shape {})", fmt_dims(shape))))?;
        Ok(Remap {
            dims: shape
                .iter()
                .zip(flip)
                .map(|(&n, f)| {
                    (0..n)
                        .map(|i| Some(if f { n - 1 - i } else { i }))
                        .collect()
                })
                .collect(),
            shape: shape.to_vec(),
        })
    }
    fn apply(&self, x: &Tensor) -> Result<Tensor> {
        reverse(x, &self.axes)
    }
}

/// `x` with the dimensions `axis` (may be negative) in reverse order (`tf.reverse(x, axis)`;
/// op `ReverseV2`).
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{placeholder, reverse};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 4], "x");
/// assert_eq!(reverse(&x, &[-1]).unwrap().shape().to_string(), "[?,4]");
/// assert!(reverse(&x, &[2]).is_err());
/// ```
pub fn reverse(x: &Tensor, axis: &[i64]) -> Result<Tensor> {
    let g = x.graph();
    let op = Reverse {
        axes: axis.to_vec(),
    };
    if let Some(r) = x.shape().rank() {
        op.flipped(r)
            .map_err(|m| shape_error(g, "ReverseV2", "ReverseV2", m, &[x]))?;
    }
    add1(g, "ReverseV2", Remapped(Arc::new(op)), &[x], x.spec())
}
