//! `summary::image`: a batch of images, encoded as PNG.

use super::{add_summary, output, pb, tag};
use rustflow_graph::{
    fmt_dims, not_differentiable, DType, Error, GradContext, KernelContext, Op, Result, Tensor,
    Value,
};

/// The `ImageSummary` op: inputs the tag and a `[batch, height, width, channels]` float
/// tensor (1, 3 or 4 channels); the first `max_images` images become PNGs.
#[derive(Debug)]
pub struct ImageSummary {
    max_images: usize,
}

impl Op for ImageSummary {
    fn op_type(&self) -> &'static str {
        "ImageSummary"
    }
    fn compute(&self, ctx: &mut KernelContext<'_>) -> Result<Vec<Value>> {
        let tag = tag(ctx)?;
        let x = ctx.input(1);
        let &[n, h, w, c] = x.shape() else {
            return Err(Error::Kernel(format!(
                "Tensor must be 4-D with last dim 1, 3, or 4, not {}",
                fmt_dims(x.shape())
            )));
        };
        let colorspace = match c {
            1 => png::ColorType::Grayscale,
            3 => png::ColorType::Rgb,
            4 => png::ColorType::Rgba,
            _ => {
                return Err(Error::Kernel(format!(
                    "Tensor must be 4-D with last dim 1, 3, or 4, not {}",
                    fmt_dims(x.shape())
                )))
            }
        };
        let pixels = x.as_slice::<f32>()?;
        let size = h * w * c;
        let count = n.min(self.max_images);
        let values = (0..count)
            .map(|i| {
                let bytes = to_u8(&pixels[i * size..(i + 1) * size], c);
                let encoded = encode_png(&bytes, w, h, colorspace)?;
                Ok(pb::summary::Value {
                    tag: if self.max_images == 1 {
                        format!("{tag}/image")
                    } else {
                        format!("{tag}/image/{i}")
                    },
                    value: Some(pb::summary::value::Value::Image(pb::summary::Image {
                        height: h as i32,
                        width: w as i32,
                        colorspace: c as i32,
                        encoded_image_string: encoded,
                    })),
                    ..Default::default()
                })
            })
            .collect::<Result<_>>()?;
        output(values)
    }
    fn gradient(&self, gc: &GradContext<'_>) -> Result<Vec<Option<Tensor>>> {
        not_differentiable(gc)
    }
    fn attrs(&self) -> String {
        format!("max_images={}", self.max_images)
    }
}

/// One image's floats as bytes, as TensorFlow scales them: all non-negative, scaled so the
/// largest is 255; otherwise scaled by the largest magnitude so that 0 is 128. Values that are
/// not finite become TensorFlow's `bad_color`, red.
fn to_u8(image: &[f32], channels: usize) -> Vec<u8> {
    let finite = image.iter().copied().filter(|v| v.is_finite());
    let (lo, hi) = finite.fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    });
    const ZERO: f32 = 1e-6;
    let (scale, offset) = if lo < 0.0 {
        let m = lo.abs().max(hi.abs());
        (if m < ZERO { 0.0 } else { 127.0 / m }, 128.0)
    } else {
        (if hi < ZERO { 0.0 } else { 255.0 / hi }, 0.0)
    };
    let bad = [255u8, 0, 0, 255];
    image
        .chunks(channels)
        .flat_map(|px| {
            let ok = px.iter().all(|v| v.is_finite());
            px.iter().enumerate().map(move |(k, &v)| {
                if ok {
                    (v * scale + offset) as u8
                } else {
                    bad[if channels == 1 { 0 } else { k }]
                }
            })
        })
        .collect()
}

fn encode_png(bytes: &[u8], w: usize, h: usize, color: png::ColorType) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    let err = |e: png::EncodingError| Error::Kernel(format!("PNG encoding failed: {e}"));
    let mut enc = png::Encoder::new(&mut out, w as u32, h as u32);
    enc.set_color(color);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().map_err(err)?;
    writer.write_image_data(bytes).map_err(err)?;
    writer.finish().map_err(err)?;
    Ok(out)
}

/// An image summary of the first `max_outputs` images of `x`, a `[batch, height, width,
/// channels]` float32 tensor with 1 (grayscale), 3 (RGB) or 4 (RGBA) channels, tagged
/// `name/image/0`, `name/image/1`, ... (`name/image` when `max_outputs` is 1)
/// (`tf.compat.v1.summary.image`; node `ImageSummary`). Each image is scaled to bytes as
/// TensorFlow does.
///
/// ```
/// use rustflow_graph::{DType, Graph, shape};
/// use rustflow_ops::{placeholder, summary};
/// let g = Graph::new();
/// let x = placeholder(&g, DType::F32, shape![?, 28, 28, 1], "x");
/// let s = summary::image("input", &x, 3).unwrap();
/// assert_eq!(s.op().op_type(), "ImageSummary");
/// ```
pub fn image(name: &str, x: &Tensor, max_outputs: usize) -> Result<Tensor> {
    let g = x.graph();
    let shape = x.shape();
    let channels_ok = shape
        .dims()
        .is_none_or(|d| d.len() == 4 && d[3].is_none_or(|c| matches!(c, 1 | 3 | 4)));
    if x.dtype() != DType::F32 || !channels_ok || max_outputs == 0 {
        return Err(Error::InvalidArgument {
            node: g.peek_unique_name(name),
            op: "ImageSummary".into(),
            msg: format!(
                "an image summary takes a float32 [batch, height, width, 1|3|4] tensor and \
                 max_outputs >= 1, got {} {shape} and max_outputs {max_outputs}",
                x.dtype()
            ),
        });
    }
    add_summary(
        x,
        name,
        ImageSummary {
            max_images: max_outputs,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::to_u8;

    #[test]
    fn floats_scale_as_tensorflow_scales_them() {
        assert_eq!(to_u8(&[0.0, 0.5, 1.0], 1), [0, 127, 255]);
        assert_eq!(to_u8(&[-1.0, 0.0, 0.5], 1), [1, 128, 191]);
        assert_eq!(to_u8(&[0.0, 0.0], 1), [0, 0]);
        // The bad pixel is red; the finite values still set the scale (2 is the largest).
        assert_eq!(
            to_u8(&[f32::NAN, 2.0, 0.0, 1.0, 1.0, 1.0], 3),
            [255, 0, 0, 127, 127, 127]
        );
    }
}
