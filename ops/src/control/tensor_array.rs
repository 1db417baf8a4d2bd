//! `TensorArray`: a list of same-shaped tensors that loops read and write by index, held as
//! one tensor whose first axis is the index (TensorFlow's `TensorArrayV3` in its flow form).

use super::ta_gather::gather_rows;
use super::ta_scatter::scatter_rows;
use crate::util::add1;
use crate::{constant, Const};
use rustflow_graph::{
    not_differentiable, DType, Error, GradContext, KernelContext, Op, Result, Shape, Tensor,
    TensorSpec, Value,
};

/// `TensorArrayV3`: zeros of shape `[size] + element_shape`, the element shape taken from the
/// attribute or, with a second input, from that tensor's shape at run time.
#[derive(Debug)]
struct Create {
    dtype: DType,
    element_shape: Vec<usize>,
}

impl Op for Create {
    fn op_type(&self) -> &'static str {
        "TensorArrayV3"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let size = ctx.input(0);
        let size = match size.dtype() {
            DType::I64 => size.scalar_value::<i64>()?,
            _ => i64::from(size.scalar_value::<i32>()?),
        };
        let size = usize::try_from(size)
            .map_err(|_| Error::Kernel(format!("a TensorArray of size {size}")))?;
        let mut shape = vec![size];
        match ctx.inputs.get(1) {
            Some(like) => shape.extend_from_slice(like.shape()),
            None => shape.extend_from_slice(&self.element_shape),
        }
        Ok(vec![match self.dtype {
            DType::I32 => Value::filled(&shape, 0i32)?,
            DType::I64 => Value::filled(&shape, 0i64)?,
            DType::Bool => Value::filled(&shape, false)?,
            _ => Value::filled(&shape, 0f32)?,
        }])
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        not_differentiable(gc)
    }
}

/// A TensorArray (`tf.TensorArray`): `size` elements of one shape, written and read by
/// index, in or out of loops. It is a value: `write` and `scatter` return the array after
/// the write (use that one from then on, as TensorFlow's `ta = ta.write(i, x)`), and its
/// [`flow`](TensorArray::flow) tensor is what a `while_loop` carries as a loop variable.
/// Gradients flow through reads and writes.
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{constant, TensorArray};
/// let g = Graph::new();
/// let ta = TensorArray::new(&constant(&g, 3i32, "n"), rustflow_graph::DType::F32, &[2]).unwrap();
/// let ta = ta.write(&constant(&g, 1i32, "i"), &constant(&g, [1.0f32, 2.0], "v")).unwrap();
/// assert_eq!(ta.stack().shape().to_string(), "[3,2]");
/// ```
#[derive(Clone, Debug)]
pub struct TensorArray {
    flow: Tensor,
}

impl TensorArray {
    /// `size` (an int scalar tensor) elements of dtype `dtype` and shape `element_shape`,
    /// all zeros until written.
    pub fn new(size: &Tensor, dtype: DType, element_shape: &[usize]) -> Result<TensorArray> {
        check_size(size)?;
        let mut shape = vec![constant_dim(size)];
        shape.extend(element_shape.iter().map(|&d| Some(d)));
        let flow = add1(
            size.graph(),
            "TensorArray",
            Create {
                dtype,
                element_shape: element_shape.to_vec(),
            },
            &[size],
            TensorSpec::new(dtype, Shape::new(shape)),
        )?;
        Ok(TensorArray { flow })
    }

    /// `size` elements shaped like `element` (its shape at run time; dims unknown at build
    /// time stay unknown), all zeros until written.
    pub fn like(size: &Tensor, element: &Tensor) -> Result<TensorArray> {
        check_size(size)?;
        let shape = match element.shape().dims() {
            Some(d) => Shape::new(
                std::iter::once(constant_dim(size))
                    .chain(d.iter().copied())
                    .collect(),
            ),
            None => Shape::unknown(),
        };
        let flow = add1(
            size.graph(),
            "TensorArray",
            Create {
                dtype: element.dtype(),
                element_shape: vec![],
            },
            &[size, element],
            TensorSpec::new(element.dtype(), shape),
        )?;
        Ok(TensorArray { flow })
    }

