//! `strided_slice`: Python's `x[b:e:s, ..., tf.newaxis, i]` slicing, with TensorFlow's five
//! masks.

use crate::array::index_map::{IndexMap, Remap, Remapped};
use crate::util::{add1, shape_error};
use rustflow_graph::{fmt_dims, Dim, Error, Result, Shape, Tensor, TensorSpec};
use std::sync::Arc;

/// The masks of [`strided_slice`]: bit `i` refers to entry `i` of `begin`/`end`/`strides`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SliceMasks {
    /// Ignore `begin[i]`: start at the first element (the last one for a negative stride).
    pub begin: i64,
    /// Ignore `end[i]`: run to the end (the start for a negative stride).
    pub end: i64,
    /// Entry `i` is `...`: as many full dimensions as the other entries leave.
    pub ellipsis: i64,
    /// Entry `i` is `tf.newaxis`: a size-1 dimension (its begin/end/stride are ignored).
    pub new_axis: i64,
    /// Entry `i` is an index, not a range: the dimension is removed.
    pub shrink_axis: i64,
}

/// The `StridedSlice` op.
#[derive(Debug)]
pub struct StridedSlice {
    begin: Vec<i64>,
    end: Vec<i64>,
    strides: Vec<i64>,
    masks: SliceMasks,
}

/// Where an output dimension comes from.
#[derive(Clone, Copy, Debug)]
enum Out {
    /// The input dimension of this index.
    Dim(usize),
    /// A new size-1 dimension.
    NewAxis,
}

/// One input dimension's range: its first index, step and count (`None` when the dimension
/// is unknown).
type Range = Option<(i64, i64, usize)>;

impl StridedSlice {
    /// The range of every input dimension of `dims` and the output's dimensions (TensorFlow's
    /// `ValidateStridedSliceOp`), or the message of why the slice is invalid.
    fn resolve(&self, dims: &[Dim]) -> std::result::Result<(Vec<Range>, Vec<Out>), String> {
        let n = self.begin.len();
        let m = self.masks;
        if self.end.len() != n || self.strides.len() != n {
            return Err(format!(
                "Expected begin, end, and strides to be 1D equal size tensors, but got shapes [{n}], [{}], and [{}] instead.",
                self.end.len(),
                self.strides.len()
            ));
        }
        if n > 63 {
            return Err(format!("slice spec with {n} entries (at most 63)"));
        }
        if m.ellipsis.count_ones() > 1 {
            return Err("Multiple ellipses in slice spec not allowed".into());
        }
        let bit = |mask: i64, i: usize| mask >> i & 1 == 1;
        let mut ellipsis = m.ellipsis;
        let mut seen = false;
        let mut new_after = 0i64;
        for i in 0..n {
            if seen && bit(m.new_axis, i) {
                new_after += 1;
            }
            seen |= bit(ellipsis, i);
        }
        let sparse = if seen {
            n
        } else {
            ellipsis |= 1 << n;
            n + 1
        };
        let r = dims.len();
        let mut ranges = Vec::with_capacity(r);
        let mut out = vec![];
        let mut full = 0usize;
        for i in 0..sparse {
            if bit(ellipsis, i) {
                let next = (r as i64 - (sparse - i) as i64 + 1 + new_after).clamp(0, r as i64);
                for (d, dim) in dims.iter().enumerate().take(next as usize).skip(full) {
                    ranges.push(dim.map(|len| (0, 1, len)));
                    out.push(Out::Dim(d));
                }
                full = full.max(next as usize);
            } else if bit(m.new_axis, i) {
                out.push(Out::NewAxis);
            } else {
                if full == r {
                    return Err(format!(
                        "Index out of range using input dim {full}; input has only {r} dims"
                    ));
                }
                let (b, e, s) = (self.begin[i], self.end[i], self.strides[i]);
                let shrink = bit(m.shrink_axis, i);
                if s == 0 {
                    return Err(format!("strides[{i}] must be non-zero"));
                }
                if shrink && s < 0 {
                    return Err("only stride 1 allowed on non-range indexing.".into());
                }
                ranges.push(match dims[full] {
                    None => None,
                    Some(len) => Some(
                        range(
                            len as i64,
                            (b, e, s),
                            (bit(m.begin, i), bit(m.end, i), shrink),
                        )
                        .map_err(|msg| format!("{msg} (entry {i}, input dimension {full})"))?,
                    ),
                });
                if !shrink {
                    out.push(Out::Dim(full));
                }
                full += 1;
            }
        }
        Ok((ranges, out))
    }
}

