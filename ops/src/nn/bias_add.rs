//! `bias_add`: adds a bias vector along the last dimension.

use crate::math::binary::{binary_capability, BinaryKind};
use crate::nn::bias_add_grad::bias_add_grad;
use crate::util::{add1, expect_dtype, same_dtype, shape_error};
use rustflow_graph::{
    fmt_dims, Capability, DType, Error, GradContext, KernelContext, Op, Result, Tensor, Value,
};

/// The `BiasAdd` op (NHWC: the bias runs along the last dimension).
#[derive(Debug)]
pub struct BiasAdd;

impl Op for BiasAdd {
    fn op_type(&self) -> &'static str {
        "BiasAdd"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let (v, b) = (ctx.input(0), ctx.input(1));
        let c = match (v.shape(), b.shape()) {
            (s, &[c]) if s.len() >= 2 && s.last() == Some(&c) => c,
            _ => {
                return Err(Error::Kernel(format!(
                    "Must provide as many biases as the last dimension of the input tensor: value {}, bias {}",
                    fmt_dims(v.shape()),
                    fmt_dims(b.shape())
                )))
            }
        };
        let bias = ctx.input(1).as_slice::<f32>()?.to_vec();
        // Writes into the value's buffer when nothing else holds it.
        let mut out = ctx.take_input(0);
        if c > 0 {
            for row in out.data_mut::<f32>()?.chunks_exact_mut(c) {
                for (x, &y) in row.iter_mut().zip(&bias) {
                    *x += y;
                }
            }
        }
        Ok(vec![out])
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        let dy = gc.dy(0);
        Ok(vec![Some(dy.clone()), Some(bias_add_grad(dy)?)])
    }
    /// `Add`'s: the fusion pass checks that the bias runs along the value's last dimension.
    fn capability(&self) -> Capability {
        binary_capability(BinaryKind::Add)
    }
}

/// `value + bias`, with `bias` (`[C]`) added along the last dimension of `value` (rank at
/// least 2, last dimension `C`) (`tf.nn.bias_add`; node name `BiasAdd`). The gradient is the
/// upstream value for `value`, and its sum over every dimension but the last for `bias`.
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::nn::bias_add;
/// use rustflow_ops::placeholder;
/// let g = Graph::new();
/// let h = placeholder(&g, DType::F32, shape![?, 28, 28, 32], "h");
/// let b = placeholder(&g, DType::F32, shape![32], "b");
/// assert_eq!(bias_add(&h, &b).unwrap().shape().to_string(), "[?,28,28,32]");
/// let b10 = placeholder(&g, DType::F32, shape![10], "b10");
/// assert!(bias_add(&h, &b10).is_err());
/// ```
pub fn bias_add(value: &Tensor, bias: &Tensor) -> Result<Tensor> {
    let name = "BiasAdd";
    let g = value.graph();
    g.check_owns(bias.graph(), &bias.to_string())?;
    expect_dtype(g, name, name, value, &[DType::F32])?;
    same_dtype(g, name, name, &[value, bias])?;
    let err = |msg: String| shape_error(g, name, name, msg, &[value, bias]);
    let (vs, bs) = (value.shape(), bias.shape());
    if let Some(r) = vs.rank() {
        if r < 2 {
            return Err(err(format!(
                "Shape must be at least rank 2 but is rank {r}"
            )));
        }
    }
    if let Some(r) = bs.rank() {
        if r != 1 {
            return Err(err(format!("Shape must be rank 1 but is rank {r}")));
        }
    }
    let mut spec = value.spec();
    if let Some(dims) = vs.dims() {
        let last = dims[dims.len() - 1];
        match (last, bs.dim(0)) {
            (Some(a), Some(b)) if a != b => {
                return Err(err(format!(
                    "Dimensions must be equal, but are {a} and {b}"
                )));
            }
            (None, Some(b)) => {
                let mut d = dims.to_vec();
                let n = d.len();
                d[n - 1] = Some(b);
                spec.shape = rustflow_graph::Shape::new(d);
            }
            _ => {}
        }
    }
    add1(g, name, BiasAdd, &[value, bias], spec)
}
