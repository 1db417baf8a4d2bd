//! `tile`: a tensor repeated along every dimension.

use crate::array::index_map::{IndexMap, Remap, Remapped};
use crate::util::{add1, shape_error};
use rustflow_graph::{fmt_dims, Error, Result, Shape, Tensor, TensorSpec};
use std::sync::Arc;

/// The `Tile` op.
#[derive(Debug)]
pub struct Tile {
    multiples: Vec<usize>,
}

impl Tile {
    fn check(&self, rank: usize) -> std::result::Result<(), String> {
        if self.multiples.len() == rank {
            Ok(())
        } else {
            Err(format!(
                "Expected multiples argument to be a vector of length {rank} but got length {}",
                self.multiples.len()
            ))
        }
    }
}

impl IndexMap for Tile {
    fn op_type(&self) -> &'static str {
        "Tile"
    }
    fn grad_type(&self) -> &'static str {
        "TileGrad"
    }
    fn grown_shape(&self, shape: &[usize]) -> Result<Option<Vec<usize>>> {
        self.check(shape.len())
            .map_err(|m| Error::Kernel(format!("{m} (input shape {})", fmt_dims(shape))))?;
        Ok(Some(
            shape
                .iter()
                .zip(&self.multiples)
                .map(|(&n, &m)| n.saturating_mul(m))
                .collect(),
        ))
    }
    fn remap(&self, shape: &[usize]) -> Result<Remap> {
        self.check(shape.len())
            .map_err(|m| Error::Kernel(format!("{m} (input shape {})", fmt_dims(shape))))?;
        let dims: Vec<Vec<Option<usize>>> = shape
            .iter()
            .zip(&self.multiples)
            .map(|(&n, &m)| (0..n * m).map(|i| Some(i % n)).collect())
            .collect();
        Ok(Remap {
            shape: dims.iter().map(Vec::len).collect(),
            dims,
        })
    }
    fn apply(&self, x: &Tensor) -> Result<Tensor> {
        tile(x, &self.multiples)
    }
}

/// `x` repeated `multiples[i]` times along dimension `i` (`tf.tile(x, multiples)`; op
/// `Tile`). In the gradient the copies add into their source.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{placeholder, tile};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 3], "x");
/// assert_eq!(tile(&x, &[2, 1]).unwrap().shape().to_string(), "[?,3]");
/// assert_eq!(tile(&x, &[1, 2]).unwrap().shape().to_string(), "[?,6]");
/// assert!(tile(&x, &[2]).is_err());
/// ```
pub fn tile(x: &Tensor, multiples: &[usize]) -> Result<Tensor> {
    let g = x.graph();
    let op = Tile {
        multiples: multiples.to_vec(),
    };
    let shape = match x.shape().dims() {
        None => Shape::unknown(),
        Some(dims) => {
            op.check(dims.len())
                .map_err(|m| shape_error(g, "Tile", "Tile", m, &[x]))?;
            Shape::new(
                dims.iter()
                    .zip(multiples)
                    .map(|(d, &m)| if m == 0 { Some(0) } else { d.map(|d| d * m) })
                    .collect(),
            )
        }
    };
    add1(
        g,
        "Tile",
        Remapped(Arc::new(op)),
        &[x],
        TensorSpec::new(x.dtype(), shape),
    )
}
