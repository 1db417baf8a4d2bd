//! The `rustflow` binary on the interop files: inspect, run, convert, and failures.

use std::path::PathBuf;
use std::process::Command;

fn interop(path: &str) -> String {
    std::env::var("INTEROP_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/interop"))
        .join(path)
        .to_string_lossy()
        .into_owned()
}

fn rustflow(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_rustflow"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn inspect_graphs_meta_graphs_and_checkpoints() {
    let (ok, out, _) = rustflow(&["inspect", &interop("deep_mnist/graph.pb")]);
    assert!(
        ok && out.contains("403 nodes") && out.contains("     8  ApplyAdam"),
        "{out}"
    );
    let (ok, out, _) = rustflow(&["inspect", &interop("small/graph.pbtxt")]);
    assert!(ok && out.contains("108 nodes"), "{out}");
    let (ok, out, _) = rustflow(&["inspect", &interop("deep_mnist/model.ckpt.meta")]);
    assert!(
        ok && out.contains("restore save/restore_all")
            && out.contains("collection variables: bytes_list of 26"),
        "{out}"
    );
    let (ok, out, _) = rustflow(&["inspect", &interop("small/model.ckpt")]);
    assert!(
        ok && out.contains("tensor_name:  layer1/weights\n  dtype: DT_FLOAT  shape: [4, 3]"),
        "{out}"
    );
}

#[test]
fn run_feeds_scalars_and_npy_and_writes_npy() {
    let dir = std::env::temp_dir().join(format!("rustflow-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (x, y) = (dir.join("x.npy"), dir.join("y.npy"));
    // A [4, 4] float32 .npy of zeros, written by the tool's own crate.
    ndarray_npy::write_npy(&x, &ndarray::Array2::<f32>::zeros((4, 4))).unwrap();
    let (ok, _, err) = rustflow(&[
        "run",
        "--graph",
        &interop("small/frozen.pb"),
        "--feed",
        &format!("x={}", x.display()),
        "--fetch",
        "output",
        "--out",
        &y.to_string_lossy(),
    ]);
    assert!(ok, "{err}");
    let out: ndarray::ArrayD<f32> = ndarray_npy::read_npy(&y).unwrap();
    assert_eq!(out.shape(), &[4, 2]);
    // Failures exit non-zero with a message naming what is wrong.
    let (ok, _, err) = rustflow(&[
        "run",
        "--graph",
        &interop("small/frozen.pb"),
        "--fetch",
        "nothing",
    ]);
    assert!(!ok && err.contains("nothing"), "{err}");
    let (ok, _, err) = rustflow(&[
        "run",
        "--graph",
        &interop("small/frozen.pb"),
        "--fetch",
        "output",
    ]);
    assert!(!ok && err.contains("x"), "{err}");
    let (ok, _, err) = rustflow(&["inspect", &dir.join("missing.pb").to_string_lossy()]);
    assert!(!ok && err.contains("missing.pb"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn convert_checkpoint_to_safetensors_and_back() {
    let dir = std::env::temp_dir().join(format!("rustflow-convert-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let st = dir.join("m.safetensors");
    let back = dir.join("back.ckpt");
    assert!(
        rustflow(&[
            "convert",
            &interop("small/model.ckpt"),
            &st.to_string_lossy()
        ])
        .0
    );
    assert!(rustflow(&["convert", &st.to_string_lossy(), &back.to_string_lossy()]).0);
    let a = std::fs::read(interop("small/model.ckpt.data-00000-of-00001")).unwrap();
    let b = std::fs::read(dir.join("back.ckpt.data-00000-of-00001")).unwrap();
    assert_eq!(a, b);
    let (ok, _, err) = rustflow(&[
        "convert",
        &dir.join("nope").to_string_lossy(),
        &st.to_string_lossy(),
    ]);
    assert!(!ok && err.contains("nope"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

/// The whole training graph of a meta graph imports (training against TensorFlow's numbers
/// is `tests/training.rs`); the tool lists it.
#[test]
fn meta_graph_imports_with_its_training_ops() {
    let g = rustflow_graph::Graph::new();
    let (meta, _) = rustflow_interop::import_meta_graph(
        &g,
        interop("small/model.ckpt.meta"),
        &Default::default(),
    )
    .unwrap();
    assert_eq!(meta.collections["train_op"], vec!["train".to_string()]);
    assert!(g.tensor_by_name("save/RestoreV2:0").is_ok());
    let (ok, out, err) = rustflow(&["inspect", &interop("small/model.ckpt.meta")]);
    assert!(ok && out.contains("ApplyGradientDescent"), "{out}{err}");
}

/// `run` on TensorFlow's GraphDefs with control flow (TF1 frames and TF2 functions): scalar
/// feeds take the placeholder's dtype (an int32 trip count, a bool predicate).
#[test]
fn run_control_flow_graphs_with_int_and_bool_scalars() {
    let fixture = |f: &str| {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(f)
            .to_string_lossy()
            .into_owned()
    };
    let dir = std::env::temp_dir().join(format!("rustflow-cli-cf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (x, w, y) = (dir.join("x.npy"), dir.join("w.npy"), dir.join("acc.npy"));
    let xs = ndarray::arr2(&[[1.0f32, 2.0], [-1.0, 0.5]]);
    let ws = ndarray::arr2(&[[0.5f32, -1.0], [2.0, 1.5]]);
    ndarray_npy::write_npy(&x, &xs).unwrap();
    ndarray_npy::write_npy(&w, &ws).unwrap();
    for version in ["v1", "v2"] {
        let (ok, _, err) = rustflow(&[
            "run",
            "--graph",
            &fixture(&format!("control_while_{version}.pb")),
            "--feed",
            "n=3",
            "--feed",
            &format!("x={}", x.display()),
            "--feed",
            &format!("w={}", w.display()),
            "--fetch",
            "acc",
            "--out",
            &y.to_string_lossy(),
        ]);
        assert!(ok, "{err}");
        // Three times acc = acc * w + 1, computed here.
        let mut want = xs.clone();
        for _ in 0..3 {
            want = &want * &ws + 1.0;
        }
        let got: ndarray::Array2<f32> = ndarray_npy::read_npy(&y).unwrap();
        assert_eq!(got, want, "{version}");
    }
    let (x3, a) = (dir.join("x3.npy"), dir.join("a.npy"));
    ndarray_npy::write_npy(&x3, &ndarray::arr1(&[1.0f32, -2.0, 0.5])).unwrap();
    for (pred, want) in [("true", [3.0f32, -3.0, 2.0]), ("false", [0.0, -3.0, -0.5])] {
        let (ok, _, err) = rustflow(&[
            "run",
            "--graph",
            &fixture("control_cond_v1.pb"),
            "--feed",
            &format!("pred={pred}"),
            "--feed",
            &format!("x={}", x3.display()),
            "--fetch",
            "a",
            "--out",
            &a.to_string_lossy(),
        ]);
        assert!(ok, "{err}");
        let got: ndarray::Array1<f32> = ndarray_npy::read_npy(&a).unwrap();
        assert_eq!(got.to_vec(), want.to_vec(), "pred={pred}");
    }
}
