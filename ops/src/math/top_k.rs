//! `top_k`: the `k` largest entries of each last-axis row, and their indices; and
//! `TopKGrad`, which scatters the values' upstream back to those indices.

use crate::util::{add, add1, expect_dtype, shape_error};
use rustflow_graph::{
    fmt_dims, DType, Error, GradContext, KernelContext, Op, Result, Shape, Tensor, TensorSpec,
    Value,
};

/// The `TopKV2` op (`sorted=True`): outputs values (float32) and indices (int32).
#[derive(Debug)]
pub struct TopK {
    k: usize,
}

/// The rows of a tensor whose last axis has `n` entries, or an error naming its shape.
fn rows(shape: &[usize], k: usize) -> Result<(usize, usize)> {
    let n = shape.last().copied().unwrap_or(0);
    if shape.is_empty() || k > n {
        return Err(Error::Kernel(format!(
            "input must have rank >= 1 and at least k = {k} columns, got shape {}",
            fmt_dims(shape)
        )));
    }
    Ok((shape.iter().product::<usize>() / n.max(1), n))
}

impl Op for TopK {
    fn op_type(&self) -> &'static str {
        "TopKV2"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let x = ctx.input(0);
        let (count, n) = rows(x.shape(), self.k)?;
        let xs = x.as_slice::<f32>()?;
        let (mut values, mut indices) = (Vec::with_capacity(count * self.k), vec![]);
        let mut order: Vec<usize> = Vec::with_capacity(n);
        for r in 0..count {
            let row = &xs[r * n..(r + 1) * n];
            order.clear();
            order.extend(0..n);
            // Stable: equal values keep index order.
            order.sort_by(|&a, &b| row[b].total_cmp(&row[a]));
            for &j in &order[..self.k] {
                values.push(row[j]);
                indices.push(j as i32);
            }
        }
        let mut shape = x.shape().to_vec();
        *shape.last_mut().unwrap_or(&mut 0) = self.k;
        Ok(vec![
            Value::new(&shape, values)?,
            Value::new(&shape, indices)?,
        ])
    }
    /// The values' upstream scattered to the selected positions, zeros elsewhere.
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let x = gc.x(0);
        let dx = add1(
            gc.graph,
            "TopKGrad",
            TopKGrad,
            &[gc.dy(0), gc.y(1), x],
            x.spec(),
        )?;
        Ok(vec![Some(dx)])
    }
    fn attrs(&self) -> String {
        format!("k={}, sorted=true", self.k)
    }
}

/// Inputs `(dvalues, indices, x)`: `dx` in `x`'s shape, each row's `dvalues` added at its
/// indices.
#[derive(Debug)]
pub struct TopKGrad;

impl Op for TopKGrad {
    fn op_type(&self) -> &'static str {
        "TopKGrad"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let (dv, ix, x) = (ctx.input(0), ctx.input(1), ctx.input(2));
        let k = dv.shape().last().copied().unwrap_or(0);
        let (count, n) = rows(x.shape(), k)?;
        let (g, idx) = (dv.as_slice::<f32>()?, ix.as_slice::<i32>()?);
        if g.len() != count * k || idx.len() != g.len() {
            return Err(Error::Kernel(format!(
                "TopKGrad: upstream {} and indices {} do not fit input {}",
                fmt_dims(dv.shape()),
                fmt_dims(ix.shape()),
                fmt_dims(x.shape())
            )));
        }
        let mut dx = vec![0f32; count * n];
        for (p, (&d, &j)) in g.iter().zip(idx).enumerate() {
            let j = usize::try_from(j).ok().filter(|&j| j < n).ok_or_else(|| {
                Error::Kernel(format!("TopKGrad: index {j} out of range [0, {n})"))
            })?;
            dx[(p / k.max(1)) * n + j] += d;
        }
        Ok(vec![Value::new(x.shape(), dx)?])
    }
}

/// The `k` largest entries of each row along the last axis, largest first, and their
/// indices as int32 (`tf.math.top_k(input, k, sorted=True)`; node `TopKV2`). Ties keep the
/// lower index first; the gradient goes to the selected positions.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{placeholder, top_k};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 5], "x");
/// let (values, indices) = top_k(&x, 2).unwrap();
/// assert_eq!(values.shape().to_string(), "[?,2]");
/// assert_eq!(indices.dtype(), DType::I32);
/// ```
pub fn top_k(input: &Tensor, k: usize) -> Result<(Tensor, Tensor)> {
    let g = input.graph();
    expect_dtype(g, "TopKV2", "TopKV2", input, &[DType::F32])?;
    let shape = match input.shape().dims() {
        None => Shape::unknown(),
        Some(d) => {
            let last = d.last().copied().flatten();
            if d.is_empty() || last.is_some_and(|n| n < k) {
                let msg = format!("input must have at least k = {k} columns");
                return Err(shape_error(g, "TopKV2", "TopKV2", msg, &[input]));
            }
            let mut d = d.to_vec();
            *d.last_mut().unwrap_or(&mut None) = Some(k);
            Shape::new(d)
        }
    };
    let op = add(
        g,
        "TopKV2",
        TopK { k },
        &[input],
        vec![
            TensorSpec::new(DType::F32, shape.clone()),
            TensorSpec::new(DType::I32, shape),
        ],
    )?;
    Ok((op.output(0)?, op.output(1)?))
}
