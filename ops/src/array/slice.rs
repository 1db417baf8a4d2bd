//! `slice`: a contiguous block of a tensor.

use crate::array::index_map::{IndexMap, Remap, Remapped};
use crate::util::{add1, shape_error};
use rustflow_graph::{fmt_dims, Dim, Error, Result, Shape, Tensor, TensorSpec};
use std::sync::Arc;

/// The `Slice` op: `size[i]` elements from `begin[i]` along every dimension (-1: the rest).
#[derive(Debug)]
pub struct Slice {
    begin: Vec<i64>,
    size: Vec<i64>,
}

impl Slice {
    /// The block's size along every dimension of `dims` (`None` where unknown), or
    /// TensorFlow's message of why the block does not fit.
    fn sizes(&self, dims: &[Dim]) -> std::result::Result<Vec<Dim>, String> {
        let r = dims.len();
        if self.begin.len() != r || self.size.len() != r {
            return Err(format!(
                "Expected begin and size arguments to be 1-D tensors of size {r}, but got shapes [{}] and [{}] instead.",
                self.begin.len(),
                self.size.len()
            ));
        }
        (0..r)
            .map(|i| {
                let (b, s) = (self.begin[i], self.size[i]);
                if b < 0 || s < -1 {
                    return Err(format!(
                        "Expected begin[{i}] >= 0 and size[{i}] >= -1, but got {b} and {s}"
                    ));
                }
                match dims[i] {
                    None => Ok((s >= 0).then_some(s as usize)),
                    Some(d) => {
                        let d = d as i64;
                        let s = if s == -1 { d - b } else { s };
                        if b > d || b + s > d || s < 0 {
                            Err(format!(
                                "Expected size[{i}] in [0, {}], but got {s}",
                                (d - b).max(0)
                            ))
                        } else {
                            Ok(Some(s as usize))
                        }
                    }
                }
            })
            .collect()
    }
}

impl IndexMap for Slice {
    fn op_type(&self) -> &'static str {
        "Slice"
    }
    fn grad_type(&self) -> &'static str {
        "StridedSliceGrad"
    }
    fn remap(&self, shape: &[usize]) -> Result<Remap> {
        let dims: Vec<Dim> = shape.iter().map(|&d| Some(d)).collect();
        let sizes: Vec<usize> = self
            .sizes(&dims)
            .map_err(|m| Error::Kernel(format!("{m} (input shape {})", fmt_dims(shape))))?
            .into_iter()
            .flatten()
            .collect();
        Ok(Remap {
            dims: sizes
                .iter()
                .zip(&self.begin)
                .map(|(&s, &b)| (0..s).map(|k| Some(b as usize + k)).collect())
                .collect(),
            shape: sizes,
        })
    }
    fn apply(&self, x: &Tensor) -> Result<Tensor> {
        slice(x, &self.begin, &self.size)
    }
}

/// The block of `x` that starts at `begin` and has `size` elements along each dimension
/// (`tf.slice(x, begin, size)`; op `Slice`); a size of -1 takes the rest of the dimension.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{placeholder, slice};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 5], "x");
/// assert_eq!(slice(&x, &[1, 2], &[2, -1]).unwrap().shape().to_string(), "[2,3]");
/// assert!(slice(&x, &[0, 2], &[1, 4]).is_err());
/// ```
pub fn slice(x: &Tensor, begin: &[i64], size: &[i64]) -> Result<Tensor> {
    let g = x.graph();
    let op = Slice {
        begin: begin.to_vec(),
        size: size.to_vec(),
    };
    let shape = match x.shape().dims() {
        None => Shape::unknown(),
        Some(dims) => Shape::new(
            op.sizes(dims)
                .map_err(|m| shape_error(g, "Slice", "Slice", m, &[x]))?,
        ),
    };
    add1(
        g,
        "Slice",
        Remapped(Arc::new(op)),
        &[x],
        TensorSpec::new(x.dtype(), shape),
    )
}
