//! What the tests of TensorFlow's files share: where the files are.

use std::path::PathBuf;

/// The workspace's root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A file TensorFlow wrote, under `INTEROP_DIR` (default `../shared/interop`).
pub fn interop(path: &str) -> PathBuf {
    std::env::var("INTEROP_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| root().join("../shared/interop"))
        .join(path)
}
