//! Golden cases of control-flow programs (cond, while_loop, TensorArray).

use super::*;

/// Builds the case's program on the placeholders `x` (named after its inputs); `None` when
/// the op is not one of this module's.
pub fn build(c: &Case, g: &Graph, x: &BTreeMap<String, Tensor>) -> rustflow::Result<Option<Built>> {
    let i = |k: &str| &x[k];
    let y = match c.op.as_str() {
        // y = tf.cond(pred, lambda: x * y_in, lambda: x + y_in)
        "cond" => rustflow::cond(
            i("pred"),
            || Ok(vec![i("x").mul(i("y_in"))?]),
            || Ok(vec![i("x").add(i("y_in"))?]),
        )?
        .remove(0),
        // tf.while_loop(lambda i, acc: i < n, lambda i, acc: (i + 1, acc * w + 1.0), (0, x))
        "while_loop" => rustflow::while_loop(
            |v| rustflow::less(&v[0], i("n")),
            |v| {
                Ok(vec![
                    v[0].add(&g.constant(1i32))?,
                    v[1].mul(i("w"))?.add(&g.constant(1.0f32))?,
                ])
            },
            &[&g.constant(0i32), i("x")],
            rustflow::WhileOptions::default(),
        )?
        .remove(1),
        // ta = TensorArray(size=T).unstack(x); acc = zeros([B, H]); i = 0;
        // while i < T: (acc = acc + ta.read(i); i = i + 1)
        "while_loop_tensorarray_sum" => {
            let ta = rustflow::TensorArray::unstack(i("x"))?;
            let t = ta.size()?;
            let acc = rustflow::zeros_like(&ta.read(&g.constant(0i32))?)?;
            rustflow::while_loop(
                |v| rustflow::less(&v[0], &t),
                |v| {
                    Ok(vec![
                        v[0].add(&g.constant(1i32))?,
                        v[1].add(&ta.read(&v[0])?)?,
                    ])
                },
                &[&g.constant(0i32), &acc],
                rustflow::WhileOptions::default(),
            )?
            .remove(1)
        }
        _ => return Ok(None),
    };
    Ok(Some(vec![("y".to_string(), y)]))
}

/// Runs a case that is not a plain op case (its own format); `None` when it is not one of
/// this module's.
pub fn run(c: &Case) -> Option<Result<(), String>> {
    let _ = c;
    None
}

/// The (outputs, grads) tolerances of this module's ops, from WAVE2.md.
pub fn tolerance(op: &str) -> Option<((f64, f64), (f64, f64))> {
    match op {
        "cond" => Some(((1e-6, 1e-6), (1e-6, 1e-6))),
        "while_loop" => Some(((1e-5, 1e-5), (1e-4, 1e-5))),
        "while_loop_tensorarray_sum" => Some(((1e-6, 1e-6), (0.0, 0.0))),
        _ => None,
    }
}