    /// The array whose elements are the slices of `value` along its first axis
    /// (`ta.unstack(value)`).
    pub fn unstack(value: &Tensor) -> Result<TensorArray> {
        if value.shape().rank() == Some(0) {
            return Err(Error::InvalidArgument {
                node: value.op().name(),
                op: "TensorArrayUnstack".into(),
                msg: format!("cannot unstack the scalar {}", value.name()),
            });
        }
        Ok(TensorArray {
            flow: value.clone(),
        })
    }

    /// The array carried by `flow` (a loop variable that was [`TensorArray::flow`]).
    pub fn from_flow(flow: &Tensor) -> TensorArray {
        TensorArray { flow: flow.clone() }
    }

    /// The tensor that holds the elements, stacked along the first axis.
    pub fn flow(&self) -> &Tensor {
        &self.flow
    }

    /// Element `index` (an int scalar tensor).
    pub fn read(&self, index: &Tensor) -> Result<Tensor> {
        gather_rows(&self.flow, index)
    }

    /// The elements at `indices` (an int vector), stacked.
    pub fn gather(&self, indices: &Tensor) -> Result<Tensor> {
        gather_rows(&self.flow, indices)
    }

    /// The array with element `index` set to `value`.
    pub fn write(&self, index: &Tensor, value: &Tensor) -> Result<TensorArray> {
        Ok(TensorArray {
            flow: scatter_rows(&self.flow, index, value, false)?,
        })
    }

    /// The array with the elements at `indices` set to the slices of `value`.
    pub fn scatter(&self, indices: &Tensor, value: &Tensor) -> Result<TensorArray> {
        self.write(indices, value)
    }

    /// Every element, stacked along a new first axis (`ta.stack()`).
    pub fn stack(&self) -> Tensor {
        self.flow.clone()
    }

    /// The number of elements, an int32 scalar (`ta.size()`).
    pub fn size(&self) -> Result<Tensor> {
        let g = self.flow.graph();
        match self.flow.shape().dim(0) {
            Some(n) => Ok(constant(g, n as i32, "TensorArraySize")),
            None => add1(
                g,
                "TensorArraySize",
                Size,
                &[&self.flow],
                TensorSpec::new(DType::I32, Shape::scalar()),
            ),
        }
    }
}

fn check_size(size: &Tensor) -> Result<()> {
    if !matches!(size.dtype(), DType::I32 | DType::I64)
        || size.shape().rank().is_some_and(|r| r != 0)
    {
        return Err(Error::InvalidArgument {
            node: size.graph().peek_unique_name("TensorArray"),
            op: "TensorArrayV3".into(),
            msg: format!(
                "size must be an int scalar, got {} {}",
                size.dtype(),
                size.shape()
            ),
        });
    }
    Ok(())
}

/// `TensorArraySizeV3`: the length of the flow's first axis.
#[derive(Debug)]
struct Size;

impl Op for Size {
    fn op_type(&self) -> &'static str {
        "TensorArraySizeV3"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let n = ctx.input(0).shape().first().copied().unwrap_or(0);
        Ok(vec![Value::scalar(i32::try_from(n).map_err(|_| {
            Error::Kernel(format!("a TensorArray of {n} elements"))
        })?)])
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        not_differentiable(gc)
    }
}

/// The value of `size` when it is a constant (the first axis' static length), else unknown.
fn constant_dim(size: &Tensor) -> Option<usize> {
    let n = size.graph().with_node(size.node(), |d| {
        let c = d.op.as_any().downcast_ref::<Const>()?;
        match c.value().dtype() {
            DType::I64 => c.value().scalar_value::<i64>().ok(),
            _ => c.value().scalar_value::<i32>().ok().map(i64::from),
        }
    })?;
    usize::try_from(n).ok()
}
