//! `concat`: tensors glued along an axis.

use crate::array::common::{build_axis, concat_values, run_axis};
use crate::array::split::split_like;
use crate::util::{add1, arg_error, same_dtype, shape_error};
use rustflow_graph::{
    Dim, GradContext, KernelContext, Op, Result, Shape, Tensor, TensorSpec, Value,
};

/// The `ConcatV2` op; `axis` may be negative.
#[derive(Debug)]
pub struct Concat {
    axis: i64,
}

impl Op for Concat {
    fn op_type(&self) -> &'static str {
        "ConcatV2"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let values: Vec<&Value> = ctx.inputs.iter().collect();
        let axis = run_axis(self.axis, values[0].shape())?;
        let shapes: Vec<Vec<usize>> = values.iter().map(|v| v.shape().to_vec()).collect();
        Ok(vec![concat_values("ConcatOp", &values, &shapes, axis)?])
    }
    /// The upstream cut into pieces shaped like the inputs (at run time).
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let likes: Vec<&Tensor> = gc.inputs.iter().collect();
        Ok(split_like(gc.dy(0), self.axis, &likes)?
            .into_iter()
            .map(Some)
            .collect())
    }
    fn attrs(&self) -> String {
        format!("axis={}", self.axis)
    }
}

/// The static shape of `shapes` stacked along `axis` (each with its own size there), when
/// they agree elsewhere; `Err` carries TensorFlow's message.
pub(crate) fn merged_shape(
    shapes: &[Shape],
    axis: usize,
    axis_size: impl Fn(Dim) -> Dim,
) -> std::result::Result<Vec<Dim>, String> {
    let mut out: Option<Vec<Dim>> = None;
    let mut total: Dim = Some(0);
    for s in shapes {
        let Some(dims) = s.dims() else {
            total = None;
            continue;
        };
        total = match (total, axis_size(dims[axis])) {
            (Some(t), Some(d)) => Some(t + d),
            _ => None,
        };
        out = Some(match out {
            None => dims.to_vec(),
            Some(prev) => prev
                .iter()
                .zip(dims)
                .enumerate()
                .map(|(i, (&a, &b))| match (a, b) {
                    _ if i == axis => Ok(a),
                    (Some(a), Some(b)) if a != b => Err(format!(
                        "Dimension {i} in both shapes must be equal, but are {a} and {b}. Shapes are {} and {s}.",
                        Shape::new(prev.clone())
                    )),
                    (Some(a), _) | (_, Some(a)) => Ok(Some(a)),
                    _ => Ok(None),
                })
                .collect::<std::result::Result<_, _>>()?,
        });
    }
    let mut out = out.unwrap_or_default();
    out[axis] = total;
    Ok(out)
}

/// The ranks of `values`, which must agree where known; `Err` carries TensorFlow's message.
pub(crate) fn common_rank(values: &[&Tensor]) -> std::result::Result<Option<usize>, String> {
    let mut rank = None;
    for v in values {
        match (rank, v.shape().rank()) {
            (Some(r), Some(q)) if r != q => {
                return Err(format!("Shape must be rank {r} but is rank {q}"))
            }
            (None, q) => rank = q,
            _ => {}
        }
    }
    Ok(rank)
}

/// `values` glued along `axis` (`tf.concat(values, axis)`; node `concat`, op `ConcatV2`). All
/// must have one dtype and rank and agree on every dimension but `axis`, which may be
/// negative.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{concat, placeholder};
/// let g = Graph::new();
/// let a = placeholder(&g, DType::F32, shape![?, 3], "a");
/// let b = placeholder(&g, DType::F32, shape![?, 2], "b");
/// assert_eq!(concat(&[&a, &b], -1).unwrap().shape().to_string(), "[?,5]");
/// assert!(concat(&[&a, &b], 0).is_err());
/// ```
pub fn concat(values: &[&Tensor], axis: i64) -> Result<Tensor> {
    let Some(first) = values.first() else {
        return Err(rustflow_graph::Error::Kernel(
            "concat needs at least one value".into(),
        ));
    };
    let g = first.graph();
    for v in values {
        g.check_owns(v.graph(), &v.to_string())?;
    }
    let dtype = same_dtype(g, "concat", "ConcatV2", values)?;
    let err = |m: String| shape_error(g, "concat", "ConcatV2", m, values);
    let rank = common_rank(values).map_err(err)?;
    if rank == Some(0) {
        return Err(arg_error(
            g,
            "concat",
            "ConcatV2",
            "Can't concatenate scalars (use tf.stack instead)".into(),
        ));
    }
    let shape = match build_axis(g, "concat", "ConcatV2", axis, rank, values)? {
        None => Shape::unknown(),
        Some(a) => {
            let shapes: Vec<Shape> = values.iter().map(|v| v.shape()).collect();
            Shape::new(merged_shape(&shapes, a, |d| d).map_err(err)?)
        }
    };
    add1(
        g,
        "concat",
        Concat { axis },
        values,
        TensorSpec::new(dtype, shape),
    )
}
