//! Golden cases of array ops (concat, gather, pad, strided_slice, ...).

use super::*;

/// The list inputs `x0, x1, ...` of a case (concat, stack).
fn list<'a>(x: &'a BTreeMap<String, Tensor>, prefix: &str) -> Vec<&'a Tensor> {
    (0..)
        .map_while(|k| x.get(&format!("{prefix}{k}")))
        .collect()
}

/// List outputs named `y0, y1, ...`.
fn ys(ts: Vec<Tensor>) -> Built {
    ts.into_iter()
        .enumerate()
        .map(|(k, t)| (format!("y{k}"), t))
        .collect()
}

fn int(c: &Case, k: &str) -> i64 {
    c.attrs[k].as_i64().unwrap_or(0)
}

/// Builds the case's op on the placeholders `x` (named after its inputs); `None` when the
/// op is not one of this module's.
pub fn build(c: &Case, g: &Graph, x: &BTreeMap<String, Tensor>) -> rustflow::Result<Option<Built>> {
    let i = |k: &str| &x[k];
    let y = |t: Tensor| Ok(Some(vec![("y".to_string(), t)]));
    match c.op.as_str() {
        "concat" => y(rustflow::concat(&list(x, "x"), int(c, "axis"))?),
        "stack" => y(rustflow::stack(&list(x, "x"), int(c, "axis"))?),
        "split" => {
            let parts = match &c.attrs["num_or_size_splits"] {
                Json::Array(_) => rustflow::split_v(
                    i("x"),
                    &attr_i64s(c, "num_or_size_splits").unwrap_or_default(),
                    int(c, "axis"),
                )?,
                n => rustflow::split(i("x"), n.as_u64().unwrap_or(0) as usize, int(c, "axis"))?,
            };
            Ok(Some(ys(parts)))
        }
        "unstack" => Ok(Some(ys(rustflow::unstack(
            i("x"),
            int(c, "axis"),
            c.attrs["num"].as_u64().map(|n| n as usize),
        )?))),
        "expand_dims" => y(rustflow::expand_dims(i("x"), int(c, "axis"))?),
        "squeeze" => y(rustflow::squeeze(i("x"), attr_i64s(c, "axis").as_deref())?),
        "slice" => y(rustflow::slice(
            i("x"),
            &attr_i64s(c, "begin").unwrap_or_default(),
            &attr_i64s(c, "size").unwrap_or_default(),
        )?),
        "strided_slice" => {
            let masks = rustflow::SliceMasks {
                begin: int(c, "begin_mask"),
                end: int(c, "end_mask"),
                ellipsis: int(c, "ellipsis_mask"),
                new_axis: int(c, "new_axis_mask"),
                shrink_axis: int(c, "shrink_axis_mask"),
            };
            let v = |k: &str| attr_i64s(c, k).unwrap_or_default();
            y(rustflow::strided_slice(
                i("x"),
                &v("begin"),
                &v("end"),
                &v("strides"),
                masks,
            )?)
        }
        "gather" => y(rustflow::gather(i("params"), i("indices"), int(c, "axis"))?),
        "gather_nd" => y(rustflow::gather_nd(i("params"), i("indices"))?),
        "tile" => y(rustflow::tile(
            i("x"),
            &attr_i64s(c, "multiples")
                .unwrap_or_default()
                .iter()
                .map(|&m| m as usize)
                .collect::<Vec<_>>(),
        )?),
        "reverse" => y(rustflow::reverse(
            i("x"),
            &attr_i64s(c, "axis").unwrap_or_default(),
        )?),
        "pad" => {
            let paddings: Vec<[usize; 2]> = c.attrs["paddings"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|p| [0, 1].map(|k| p[k].as_u64().unwrap_or(0) as usize))
                        .collect()
                })
                .unwrap_or_default();
            let mode: rustflow::PadMode = attr_str(c, "mode").parse()?;
            let cv = c.attrs["constant_values"].as_f64().unwrap_or(0.0);
            y(rustflow::pad(i("x"), &paddings, mode, cv)?)
        }
        "where" => y(rustflow::select(i("condition"), i("x"), i("y"))?),
        "one_hot" => y(rustflow::one_hot(
            i("indices"),
            int(c, "depth") as usize,
            c.attrs["on_value"].as_f64().unwrap_or(1.0) as f32,
            c.attrs["off_value"].as_f64().unwrap_or(0.0) as f32,
            c.attrs["axis"].as_i64().unwrap_or(-1),
        )?),
        "fill" => y(rustflow::fill_tensor(
            &attr_i64s(c, "dims")
                .unwrap_or_default()
                .iter()
                .map(|&d| d as usize)
                .collect::<Vec<_>>(),
            i("value"),
        )?),
        "zeros_like" => y(rustflow::zeros_like(i("x"))?),
        "ones_like" => y(rustflow::ones_like(i("x"))?),
        "range" => {
            let f = |k: &str| c.attrs[k].as_f64().unwrap_or(0.0);
            let dtype = match attr_str(c, "dtype") {
                "float32" => F32,
                "int64" => I64,
                _ => I32,
            };
            y(rustflow::range(
                g,
                f("start"),
                f("limit"),
                f("delta"),
                dtype,
            )?)
        }
        "shape" | "size" => {
            let out = match attr_str(c, "out_type") {
                "int64" => I64,
                _ => I32,
            };
            y(match c.op.as_str() {
                "shape" => rustflow::shape(i("x"), out)?,
                _ => rustflow::size(i("x"), out)?,
            })
        }
        "rank" => y(rustflow::rank(i("x"))?),
        "cumsum" => y(rustflow::cumsum(
            i("x"),
            int(c, "axis"),
            c.attrs["exclusive"].as_bool().unwrap_or(false),
            c.attrs["reverse"].as_bool().unwrap_or(false),
        )?),
        "boolean_mask" => y(rustflow::boolean_mask(
            i("tensor"),
            i("mask"),
            int(c, "axis") as usize,
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
    let exact = ((0.0, 0.0), (0.0, 0.0));
    let sums = ((0.0, 0.0), (1e-6, 1e-6));
    match op {
        "concat" | "split" | "stack" | "unstack" | "slice" | "strided_slice" | "squeeze"
        | "expand_dims" | "where" | "reverse" | "zeros_like" | "ones_like" | "one_hot"
        | "shape" | "size" | "rank" | "range" => Some(exact),
        "gather" | "gather_nd" | "tile" | "pad" | "fill" | "boolean_mask" => Some(sums),
        "cumsum" => Some(((1e-6, 1e-6), (1e-6, 1e-6))),
        _ => None,
    }
}
