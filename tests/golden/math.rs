//! Golden cases of math ops (element-wise, comparisons, reductions, clipping, batch_matmul,
//! top_k, ...), and the second-order (`gradient_of`) cases of every op.

use super::*;

type Unary = fn(&Tensor) -> rustflow::Result<Tensor>;
type Binary = fn(&Tensor, &Tensor) -> rustflow::Result<Tensor>;

fn unary(op: &str) -> Option<Unary> {
    use rustflow::*;
    Some(match op {
        "rsqrt" => rsqrt,
        "reciprocal" => reciprocal,
        "softplus" => softplus,
        "softsign" => softsign,
        "elu" => elu,
        "selu" => selu,
        "log1p" => log1p,
        "expm1" => expm1,
        "sin" => sin,
        "cos" => cos,
        "erf" => erf,
        "sign" => sign,
        "floor" => floor,
        "ceil" => ceil,
        "round" => round,
        "relu6" => relu6,
        "abs" => abs,
        "logical_not" => logical_not,
        _ => return None,
    })
}

fn binary(op: &str) -> Option<Binary> {
    use rustflow::*;
    Some(match op {
        "pow" => pow,
        "squared_difference" => squared_difference,
        "maximum" => maximum,
        "minimum" => minimum,
        "less" => less,
        "less_equal" => less_equal,
        "greater" => greater,
        "greater_equal" => greater_equal,
        "not_equal" => not_equal,
        "logical_and" => logical_and,
        "logical_or" => logical_or,
        "floordiv" => floordiv,
        "floormod" => floormod,
        _ => return None,
    })
}

fn f32_attr(c: &Case, k: &str) -> f32 {
    c.attrs[k].as_f64().unwrap_or(0.0) as f32
}

/// The list inputs `p0, p1, ...` (`attrs.N` of them).
fn list<'a>(c: &Case, x: &'a BTreeMap<String, Tensor>, p: &str) -> Vec<&'a Tensor> {
    let n = c.attrs["N"].as_u64().unwrap_or(0) as usize;
    (0..n).filter_map(|i| x.get(&format!("{p}{i}"))).collect()
}

/// Builds the case's op on the placeholders `x` (named after its inputs); `None` when the
/// op is not one of this module's.
pub fn build(c: &Case, g: &Graph, x: &BTreeMap<String, Tensor>) -> rustflow::Result<Option<Built>> {
    let i = |k: &str| &x[k];
    let y = |t: Tensor| Ok(Some(vec![("y".to_string(), t)]));
    let op = c.op.as_str();
    if let Some(f) = unary(op) {
        return y(f(i("x"))?);
    }
    if let Some(f) = binary(op) {
        return Ok(Some(vec![("z".to_string(), f(i("x"), i("y"))?)]));
    }
    let scalar = |k: &str| g.constant(Value::scalar(f32_attr(c, k)));
    match op {
        "leaky_relu" => y(rustflow::leaky_relu(i("x"), f32_attr(c, "alpha"))?),
        "clip_by_value" => y(rustflow::clip_by_value(
            i("t"),
            &scalar("clip_value_min"),
            &scalar("clip_value_max"),
        )?),
        "reduce_min" => y(rustflow::reduce_min(i("x"), attr_axes(c), keep(c))?),
        "reduce_prod" => y(rustflow::reduce_prod(i("x"), attr_axes(c), keep(c))?),
        "reduce_logsumexp" => y(rustflow::reduce_logsumexp(i("x"), attr_axes(c), keep(c))?),
        "reduce_any" => y(rustflow::reduce_any(i("x"), attr_axes(c), keep(c))?),
        "reduce_all" => y(rustflow::reduce_all(i("x"), attr_axes(c), keep(c))?),
        "argmin" => y(rustflow::argmin(
            i("x"),
            c.attrs["axis"].as_i64().unwrap_or(0),
        )?),
        "clip_by_norm" => {
            let axes = match &c.attrs["axes"] {
                Json::Null => Axes::All,
                a => Axes::List(
                    a.as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Json::as_i64)
                        .collect(),
                ),
            };
            y(rustflow::clip_by_norm(
                i("t"),
                f32_attr(c, "clip_norm"),
                axes,
            )?)
        }
        "clip_by_global_norm" => {
            let (ys, norm) =
                rustflow::clip_by_global_norm(&list(c, x, "t"), f32_attr(c, "clip_norm"))?;
            let mut out: Built = ys
                .into_iter()
                .enumerate()
                .map(|(k, t)| (format!("y{k}"), t))
                .collect();
            out.push(("global_norm".into(), norm));
            Ok(Some(out))
        }
        "l2_loss" => y(rustflow::l2_loss(i("t"))?),
        "l2_normalize" => y(rustflow::l2_normalize(
            i("x"),
            attr_axes(c),
            c.attrs["epsilon"].as_f64().unwrap_or(1e-12) as f32,
        )?),
        "batch_matmul" => y(rustflow::batch_matmul(
            i("a"),
            i("b"),
            c.attrs["adjoint_a"].as_bool().unwrap_or(false),
            c.attrs["adjoint_b"].as_bool().unwrap_or(false),
        )?),
        "add_n" => y(rustflow::add_n(&list(c, x, "x"))?),
        "top_k" => {
            let (values, indices) =
                rustflow::top_k(i("input"), c.attrs["k"].as_u64().unwrap_or(1) as usize)?;
            Ok(Some(vec![
                ("values".into(), values),
                ("indices".into(), indices),
            ]))
        }
        "in_top_k" => y(rustflow::in_top_k(
            i("predictions"),
            i("targets"),
            c.attrs["k"].as_u64().unwrap_or(1) as usize,
        )?),
        _ => Ok(None),
    }
}

