//! `transpose`: permutes the dimensions.

use crate::kernels::strided::for_each_row;
use crate::util::{add1, shape_error};
use rustflow_graph::{
    fmt_dims, DType, Element, Error, GradContext, KernelContext, Op, Result, Shape, Tensor,
    TensorSpec, Value,
};

/// The `Transpose` op; `perm: None` reverses the dimensions of whatever rank arrives.
#[derive(Debug)]
pub struct Transpose {
    perm: Option<Vec<usize>>,
}

/// Why `perm` is not a permutation of `0..rank` (TensorFlow's messages), if it is not.
fn check_perm(perm: &[usize], rank: usize) -> std::result::Result<(), String> {
    if perm.len() != rank {
        return Err(format!("Dimension must be {rank} but is {}", perm.len()));
    }
    let mut seen = vec![false; rank];
    for &p in perm {
        match seen.get_mut(p) {
            None => return Err(format!("{p} is out of range [0 .. {rank})")),
            Some(s) => *s = true,
        }
    }
    match seen.iter().position(|s| !s) {
        Some(i) => Err(format!(
            "{i} is missing from {{{}}}.",
            perm.iter()
                .map(|p| p.to_string())
                .collect::<Vec<_>>()
                .join(",")
        )),
        None => Ok(()),
    }
}

/// The elements of `x` with dimension `perm[i]` of the input as dimension `i` of the output.
/// `perm` must be a permutation of `0..rank`.
fn transpose_data<T: Element>(x: &Value, perm: &[usize]) -> Result<Value> {
    let src = x.as_slice::<T>()?;
    let shape = x.shape();
    let rank = shape.len();
    let out_shape: Vec<usize> = perm.iter().map(|&p| shape[p]).collect();
    let mut in_strides = vec![0usize; rank];
    let mut s = 1;
    for i in (0..rank).rev() {
        in_strides[i] = s;
        s *= shape[i];
    }
    // The input stride of each output dimension.
    let strides: Vec<usize> = perm.iter().map(|&p| in_strides[p]).collect();
    let mut out = Vec::with_capacity(src.len());
    let (Some(&last), Some(&ls)) = (out_shape.last(), strides.last()) else {
        return Value::new(&out_shape, src.to_vec());
    };
    if src.is_empty() {
        return Value::new(&out_shape, out);
    }
    for_each_row(&out_shape, [&strides], |[off]| {
        out.extend((0..last).map(|k| src[off + k * ls]));
    });
    Value::new(&out_shape, out)
}

impl Op for Transpose {
    fn op_type(&self) -> &'static str {
        "Transpose"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let x = ctx.take_input(0);
        let rank = x.shape().len();
        let perm = match &self.perm {
            Some(p) => p.clone(),
            None => (0..rank).rev().collect(),
        };
        check_perm(&perm, rank).map_err(|m| {
            Error::Kernel(format!(
                "transpose of a tensor of shape {}: {m}",
                fmt_dims(x.shape())
            ))
        })?;
        if perm.iter().enumerate().all(|(i, &p)| i == p) {
            return Ok(vec![x]);
        }
        let y = match x.dtype() {
            DType::F32 => transpose_data::<f32>(&x, &perm)?,
            DType::I32 => transpose_data::<i32>(&x, &perm)?,
            DType::I64 => transpose_data::<i64>(&x, &perm)?,
            DType::Bool => transpose_data::<bool>(&x, &perm)?,
            DType::String => {
                let data = x.as_strings()?;
                let index = transpose_data::<i64>(
                    &Value::new(x.shape(), (0..data.len() as i64).collect())?,
                    &perm,
                )?;
                let shape = index.shape().to_vec();
                let out = index
                    .as_slice::<i64>()?
                    .iter()
                    .map(|&i| data[i as usize].clone());
                Value::strings(&shape, out.collect())?
            }
        };
        Ok(vec![y])
    }
    /// The upstream transposed by the inverse permutation.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let dy = gc.dy(0);
        let dx = match &self.perm {
            None => transpose(dy, None)?,
            Some(p) => {
                let mut inv = vec![0usize; p.len()];
                for (i, &q) in p.iter().enumerate() {
                    if let Some(slot) = inv.get_mut(q) {
                        *slot = i;
                    }
                }
                transpose(dy, Some(&inv))?
            }
        };
        Ok(vec![Some(dx)])
    }
    fn attrs(&self) -> String {
        format!("perm={:?}", self.perm)
    }
}

/// `x` with its dimensions permuted (`tf.transpose(x, perm)`; node `transpose`): output
/// dimension `i` is input dimension `perm[i]`. `None` reverses the dimensions. `perm` must be
/// a permutation of `0..rank`, checked at build time when the rank is known.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{placeholder, transpose};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 3, 4], "x");
/// assert_eq!(transpose(&x, None).unwrap().shape().to_string(), "[4,3,?]");
/// assert_eq!(transpose(&x, Some(&[0, 2, 1])).unwrap().shape().to_string(), "[?,4,3]");
/// assert!(transpose(&x, Some(&[0, 0, 1])).is_err());
/// ```
pub fn transpose(x: &Tensor, perm: Option<&[usize]>) -> Result<Tensor> {
    let g = x.graph();
    let shape = match (x.shape().dims(), perm) {
        (None, _) => Shape::unknown(),
        (Some(dims), None) => Shape::new(dims.iter().rev().copied().collect()),
        (Some(dims), Some(p)) => {
            check_perm(p, dims.len())
                .map_err(|m| shape_error(g, "transpose", "Transpose", m, &[x]))?;
            Shape::new(p.iter().map(|&i| dims[i]).collect())
        }
    };
    let op = Transpose {
        perm: perm.map(<[usize]>::to_vec),
    };
    add1(g, "transpose", op, &[x], TensorSpec::new(x.dtype(), shape))
}
