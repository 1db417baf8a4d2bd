//! TensorFlow ops that only files bring: the saver's `SaveV2` and `RestoreV2`, which read
//! and write TensorFlow's V2 checkpoints at run time.

mod restore_v2;
mod save_v2;

pub use restore_v2::restore_v2;
pub use save_v2::save_v2;

use rustflow_graph::{Error, Result, Value};

/// The prefix and tensor names of a `SaveV2`/`RestoreV2` run, checked: no partitioned
/// (`shape_and_slices`) entries.
fn names(prefix: &Value, names: &Value, slices: &Value) -> Result<(String, Vec<String>)> {
    let prefix = prefix
        .as_strings()?
        .first()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .ok_or_else(|| Error::Kernel("prefix must be a string scalar".into()))?;
    if let Some(s) = slices.as_strings()?.iter().find(|s| !s.is_empty()) {
        return Err(Error::Kernel(format!(
            "partitioned tensors are not supported (shape_and_slices '{}')",
            String::from_utf8_lossy(s)
        )));
    }
    let names = names
        .as_strings()?
        .iter()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .collect();
    Ok((prefix, names))
}