/// A `gradient_of` case (`../shared/golden/second_order/README.md`): the first-order
/// gradients of op `attrs.of` with upstream `dy`, then the gradients of their weighted sum
/// with respect to every float input and `dy`.
fn gradient_of(c: &Case) -> Result<(), String> {
    let e = |e: rustflow::Error| e.to_string();
    let of = c.attrs["of"].as_str().ok_or("attrs.of")?;
    let inner = Case {
        name: c.name.clone(),
        op: of.to_string(),
        attrs: c.attrs["of_attrs"].clone(),
        inputs: BTreeMap::new(),
        outputs: BTreeMap::new(),
        upstream: BTreeMap::new(),
        grads: BTreeMap::new(),
        variables: vec![],
        raw: Json::Null,
    };
    let g = Graph::new();
    let (mut x, mut feeds) = (BTreeMap::new(), FeedDict::new());
    for (k, v) in &c.inputs {
        let t = g.placeholder_named(v.dtype(), v.shape().to_vec(), k);
        feeds.insert(&t, v.clone());
        x.insert(k.clone(), t);
    }
    let dy = x.remove("dy").ok_or("no input dy")?;
    let outs = super::build(&inner, &g, &x)
        .map_err(|e| format!("build: {e}"))?
        .ok_or_else(|| format!("op '{of}' is not supported"))?;
    let [(_, out)] = outs.as_slice() else {
        return Err(format!(
            "{of} has {} outputs, the format has one dy",
            outs.len()
        ));
    };
    let floats: Vec<(&String, &Tensor)> = x.iter().filter(|(_, t)| t.dtype() == F32).collect();
    let xs: Vec<&Tensor> = floats.iter().map(|(_, t)| *t).collect();
    let first = gradients(&[out], &xs, Some(&[&dy])).map_err(e)?;
    let sess = Session::new(&g);
    let (tol_first, tol_second) = (
        super::tolerance(of).1,
        if of == "conv2d" {
            (1e-4, 1e-4)
        } else {
            (1e-4, 1e-5)
        },
    );
    let mut terms = vec![];
    for ((k, _), d) in floats.iter().zip(&first) {
        let key = format!("g_{k}");
        let d = d
            .as_ref()
            .ok_or_else(|| format!("{key}: no first-order gradient"))?;
        let want = c
            .outputs
            .get(&key)
            .ok_or_else(|| format!("no output {key}"))?;
        compare(&key, &sess.eval(d, &feeds).map_err(e)?, want, tol_first)?;
        let u = g.constant(
            c.upstream
                .get(&key)
                .cloned()
                .ok_or_else(|| format!("no upstream {key}"))?,
        );
        terms.push(d.mul(&u).and_then(|p| p.reduce_sum(None)).map_err(e)?);
    }
    let loss = rustflow::add_n(&terms.iter().collect::<Vec<_>>()).map_err(e)?;
    let mut wrt: Vec<(String, &Tensor)> =
        floats.iter().map(|(k, t)| (format!("d{k}"), *t)).collect();
    wrt.push(("ddy".into(), &dy));
    let ts: Vec<&Tensor> = wrt.iter().map(|(_, t)| *t).collect();
    let second = gradients(&[&loss], &ts, None).map_err(|e| format!("second order: {e}"))?;
    for ((k, _), d) in wrt.iter().zip(second) {
        let want = c
            .grads
            .get(k)
            .ok_or_else(|| format!("no grad {k} in the case"))?;
        match (d, want) {
            (None, None) => {}
            (Some(d), Some(want)) => {
                compare(k, &sess.eval(&d, &feeds).map_err(e)?, want, tol_second)?
            }
            (Some(_), None) => {
                return Err(format!("{k}: TensorFlow gives no gradient, we give one"))
            }
            (None, Some(_)) => return Err(format!("{k}: we give no gradient, TensorFlow does")),
        }
    }
    Ok(())
}

/// Runs a case that is not a plain op case (its own format); `None` when it is not one of
/// this module's.
pub fn run(c: &Case) -> Option<Result<(), String>> {
    (c.op == "gradient_of").then(|| gradient_of(c))
}

/// The (outputs, grads) tolerances of this module's ops, from WAVE2.md.
pub fn tolerance(op: &str) -> Option<((f64, f64), (f64, f64))> {
    const EXACT: (f64, f64) = (0.0, 0.0);
    Some(match op {
        "sign" | "floor" | "ceil" | "round" | "floordiv" | "floormod" | "logical_and"
        | "logical_or" | "logical_not" | "less" | "less_equal" | "greater" | "greater_equal"
        | "not_equal" | "reduce_any" | "reduce_all" | "argmin" | "in_top_k" | "leaky_relu"
        | "relu6" => (EXACT, EXACT),
        "maximum" | "minimum" | "clip_by_value" | "top_k" | "reduce_min" => (EXACT, (1e-6, 1e-6)),
        "add_n" => ((1e-6, 1e-6), EXACT),
        "pow" | "squared_difference" => ((1e-5, 1e-6), (1e-5, 1e-5)),
        "rsqrt" | "reciprocal" | "softplus" | "softsign" | "elu" | "selu" | "log1p" | "expm1"
        | "sin" | "cos" | "erf" | "reduce_prod" | "clip_by_norm" | "l2_normalize" | "l2_loss" => {
            ((1e-5, 1e-6), (1e-5, 1e-6))
        }
        "reduce_logsumexp" => ((1e-5, 1e-5), (1e-5, 1e-6)),
        "clip_by_global_norm" => ((1e-5, 1e-6), (1e-4, 1e-5)),
        "batch_matmul" => ((1e-5, 1e-5), (1e-5, 1e-5)),
        _ => return None,
    })
}
