//! Every TensorFlow op type of the graphs TensorFlow builds for the golden cases (forward,
//! gradients, optimizer updates, second-order gradients, TF1 and TF2 control flow; listed by
//! `scripts/tf_golden_op_types.py` in `fixtures/golden_op_types.json`) has an import row.

use rustflow_interop::import::imports;
use serde_json::Value as Json;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn golden_dirs() -> Vec<PathBuf> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/golden");
    let root = std::env::var("GOLDEN_ROOT").map_or(root, PathBuf::from);
    ["cases", "wave2", "control", "second_order"]
        .iter()
        .map(|d| root.join(d))
        .collect()
}

/// The key of a case in the table: its op, with the optimizer or the op differentiated twice.
fn key(case: &Json) -> String {
    let op = case["op"].as_str().unwrap();
    match op {
        "optimizer" => format!("optimizer:{}", case["attrs"]["optimizer"].as_str().unwrap()),
        "gradient_of" => format!("gradient_of:{}", case["attrs"]["of"].as_str().unwrap()),
        _ => op.to_string(),
    }
}

fn cases(dir: &Path) -> Vec<Json> {
    let mut out = vec![];
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".json") && name != "manifest.json" {
            out.push(serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap());
        }
    }
    out
}

#[test]
fn every_op_type_of_the_golden_cases_imports() {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden_op_types.json");
    let table: Json = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let table = table["ops"].as_object().unwrap();
    let dirs = golden_dirs();
    if !dirs[0].is_dir() {
        eprintln!(
            "no golden cases at {}: only the table is checked",
            dirs[0].display()
        );
    }
    let mut keys = BTreeSet::new();
    for dir in dirs.iter().filter(|d| d.is_dir()) {
        for case in cases(dir) {
            keys.insert(key(&case));
        }
    }
    let unlisted: Vec<&String> = keys.iter().filter(|k| !table.contains_key(*k)).collect();
    assert!(
        unlisted.is_empty(),
        "golden ops without their op types (rerun scripts/tf_golden_op_types.py): {unlisted:?}"
    );
    let mut missing = BTreeSet::new();
    for types in table.values() {
        for t in types.as_array().unwrap() {
            let t = t.as_str().unwrap();
            if !imports(t) {
                missing.insert(t);
            }
        }
    }
    assert!(
        missing.is_empty(),
        "op types of the golden cases without an import row: {missing:?}"
    );
    assert!(table.len() >= 140, "{} golden ops", table.len());
}
