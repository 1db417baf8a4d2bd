//! What a fused kernel applies to its product before storing it: element-wise steps in the
//! chain's order, each a function of the value (an activation) or of the value and another
//! input (a bias per channel, a scale, a mask), exactly as the separate ops.

use rustflow_graph::{fmt_dims, Elementwise, ElementwiseBinary, Error, Result, Value};

/// One step of an epilogue.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Step {
    /// An element-wise function of the value.
    Map(Elementwise),
    /// A function of the value and the next operand (the fused op's inputs after the
    /// producer's, in order); the value is the second argument when `swapped`.
    Binary { f: ElementwiseBinary, swapped: bool },
}

/// The steps, in order.
#[derive(Clone, Debug, Default)]
pub(crate) struct Epilogue {
    pub steps: Vec<Step>,
}

/// A binary step's other input as it runs: its elements, and whether it has the value's
/// whole shape (else it repeats along the value: a scalar or a vector per channel).
pub(crate) struct Operand<'a> {
    data: &'a [f32],
    whole: bool,
}

impl Epilogue {
    /// The binary steps' operands, the fused op's last inputs, checked against the value's
    /// run-time shape `shape`: each a scalar, a vector along the last dimension, or of the
    /// value's shape (the shapes the plan fused for).
    pub fn operands<'a>(&self, inputs: &'a [Value], shape: &[usize]) -> Result<Vec<Operand<'a>>> {
        let n = self
            .steps
            .iter()
            .filter(|s| matches!(s, Step::Binary { .. }))
            .count();
        let channels = shape.last().copied().unwrap_or(1);
        inputs[inputs.len() - n..]
            .iter()
            .map(|v| {
                let whole = v.shape() == shape;
                let scalar = v.len() == 1 && v.shape().len() <= shape.len();
                if !(whole || scalar || v.shape() == [channels]) {
                    return Err(Error::Kernel(format!(
                        "a fused operand of shape {} must be a scalar, [{channels}] or of the \
                         value's shape {}",
                        fmt_dims(v.shape()),
                        fmt_dims(shape)
                    )));
                }
                Ok(Operand {
                    data: v.as_slice()?,
                    whole,
                })
            })
            .collect()
    }

    /// Applies the steps in place to `out`, the value's elements from `offset` on (whole
    /// rows), with the [`Epilogue::operands`].
    pub fn apply(&self, operands: &[Operand<'_>], out: &mut [f32], offset: usize) {
        let mut next = operands.iter();
        for step in &self.steps {
            match *step {
                Step::Map(f) => (f.apply)(out),
                Step::Binary { f, swapped } => {
                    let Some(o) = next.next() else { return };
                    let other = if o.whole {
                        &o.data[offset..offset + out.len()]
                    } else {
                        o.data
                    };
                    (f.apply)(out, other, swapped);
                }
            }
        }
    }

    /// Whether max pooling commutes with the steps: each never decreases in the value, and
    /// each operand is the same across a window (a scalar or per channel).
    pub fn monotone(&self, operands: &[Operand<'_>]) -> bool {
        let mut next = operands.iter();
        self.steps.iter().all(|step| match *step {
            Step::Map(f) => f.monotone,
            Step::Binary { f, swapped } => {
                f.monotone[usize::from(swapped)] && next.next().is_some_and(|o| !o.whole)
            }
        })
    }
}
