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
        "embedding_lookup" => {
            let strategy = attr_str(c, "partition_strategy");
            let strategy = if strategy.is_empty() { "mod" } else { strategy };
            y(nn::embedding_lookup(
                &shards(x),
                i("ids"),
                strategy.parse().map_err(rustflow::Error::Kernel)?,
                c.attrs["max_norm"].as_f64().map(|m| m as f32),
            )?)
        }
        _ => Ok(None),
    }
}

/// The shards of a `params` list: the input `params`, or `params0`, `params1`, ... (also
/// `params_0`, ...) in list order.
fn shards(x: &BTreeMap<String, Tensor>) -> Vec<&Tensor> {
    if let Some(p) = x.get("params") {
        return vec![p];
    }
    let mut listed: Vec<(usize, &Tensor)> = x
        .iter()
        .filter_map(|(k, t)| {
            let n = k.strip_prefix("params")?.trim_start_matches('_');
            Some((n.parse().ok()?, t))
        })
        .collect();
    listed.sort_by_key(|(n, _)| *n);
    listed.into_iter().map(|(_, t)| t).collect()
}

/// Runs a case that is not a plain op case (its own format); `None` when it is not one of
/// this module's.
pub fn run(c: &Case) -> Option<Result<(), String>> {
    match c.op.as_str() {
        "cifar_tiny" => Some(run_cifar_tiny(c)),
        _ => None,
    }
}

/// The CIFAR-10 tutorial's network at a tiny size (`attrs.architecture`): forward values,
/// gradients, and three gradient-descent steps.
fn run_cifar_tiny(c: &Case) -> Result<(), String> {
    let e = |e: rustflow::Error| e.to_string();
    let g = Graph::new();
    let inp = |k: &str| c.inputs.get(k).cloned().ok_or_else(|| format!("input {k}"));
    let images = g.constant(inp("images")?);
    let labels = g.constant(inp("labels")?);
    let mut v = BTreeMap::new();
    for k in &c.variables {
        v.insert(k.clone(), g.variable(&g.constant(inp(k)?), k).map_err(e)?);
    }
    let lrn = &c.attrs["lrn"];
    let f = |k: &str| lrn[k].as_f64().unwrap_or(0.0) as f32;
    let norm = |t: &Tensor| {
        let r = f("depth_radius") as usize;
        nn::local_response_normalization(t, r, f("bias"), f("alpha"), f("beta"))
    };
    let same = nn::Padding::Same;
    let layer = |x: &Tensor, w: &str, b: &str| {
        let conv = nn::conv2d(x, &v[w], [1, 1, 1, 1], same)?;
        nn::relu(&nn::bias_add(&conv, &v[b])?)
    };
    let pool = |x: &Tensor| nn::max_pool(x, [1, 3, 3, 1], [1, 2, 2, 1], same);
    let conv1 = layer(&images, "conv1/weights", "conv1/biases").map_err(e)?;
    let norm1 = norm(&pool(&conv1).map_err(e)?).map_err(e)?;
    let conv2 = layer(&norm1, "conv2/weights", "conv2/biases").map_err(e)?;
    let pool2 = pool(&norm(&conv2).map_err(e)?).map_err(e)?;
    let w = &v["softmax_linear/weights"];
    let batch = c.inputs["images"].shape()[0] as i64;
    let flat = rustflow::reshape(&pool2, &[batch, -1]).map_err(e)?;
    let logits = flat
        .matmul(w)
        .and_then(|t| t.add(&v["softmax_linear/biases"]))
        .map_err(e)?;
    let xent = nn::sparse_softmax_cross_entropy_with_logits(&labels, &logits).map_err(e)?;
    let cross_entropy = rustflow::reduce_mean(&xent, None, false).map_err(e)?;
    let decay = c.attrs["weight_decay"].as_f64().unwrap_or(0.0) as f32 / 2.0;
    let l2 = rustflow::square(w)
        .and_then(|t| t.reduce_sum(None))
        .and_then(|t| t.mul(&g.constant(Value::scalar(decay))))
        .map_err(e)?;
    let loss = cross_entropy.add(&l2).map_err(e)?;
    let vars: Vec<&Tensor> = c.variables.iter().map(|k| &*v[k]).collect();
    let grads = gradients(&[&loss], &vars, None).map_err(e)?;
    let lr = c.attrs["learning_rate"].as_f64().unwrap_or(0.1) as f32;
    let step = train::GradientDescentOptimizer::new(lr)
        .minimize(&loss)
        .map_err(e)?;
    let sess = Session::new(&g);
    sess.run_op(&g.global_variables_initializer().map_err(e)?, &feed! {})
        .map_err(e)?;
    let (tol, tol_grad) = ((1e-4, 1e-5), (1e-3, 1e-5));
    let eval = |t: &Tensor| sess.eval(t, &feed! {}).map_err(e);
    let named = [
        ("loss", &loss),
        ("loss@0", &loss),
        ("cross_entropy", &cross_entropy),
        ("logits", &logits),
        ("norm1", &norm1),
        ("pool2", &pool2),
    ];
    for (k, t) in named {
        compare(k, &eval(t)?, &c.outputs[k], tol)?;
    }
    compare_grads(c, &grads, eval, tol_grad)?;
    for s in 1..=c.attrs["steps"].as_u64().unwrap_or(0) {
        sess.run_op(&step, &feed! {}).map_err(e)?;
        for k in &c.variables {
            let key = format!("{k}@{s}");
            compare(&key, &eval(&v[k])?, &c.outputs[&key], (1e-5, 1e-5))?;
        }
        let key = format!("loss@{s}");
        compare(&key, &eval(&loss)?, &c.outputs[&key], tol)?;
    }
    Ok(())
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
