//! The padding schemes of sliding windows (convolution, pooling) and the run-time geometry
//! of a window over an NHWC tensor.

use rustflow_graph::Dim;
use std::fmt;
use std::str::FromStr;

/// How a sliding window treats the borders (TensorFlow's `padding="SAME"` / `"VALID"`).
///
/// ```
/// use rustflow_ops::nn::Padding;
/// assert_eq!("SAME".parse::<Padding>().unwrap(), Padding::Same);
/// assert_eq!("VALID".parse::<Padding>().unwrap(), Padding::Valid);
/// assert!("same_ish".parse::<Padding>().is_err());
/// // 28 wide, window 5, stride 1, SAME: 28 out, 2 pixels of padding on each side.
/// assert_eq!(Padding::Same.output_size(28, 5, 1), Ok((28, 2)));
/// // 7 wide, window 2, stride 2, SAME: 4 out, the odd padded pixel goes right.
/// assert_eq!(Padding::Same.output_size(7, 2, 2), Ok((4, 0)));
/// assert_eq!(Padding::Valid.output_size(28, 5, 2), Ok((12, 0)));
/// assert!(Padding::Valid.output_size(3, 5, 1).is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Padding {
    /// Pad so that `out = ceil(in / stride)`; the padding is split evenly, any odd pixel
    /// going to the bottom/right.
    Same,
    /// No padding: only windows that fit entirely, `out = (in - k) / stride + 1`.
    Valid,
}

impl Padding {
    /// The output size along one spatial dimension and the padding before it (top or left),
    /// or why the window does not fit (`k` or `stride` of 0, or a VALID window larger than
    /// the input).
    pub fn output_size(
        self,
        input: usize,
        k: usize,
        stride: usize,
    ) -> Result<(usize, usize), String> {
        if k == 0 {
            return Err("window sizes must be positive, got 0".into());
        }
        if stride == 0 {
            return Err("strides must be positive, got 0".into());
        }
        match self {
            Padding::Same => {
                let out = input.div_ceil(stride);
                let needed = (out.saturating_sub(1))
                    .saturating_mul(stride)
                    .saturating_add(k);
                let total = needed.saturating_sub(input);
                Ok((out, total / 2))
            }
            Padding::Valid => {
                if k > input {
                    Err(format!(
                        "the window ({k}) is larger than the input ({input}) under VALID padding"
                    ))
                } else {
                    Ok(((input - k) / stride + 1, 0))
                }
            }
        }
    }

    /// [`Padding::output_size`] on a possibly unknown static dimension.
    pub(crate) fn static_size(self, input: Dim, k: usize, stride: usize) -> Result<Dim, String> {
        match input {
            Some(i) => self.output_size(i, k, stride).map(|(o, _)| Some(o)),
            None => self.output_size(usize::MAX, k, stride).map(|_| None),
        }
    }

    /// TensorFlow's spelling: `SAME` or `VALID`.
    pub fn as_str(self) -> &'static str {
        match self {
            Padding::Same => "SAME",
            Padding::Valid => "VALID",
        }
    }
}

impl fmt::Display for Padding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Padding {
    type Err = String;
    /// `"SAME"` or `"VALID"` (exactly, as TensorFlow requires).
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "SAME" => Ok(Padding::Same),
            "VALID" => Ok(Padding::Valid),
            _ => Err(format!("padding must be \"SAME\" or \"VALID\", got {s:?}")),
        }
    }
}

/// The geometry of a 2-D sliding window over an NHWC tensor, resolved at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Window {
    /// Batch.
    pub n: usize,
    /// Input height, width, channels.
    pub h: usize,
    pub w: usize,
    pub c: usize,
    /// Window height and width.
    pub kh: usize,
    pub kw: usize,
    /// Strides along height and width.
    pub sh: usize,
    pub sw: usize,
    /// Output height and width.
    pub oh: usize,
    pub ow: usize,
    /// Padding above and to the left.
    pub pad_top: usize,
    pub pad_left: usize,
}

impl Window {
    /// The geometry of a window `kh x kw` with strides `sh, sw` over an `[n, h, w, c]` input.
    pub fn new(
        input: &[usize],
        (kh, kw): (usize, usize),
        (sh, sw): (usize, usize),
        padding: Padding,
    ) -> Result<Window, String> {
        let &[n, h, w, c] = input else {
            return Err(format!(
                "input must be 4-dimensional (NHWC), got rank {}",
                input.len()
            ));
        };
        let (oh, pad_top) = padding
            .output_size(h, kh, sh)
            .map_err(|e| format!("rows: {e}"))?;
        let (ow, pad_left) = padding
            .output_size(w, kw, sw)
            .map_err(|e| format!("cols: {e}"))?;
        Ok(Window {
            n,
            h,
            w,
            c,
            kh,
            kw,
            sh,
            sw,
            oh,
            ow,
            pad_top,
            pad_left,
        })
    }

    /// The input rows (or columns) `[lo, hi)` of window tap positions `0..k` that fall inside
    /// the input for output position `o`, as tap indices: taps `t` in `lo..hi` read input
    /// `o * s + t - pad`.
    #[inline]
    pub fn taps(o: usize, s: usize, pad: usize, k: usize, size: usize) -> (usize, usize) {
        let start = o * s; // input index of tap t is start + t - pad
        let lo = pad.saturating_sub(start);
        let hi = (size + pad).saturating_sub(start).min(k);
        (lo.min(hi), hi)
    }
}
