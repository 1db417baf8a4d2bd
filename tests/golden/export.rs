//! The export round trip of every plain golden case: the graph the case built (its outputs
//! and gradients) written as TensorFlow's GraphDef, imported into a fresh graph and run there
//! with the same feeds gives the values the original graph gave.

use super::{compare, Case};
use rustflow::interop::{import_graph_def, parse_graph_def, to_graph_def, ImportOptions};
use rustflow::prelude::*;
use rustflow_proto::Message;
use std::collections::BTreeMap;

/// The case ops whose graphs do not export yet: `If`/`While` nodes are not written as
/// functional ops with a function library. Their round trip must fail (so that this list
/// shrinks when it works).
const EXPORT_PENDING: &[&str] = &["cond", "while_loop", "while_loop_tensorarray_sum"];

/// Checks `fetch` (name, tensor of `g`, tolerance) against the same names in `g` written,
/// read back and imported, fed the case's inputs by placeholder name.
pub fn round_trip(
    c: &Case,
    g: &Graph,
    fetch: &[(String, Tensor, (f64, f64))],
) -> Result<(), String> {
    let r = check(g, &c.inputs, fetch);
    match (r, EXPORT_PENDING.contains(&c.op.as_str())) {
        (Ok(()), true) => Err(format!(
            "{} exports now: take it off EXPORT_PENDING in tests/golden/export.rs",
            c.op
        )),
        (Err(_), true) => Ok(()),
        (r, false) => r,
    }
}

fn check(
    g: &Graph,
    inputs: &BTreeMap<String, Value>,
    fetch: &[(String, Tensor, (f64, f64))],
) -> Result<(), String> {
    fn e(what: &str) -> impl Fn(rustflow::Error) -> String + '_ {
        move |e| format!("export round trip, {what}: {e}")
    }
    let def = to_graph_def(g).map_err(e("to_graph_def"))?;
    let def = parse_graph_def(&def.encode_to_vec()).map_err(e("parse_graph_def"))?;
    let g2 = Graph::new();
    import_graph_def(&g2, &def, &ImportOptions::default()).map_err(e("import_graph_def"))?;
    let (s1, s2) = (Session::new(g), Session::new(&g2));
    let (mut f1, mut f2) = (FeedDict::new(), FeedDict::new());
    for (k, v) in inputs {
        let name = format!("{k}:0");
        f1.insert(&g.tensor_by_name(&name).map_err(e("feed"))?, v.clone());
        f2.insert(&g2.tensor_by_name(&name).map_err(e("feed"))?, v.clone());
    }
    for (what, t, tol) in fetch {
        let want = s1.eval(t, &f1).map_err(e(what))?;
        let t2 = g2.tensor_by_name(&t.name()).map_err(e(what))?;
        let got = s2.eval(&t2, &f2).map_err(e(what))?;
        compare(
            &format!("{what} after the export round trip"),
            &got,
            &want,
            *tol,
        )?;
    }
    Ok(())
}