/// The (first index, step, count) of one dimension of length `dim` for `begin:end:stride`
/// with the masks `(begin masked, end masked, shrink)`.
fn range(
    dim: i64,
    (begin, end, stride): (i64, i64, i64),
    (begin_masked, end_masked, shrink): (bool, bool, bool),
) -> std::result::Result<(i64, i64, usize), String> {
    if shrink {
        let b = if begin < 0 { dim + begin } else { begin };
        if b < 0 || b >= dim {
            return Err(format!("slice index {begin} out of bounds"));
        }
        return Ok((b, 1, 1));
    }
    // Indices a range may start or stop at: [0, dim] forwards, [-1, dim - 1] backwards.
    let (lo, hi) = if stride > 0 { (0, dim) } else { (-1, dim - 1) };
    let canonical = |x: i64, masked: bool, is_end: bool| {
        if masked {
            return if (stride > 0) != is_end { lo } else { hi };
        }
        let x = if x < 0 { dim + x } else { x };
        x.clamp(lo, hi)
    };
    let b = canonical(begin, begin_masked, false);
    let e = canonical(end, end_masked, true);
    let len = e - b;
    let count = if len == 0 || (len < 0) != (stride < 0) {
        0
    } else {
        (len / stride + i64::from(len % stride != 0)) as usize
    };
    Ok((b, stride, count))
}

impl IndexMap for StridedSlice {
    fn op_type(&self) -> &'static str {
        "StridedSlice"
    }
    fn grad_type(&self) -> &'static str {
        "StridedSliceGrad"
    }
    fn remap(&self, shape: &[usize]) -> Result<Remap> {
        let dims: Vec<Dim> = shape.iter().map(|&d| Some(d)).collect();
        let (ranges, out) = self
            .resolve(&dims)
            .map_err(|m| Error::Kernel(format!("{m} (input shape {})", fmt_dims(shape))))?;
        let (b, s, c): (Vec<i64>, Vec<i64>, Vec<usize>) = ranges.iter().flatten().fold(
            (vec![], vec![], vec![]),
            |(mut b, mut s, mut c), &(x, y, z)| {
                b.push(x);
                s.push(y);
                c.push(z);
                (b, s, c)
            },
        );
        Ok(Remap {
            dims: (0..c.len())
                .map(|d| {
                    (0..c[d])
                        .map(|k| Some((b[d] + k as i64 * s[d]) as usize))
                        .collect()
                })
                .collect(),
            shape: out
                .iter()
                .map(|o| match o {
                    Out::Dim(d) => c[*d],
                    Out::NewAxis => 1,
                })
                .collect(),
        })
    }
    fn apply(&self, x: &Tensor) -> Result<Tensor> {
        build(
            x,
            self.begin.clone(),
            self.end.clone(),
            self.strides.clone(),
            self.masks,
        )
    }
}

fn build(
    x: &Tensor,
    begin: Vec<i64>,
    end: Vec<i64>,
    strides: Vec<i64>,
    masks: SliceMasks,
) -> Result<Tensor> {
    let g = x.graph();
    let op = StridedSlice {
        begin,
        end,
        strides,
        masks,
    };
    let shape = match x.shape().dims() {
        None => Shape::unknown(),
        Some(dims) => {
            let (ranges, out) = op
                .resolve(dims)
                .map_err(|m| shape_error(g, "strided_slice", "StridedSlice", m, &[x]))?;
            Shape::new(
                out.iter()
                    .map(|o| match o {
                        Out::Dim(d) => ranges[*d].map(|r| r.2),
                        Out::NewAxis => Some(1),
                    })
                    .collect(),
            )
        }
    };
    add1(
        g,
        "strided_slice",
        Remapped(Arc::new(op)),
        &[x],
        TensorSpec::new(x.dtype(), shape),
    )
}

/// `x[begin:end:strides]` with TensorFlow's masks (`tf.strided_slice`; op `StridedSlice`):
/// negative bounds count from the end, negative strides walk backwards, and the masks give
/// `:` (begin/end), `...` (ellipsis), `tf.newaxis` and plain indices (shrink_axis). The
/// gradient scatters the upstream back (`StridedSliceGrad`).
///
/// ```
/// use rustflow_graph::{shape, DType, Graph};
/// use rustflow_ops::{placeholder, strided_slice, SliceMasks};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 5], "x");
/// // x[:, 4::-2]
/// let m = SliceMasks { begin: 1, end: 3, ..Default::default() };
/// let y = strided_slice(&x, &[0, 4], &[0, 0], &[1, -2], m).unwrap();
/// assert_eq!(y.shape().to_string(), "[?,3]");
/// // x[..., 1, tf.newaxis]
/// let m = SliceMasks { ellipsis: 1, shrink_axis: 2, new_axis: 4, ..Default::default() };
/// let y = strided_slice(&x, &[0, 1, 0], &[0, 2, 0], &[1, 1, 1], m).unwrap();
/// assert_eq!(y.shape().to_string(), "[?,1]");
/// let m = SliceMasks { shrink_axis: 2, ..Default::default() };
/// assert!(strided_slice(&x, &[0, 5], &[0, 6], &[1, 1], m).is_err());
/// ```
pub fn strided_slice(
    x: &Tensor,
    begin: &[i64],
    end: &[i64],
    strides: &[i64],
    masks: SliceMasks,
) -> Result<Tensor> {
    build(x, begin.to_vec(), end.to_vec(), strides.to_vec(), masks)
}
