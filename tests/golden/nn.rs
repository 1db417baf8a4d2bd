//! Golden cases of nn ops (convolution variants, normalization, cross-entropies, embedding_lookup, ...).

use super::*;

fn attr_f32(c: &Case, k: &str) -> rustflow::Result<f32> {
    c.attrs[k]
        .as_f64()
        .map(|v| v as f32)
        .ok_or_else(|| rustflow::Error::Kernel(format!("{}: no attribute {k}", c.name)))
}

/// Builds the case's op on the placeholders `x` (named after its inputs); `None` when the
/// op is not one of this module's.
pub fn build(c: &Case, g: &Graph, x: &BTreeMap<String, Tensor>) -> rustflow::Result<Option<Built>> {
    let _ = g;
    let i = |k: &str| &x[k];
    let y = |t: Tensor| Ok(Some(vec![("y".to_string(), t)]));
    match c.op.as_str() {
        "sigmoid_cross_entropy_with_logits" => y(nn::sigmoid_cross_entropy_with_logits(
            i("labels"),
            i("logits"),
        )?),
        "weighted_cross_entropy_with_logits" => y(nn::weighted_cross_entropy_with_logits(
            i("labels"),
            i("logits"),
            attr_f32(c, "pos_weight")?,
        )?),
        "moments" => {
            let axes = attr_i64s(c, "axes").unwrap_or_default();
            let keep = c.attrs["keepdims"].as_bool().unwrap_or(false);
            let (mean, variance) = nn::moments(i("x"), axes, keep)?;
            Ok(Some(vec![
                ("mean".into(), mean),
                ("variance".into(), variance),
            ]))
        }
        "batch_normalization" => y(nn::batch_normalization(
            i("x"),
            i("mean"),
            i("variance"),
            x.get("offset"),
            x.get("scale"),
            attr_f32(c, "variance_epsilon")?,
        )?),
        "local_response_normalization" => y(nn::local_response_normalization(
            i("input"),
            c.attrs["depth_radius"].as_u64().unwrap_or(5) as usize,
            attr_f32(c, "bias")?,
            attr_f32(c, "alpha")?,
            attr_f32(c, "beta")?,
        )?),
        "conv2d_transpose" => y(nn::conv2d_transpose(
            i("value"),
            i("filter"),
            attr4(c, "output_shape"),
            attr4(c, "strides"),
            padding(c),
        )?),
        "fused_batch_norm" => {
            let (out, mean, var) = nn::fused_batch_norm(
                i("x"),
                i("scale"),
                i("offset"),
                x.get("mean"),
                x.get("variance"),
                attr_f32(c, "epsilon")?,
                c.attrs["is_training"].as_bool().unwrap_or(true),
            )?;
            Ok(Some(vec![
                ("y".into(), out),
                ("batch_mean".into(), mean),
                ("batch_variance".into(), var),
            ]))
        }
        "conv2d" => y(nn::conv2d_dilated(
            i("input"),
            i("filter"),
            attr4(c, "strides"),
            padding(c),
            attr4(c, "dilations"),
        )?),
        "depthwise_conv2d" => y(nn::depthwise_conv2d(
            i("input"),
            i("filter"),
            attr4(c, "strides"),
            padding(c),
            attr4(c, "dilations"),
        )?),
        _ => Ok(None),
    }
}

/// Runs a case that is not a plain op case (its own format); `None` when it is not one of
/// this module's.
pub fn run(c: &Case) -> Option<Result<(), String>> {
    let _ = c;
    None
}

/// The (outputs, grads) tolerances of this module's ops, from WAVE2.md.
pub fn tolerance(op: &str) -> Option<((f64, f64), (f64, f64))> {
    Some(match op {
        "sigmoid_cross_entropy_with_logits" | "weighted_cross_entropy_with_logits" => {
            ((1e-5, 1e-5), (1e-5, 1e-6))
        }
        "local_response_normalization" | "moments" => ((1e-5, 1e-6), (1e-4, 1e-5)),
        "conv2d_transpose" | "depthwise_conv2d" => ((1e-4, 1e-4), (1e-4, 1e-4)),
        "batch_normalization" => ((1e-5, 1e-5), (1e-4, 1e-5)),
        "fused_batch_norm" => ((1e-4, 1e-5), (1e-3, 1e-4)),
        "embedding_lookup" => ((0.0, 0.0), (1e-6, 1e-6)),
        _ => return None,
    })
}
