//! TensorFlow's V2 checkpoints (`../shared/interop`): every tensor restores bit for bit
//! (`expected.json`'s sha256), rewriting gives TensorFlow's data bytes, and corrupt or truncated
//! files give errors naming the file, the tensor and the byte offset.

use rustflow_runtime::bundle::{self, Bundle};
use serde_json::Value as Json;
use sha2::{Digest, Sha256};
use std::path::PathBuf;

fn interop(path: &str) -> PathBuf {
    let root = std::env::var("INTEROP_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/interop"));
    root.join(path)
}

fn expected(model: &str) -> Json {
    let text = std::fs::read_to_string(interop(&format!("{model}/expected.json"))).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rustflow-bundle-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn le_bytes(v: &rustflow_graph::Value) -> Vec<u8> {
    v.as_slice::<f32>()
        .unwrap()
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect()
}

#[test]
fn tensorflow_checkpoints_restore_bit_for_bit() {
    for model in ["deep_mnist", "small"] {
        let b = Bundle::open(interop(&format!("{model}/model.ckpt"))).unwrap();
        let exp = expected(model);
        let entries = exp["checkpoint_bundle"]["entries"].as_array().unwrap();
        assert_eq!(b.entries().len(), entries.len(), "{model}");
        for (e, want) in b.entries().iter().zip(entries) {
            assert_eq!(e.name, want["key"].as_str().unwrap());
            assert_eq!(e.offset, want["offset"].as_u64().unwrap());
            assert_eq!(e.size, want["size"].as_u64().unwrap());
            assert_eq!(u64::from(e.crc32c), want["crc32c_masked"].as_u64().unwrap());
            let shape: Vec<usize> = want["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap() as usize)
                .collect();
            assert_eq!(e.shape, shape, "{}", e.name);
        }
        let vars = exp
            .get("variables")
            .and_then(Json::as_array)
            .cloned()
            .unwrap_or_default();
        for var in &vars {
            let name = var["name"].as_str().unwrap();
            let v = b.read(name).unwrap();
            let sha = format!("{:x}", Sha256::digest(le_bytes(&v)));
            assert_eq!(sha, var["sha256"].as_str().unwrap(), "{model}/{name}");
        }
        if model == "deep_mnist" {
            assert_eq!(vars.len(), 26);
        }
    }
}

#[test]
fn rewritten_checkpoint_has_tensorflows_data_bytes() {
    for model in ["deep_mnist", "small"] {
        let prefix = interop(&format!("{model}/model.ckpt"));
        let b = Bundle::open(&prefix).unwrap();
        let tensors: Vec<_> = b
            .entries()
            .iter()
            .map(|e| (e.name.clone(), b.read(&e.name).unwrap()))
            .rev()
            .collect();
        let out = tmp(model).join("model.ckpt");
        bundle::write(&out, &tensors).unwrap();
        let ours = std::fs::read(bundle::data_path(&out)).unwrap();
        assert!(
            ours == std::fs::read(bundle::data_path(&prefix)).unwrap(),
            "{model}"
        );
        let again = Bundle::open(&out).unwrap();
        assert_eq!(again.entries(), b.entries(), "{model}");
        std::fs::remove_dir_all(out.parent().unwrap()).ok();
    }
}

/// Copies the small checkpoint, lets `damage` change its files, and returns the error.
fn damaged(name: &str, damage: impl FnOnce(&mut Vec<u8>, &mut Vec<u8>)) -> String {
    let src = interop("small/model.ckpt");
    let mut index = std::fs::read(bundle::index_path(&src)).unwrap();
    let mut data = std::fs::read(bundle::data_path(&src)).unwrap();
    damage(&mut index, &mut data);
    let prefix = tmp(name).join("model.ckpt");
    std::fs::write(bundle::index_path(&prefix), &index).unwrap();
    std::fs::write(bundle::data_path(&prefix), &data).unwrap();
    let result = Bundle::open(&prefix).and_then(|b| {
        for e in b.entries() {
            b.read(&e.name)?;
        }
        Ok(())
    });
    std::fs::remove_dir_all(prefix.parent().unwrap()).ok();
    result.unwrap_err().to_string()
}

#[test]
fn corrupt_files_name_file_tensor_and_offset() {
    // A flipped bit in layer1/weights (bytes 12..60 of the data file).
    let e = damaged("flip", |_, d| d[20] ^= 1);
    assert!(
        e.contains("data-00000-of-00001") && e.contains("layer1/weights"),
        "{e}"
    );
    assert!(e.contains("byte 12") && e.contains("CRC"), "{e}");
    // A truncated data file.
    let e = damaged("short", |_, d| d.truncate(70));
    assert!(e.contains("layer2/weights") && e.contains("byte 68"), "{e}");
    // A truncated index.
    let e = damaged("index", |i, _| i.truncate(40));
    assert!(e.contains(".index") && e.contains("too short"), "{e}");
    // A flipped bit inside the index's data block.
    let e = damaged("block", |i, _| i[10] ^= 0x40);
    assert!(
        e.contains(".index") && e.contains("CRC") && e.contains("byte 0"),
        "{e}"
    );
    // A bad magic number.
    let e = damaged("magic", |i, _| {
        let n = i.len();
        i[n - 1] = 0
    });
    assert!(e.contains("magic") && e.contains("byte"), "{e}");
}
