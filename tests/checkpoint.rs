//! Checkpoints: save, restore, keep the last N, survive a failed save, reject bad files.

use rustflow::prelude::*;
use rustflow::train::{latest_checkpoint, Saver};
use std::io::Write;
use std::path::PathBuf;

fn tmpdir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rustflow-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

/// A small model: y = x W + b, with W and b initialized to distinct values.
fn model() -> Result<(Graph, Tensor, Tensor, Variable, Variable)> {
    let g = Graph::new();
    let x = g.placeholder_named(F32, shape![?, 3], "x");
    let w = g.variable(&g.constant([[0.5f32, -1.0], [2.0, 0.25], [1.5, 3.0]]), "W")?;
    let b = g.variable(&g.constant([0.1f32, -0.2]), "b")?;
    let y = x.matmul(&w)?.add(&b)?;
    Ok((g, x, y, w, b))
}

#[test]
fn a_restored_model_predicts_bit_identically() -> Result<()> {
    let dir = tmpdir("restore");
    let (g, x, y, w, _) = model()?;
    let sess = Session::new(&g);
    sess.run_op(&g.global_variables_initializer()?, &feed! {})?;
    sess.eval(
        &w.assign(&g.constant([[1.25f32, 2.0], [-3.0, 0.125], [7.0, 1e-7]]))?,
        &feed! {},
    )?;
    let xs = [[0.3f32, -0.7, 1.1], [2.0, 0.0, -1.0]];
    let before = sess.eval(&y, &feed! { &x => xs })?;
    let saver = Saver::new(&g);
    let path = saver.save(&sess, dir.join("model"), Some(7))?;
    assert!(path.ends_with("model-7.safetensors"));
    let fresh = Session::new(&g);
    assert!(fresh.eval(&y, &feed! { &x => xs }).is_err());
    saver.restore(&fresh, &path)?;
    assert_eq!(fresh.eval(&y, &feed! { &x => xs })?, before);
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

#[test]
fn only_the_last_n_checkpoints_are_kept() -> Result<()> {
    let dir = tmpdir("keep");
    let (g, ..) = model()?;
    let sess = Session::new(&g);
    sess.run_op(&g.global_variables_initializer()?, &feed! {})?;
    let saver = Saver::new(&g).max_to_keep(2);
    for step in [10, 20, 30] {
        saver.save(&sess, dir.join("model"), Some(step))?;
    }
    assert!(!dir.join("model-10.safetensors").exists());
    assert!(dir.join("model-20.safetensors").exists());
    assert_eq!(
        latest_checkpoint(&dir)?,
        Some(dir.join("model-30.safetensors"))
    );
    assert_eq!(latest_checkpoint(dir.join("nothing-here"))?, None);
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

/// A writer that fails after `n` bytes, like a full disk or a crash mid-save.
struct FailAfter(usize, std::fs::File);
impl Write for FailAfter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.0 == 0 {
            return Err(std::io::Error::other("injected failure: disk full"));
        }
        let n = buf.len().min(self.0);
        self.0 -= n;
        self.1.write(&buf[..n])
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.1.flush()
    }
}

#[test]
fn a_failed_save_leaves_the_previous_checkpoint_intact() -> Result<()> {
    let dir = tmpdir("fail");
    let (g, x, y, w, _) = model()?;
    let sess = Session::new(&g);
    sess.run_op(&g.global_variables_initializer()?, &feed! {})?;
    let saver = Saver::new(&g);
    let good = saver.save(&sess, dir.join("model"), Some(1))?;
    let xs = [[1.0f32, 2.0, 3.0]];
    let expected = sess.eval(&y, &feed! { &x => xs })?;
    // Change the variables, then fail half-way through saving them.
    sess.eval(&w.assign(&g.zeros(&[3, 2])?)?, &feed! {})?;
    let err = saver
        .save_with(&sess, &dir.join("model"), Some(1), |f| {
            Box::new(FailAfter(40, f))
        })
        .unwrap_err();
    assert!(err.to_string().contains("injected failure"), "{err}");
    // The old file is still the latest and still whole; no temporary file is left.
    assert_eq!(latest_checkpoint(&dir)?, Some(good.clone()));
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    let fresh = Session::new(&g);
    saver.restore(&fresh, &good)?;
    assert_eq!(fresh.eval(&y, &feed! { &x => xs })?, expected);
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

#[test]
fn restore_names_what_does_not_match_and_changes_nothing() -> Result<()> {
    let dir = tmpdir("mismatch");
    let (g, _, _, w, b) = model()?;
    let sess = Session::new(&g);
    sess.run_op(&g.global_variables_initializer()?, &feed! {})?;
    let path = Saver::new(&g).save(&sess, dir.join("model"), None)?;

    // Another graph with a differently shaped W.
    let g2 = Graph::new();
    let w2 = g2.variable(&g2.zeros(&[3, 3])?, "W")?;
    let b2 = g2.variable(&g2.zeros(&[2])?, "b")?;
    let s2 = Session::new(&g2);
    s2.run_op(&g2.global_variables_initializer()?, &feed! {})?;
    let e = Saver::new(&g2).restore(&s2, &path).unwrap_err();
    assert!(
        e.to_string()
            .contains("variable 'W' has shape [3,2] in the checkpoint, [3,3] in the graph"),
        "{e}"
    );
    assert_eq!(
        s2.eval(&b2, &feed! {})?.as_slice::<f32>()?,
        &[0.0, 0.0],
        "nothing restored"
    );
    let _ = w2;

    // A missing name.
    let g3 = Graph::new();
    g3.variable(&g3.zeros(&[1])?, "other")?;
    let e = Saver::new(&g3)
        .restore(&Session::new(&g3), &path)
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("no variable 'other' in the checkpoint"),
        "{e}"
    );

    // Corrupt and truncated files.
    let bytes = std::fs::read(&path).unwrap();
    for (name, data) in [
        ("truncated", bytes[..bytes.len() / 2].to_vec()),
        ("header", bytes[..5].to_vec()),
        ("garbage", vec![0xff; 64]),
        ("empty", vec![]),
    ] {
        let p = dir.join(format!("{name}.safetensors"));
        std::fs::write(&p, data).unwrap();
        let e = Saver::new(&g).restore(&sess, &p).unwrap_err();
        assert!(
            matches!(&e, Error::Checkpoint { path, .. } if *path == p),
            "{name}: {e}"
        );
    }
    let e = Saver::new(&g)
        .restore(&sess, dir.join("absent.safetensors"))
        .unwrap_err();
    assert!(matches!(e, Error::Io { .. }));
    // The session still works and kept its values.
    assert_eq!(sess.eval(&b, &feed! {})?.as_slice::<f32>()?, &[0.1, -0.2]);
    let _ = w;
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
