//! `pad`: a tensor surrounded by a constant or by its own mirror image.

use crate::array::index_map::{IndexMap, Remap, Remapped};
use crate::util::{add1, shape_error};
use rustflow_graph::{fmt_dims, Dim, Error, Result, Shape, Tensor, TensorSpec};
use std::str::FromStr;
use std::sync::Arc;

/// How [`pad`] fills the border.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PadMode {
    /// A constant (`constant_values`).
    Constant,
    /// The mirror image without the edge element (`[1 2 3]` padded by 2: `3 2 [1 2 3] 2 1`);
    /// each padding must be smaller than its dimension.
    Reflect,
    /// The mirror image with the edge element (`2 1 [1 2 3] 3 2`); each padding must be at
    /// most its dimension.
    Symmetric,
}

impl FromStr for PadMode {
    type Err = Error;
    /// TensorFlow's names, in any case: `CONSTANT`, `REFLECT`, `SYMMETRIC`.
    fn from_str(s: &str) -> Result<Self> {
        match s.to_ascii_uppercase().as_str() {
            "CONSTANT" => Ok(PadMode::Constant),
            "REFLECT" => Ok(PadMode::Reflect),
            "SYMMETRIC" => Ok(PadMode::Symmetric),
            _ => Err(Error::Kernel(format!(
                "Unknown padding mode: {s} (CONSTANT, REFLECT or SYMMETRIC)"
            ))),
        }
    }
}

/// The `Pad`/`PadV2` (constant) and `MirrorPad` ops.
#[derive(Debug)]
pub struct Pad {
    paddings: Vec<[usize; 2]>,
    mode: PadMode,
    constant: f64,
}

impl Pad {
    /// The padded size of every dimension of `dims`, or TensorFlow's message of why the
    /// paddings do not fit.
    fn sizes(&self, dims: &[Dim]) -> std::result::Result<Vec<Dim>, String> {
        if self.paddings.len() != dims.len() {
            return Err(format!(
                "The first dimension of paddings must be the rank of inputs [{},2], but got a tensor of rank {}",
                self.paddings.len(),
                dims.len()
            ));
        }
        let (limit, what) = match self.mode {
            PadMode::Constant => (None, ""),
            PadMode::Reflect => (Some(0), "less than"),
            PadMode::Symmetric => (Some(1), "no greater than"),
        };
        dims.iter()
            .zip(&self.paddings)
            .enumerate()
            .map(|(i, (&d, &[b, a]))| match (d, limit) {
                (Some(d), Some(extra)) if b.max(a) + 1 > d + extra => Err(format!(
                    "paddings must be {what} the dimension size: {b}, {a} not {what} {d} (dimension {i})"
                )),
                _ => Ok(d.map(|d| b + d + a)),
            })
            .collect()
    }
}

impl IndexMap for Pad {
    fn op_type(&self) -> &'static str {
        match (self.mode, self.constant == 0.0) {
            (PadMode::Constant, true) => "Pad",
            (PadMode::Constant, false) => "PadV2",
            _ => "MirrorPad",
        }
    }
    fn grad_type(&self) -> &'static str {
        match self.mode {
            PadMode::Constant => "Slice",
            _ => "MirrorPadGrad",
        }
    }
    fn grown_shape(&self, shape: &[usize]) -> Result<Option<Vec<usize>>> {
        let dims: Vec<Dim> = shape.iter().map(|&d| Some(d)).collect();
        let out = self
            .sizes(&dims)
            .map_err(|m| Error::Kernel(format!("{m} (input shape {})", fmt_dims(shape))))?;
        Ok(Some(out.into_iter().flatten().collect()))
    }
    fn remap(&self, shape: &[usize]) -> Result<Remap> {
        let out = self.grown_shape(shape)?.unwrap_or_default();
        let source = |n: i64, j: i64| -> Option<usize> {
            let j = match self.mode {
                _ if (0..n).contains(&j) => j,
                PadMode::Constant => return None,
                PadMode::Reflect if j < 0 => -j,
                PadMode::Reflect => 2 * (n - 1) - j,
                PadMode::Symmetric if j < 0 => -j - 1,
                PadMode::Symmetric => 2 * n - 1 - j,
            };
            Some(j as usize)
        };
        Ok(Remap {
            dims: shape
                .iter()
                .zip(&self.paddings)
                .zip(&out)
                .map(|((&n, &[b, _]), &o)| {
                    (0..o)
                        .map(|i| source(n as i64, i as i64 - b as i64))
                        .collect()
                })
                .collect(),
            shape: out,
        })
    }
    fn fill(&self) -> f64 {
        self.constant
    }
    fn apply(&self, x: &Tensor) -> Result<Tensor> {
        pad(x, &self.paddings, self.mode, self.constant)
    }
}

/// `x` with `paddings[i] = [before, after]` elements added on each side of dimension `i`
/// (`tf.pad(x, paddings, mode, constant_values)`; op `Pad`, `PadV2` or `MirrorPad`). In the
/// gradient every padded copy adds into the element it copies.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{pad, placeholder, PadMode};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 3], "x");
/// let y = pad(&x, &[[0, 0], [2, 2]], PadMode::Reflect, 0.0).unwrap();
/// assert_eq!(y.shape().to_string(), "[?,7]");
/// assert!(pad(&x, &[[0, 0], [3, 0]], PadMode::Reflect, 0.0).is_err());
/// assert!(pad(&x, &[[0, 0], [3, 0]], PadMode::Symmetric, 0.0).is_ok());
/// ```
pub fn pad(
    x: &Tensor,
    paddings: &[[usize; 2]],
    mode: PadMode,
    constant_values: f64,
) -> Result<Tensor> {
    let g = x.graph();
    let op = Pad {
        paddings: paddings.to_vec(),
        mode,
        constant: constant_values,
    };
    let name = op.op_type();
    let shape = match x.shape().dims() {
        None => Shape::unknown(),
        Some(dims) => Shape::new(
            op.sizes(dims)
                .map_err(|m| shape_error(g, name, name, m, &[x]))?,
        ),
    };
    add1(
        g,
        name,
        Remapped(Arc::new(op)),
        &[x],
        TensorSpec::new(x.dtype(), shape),
    )
}
