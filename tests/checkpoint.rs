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

/// The files of `dir`, sorted.
fn files(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The model of the kill test: `w` (1M floats, so that a save takes a while) and `step`,
/// both set to the step number before each save; their assignments from placeholders.
fn step_model() -> Result<(Graph, Variable, Variable, Operation, Tensor, Tensor)> {
    let g = Graph::new();
    let w = g.variable(&g.zeros(&[1024, 1024])?, "w")?;
    let step = g.variable(&g.zeros(&[])?, "step")?;
    let (pw, ps) = (
        g.placeholder_named(F32, shape![1024, 1024], "pw"),
        g.placeholder_named(F32, shape![], "ps"),
    );
    let set = rustflow::group(&g, &[&w.assign(&pw)?.op(), &step.assign(&ps)?.op()], "set")?;
    Ok((g, w, step, set, pw, ps))
}

/// Restores the latest checkpoint of `dir` into a fresh session and returns its step,
/// checking that `w` holds that step everywhere (a checkpoint of one instant).
fn restored_step(dir: &std::path::Path) -> Result<Option<f32>> {
    let (g, w, step, ..) = step_model()?;
    let Some(path) = latest_checkpoint(dir)? else {
        return Ok(None);
    };
    let sess = Session::new(&g);
    Saver::new(&g).restore(&sess, &path)?;
    let s = sess.eval(&step, &feed! {})?.scalar_value::<f32>()?;
    let ws = sess.eval(&w, &feed! {})?;
    assert!(ws.as_slice::<f32>()?.iter().all(|&x| x == s), "{path:?}");
    Ok(Some(s))
}

/// Not a test by itself: the child process of the kill test. It resumes from the latest
/// checkpoint of `RUSTFLOW_SAVE_LOOP_DIR` and saves step after step, keeping
/// `RUSTFLOW_SAVE_LOOP_KEEP`, until killed (or after `RUSTFLOW_SAVE_LOOP_SAVES` saves).
#[test]
#[ignore]
fn save_loop_child() -> Result<()> {
    let Ok(dir) = std::env::var("RUSTFLOW_SAVE_LOOP_DIR") else {
        return Ok(());
    };
    let dir = PathBuf::from(dir);
    let env = |k: &str, d: usize| std::env::var(k).map_or(d, |v| v.parse().unwrap());
    let keep = env("RUSTFLOW_SAVE_LOOP_KEEP", 1);
    let saves = env("RUSTFLOW_SAVE_LOOP_SAVES", usize::MAX);
    let (g, _, _, set, pw, ps) = step_model()?;
    let sess = Session::new(&g);
    let saver = Saver::new(&g).max_to_keep(keep);
    let first = restored_step(&dir)?.map_or(0, |s| s as u64 + 1);
    for s in (first..).take(saves) {
        let x = s as f32;
        set.run_in(
            &sess,
            &feed! { &pw => Value::new(&[1024, 1024], vec![x; 1 << 20])?, &ps => Value::scalar(x) },
        )?;
        saver.save(&sess, dir.join("model"), Some(s))?;
    }
    Ok(())
}

/// The issue-22 probe: a process saving in a loop is killed (SIGKILL) at random instants,
/// 30 times with `max_to_keep` 1 and 30 times with 3, each time resuming from the latest
/// checkpoint. After every kill, once any checkpoint was complete, `latest_checkpoint`
/// names a complete one that restores (checksums verified), and the step never goes back.
/// At the end no temporary file is left and each prefix keeps `max_to_keep` checkpoints.
#[test]
fn a_save_loop_killed_at_random_instants_always_leaves_a_latest_checkpoint() -> Result<()> {
    let exe = std::env::current_exe().unwrap();
    let child = |dir: &PathBuf, keep: usize, saves: Option<usize>| {
        let mut c = std::process::Command::new(&exe);
        c.args([
            "--exact",
            "save_loop_child",
            "--ignored",
            "--test-threads=1",
        ])
        .env("RUSTFLOW_SAVE_LOOP_DIR", dir)
        .env("RUSTFLOW_SAVE_LOOP_KEEP", keep.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
        if let Some(n) = saves {
            c.env("RUSTFLOW_SAVE_LOOP_SAVES", n.to_string());
        }
        c
    };
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    for keep in [1, 3] {
        let dir = tmpdir(&format!("kill-{keep}"));
        std::fs::create_dir_all(&dir).unwrap();
        let mut last = None;
        for kill in 0..30 {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            let mut c = child(&dir, keep, None).spawn().unwrap();
            std::thread::sleep(std::time::Duration::from_millis(60 + rng % 300));
            c.kill().unwrap();
            c.wait().unwrap();
            let now = restored_step(&dir)?;
            if last.is_some() {
                assert!(
                    now >= last,
                    "keep {keep}, kill {kill}: step {last:?} -> {now:?}"
                );
            }
            last = now;
        }
        assert!(last.is_some(), "no save completed in 30 runs");
        let status = child(&dir, keep, Some(2)).status().unwrap();
        assert!(status.success());
        assert_eq!(restored_step(&dir)?, last.map(|s| s + 2.0));
        let left = files(&dir);
        assert!(!left.iter().any(|f| f.contains(".tmp")), "{left:?}");
        assert_eq!(left.len(), keep + 1, "{left:?}");
        std::fs::remove_dir_all(&dir).ok();
    }
    Ok(())
}

/// Two savers of different prefixes in one directory: each rotates its own checkpoints
/// only, and the index keeps both. Four threads saving at once through one saver never
/// collide on temporary files.
#[test]
fn savers_of_two_prefixes_and_concurrent_saves_share_a_directory() -> Result<()> {
    let dir = tmpdir("two-savers");
    let (g, ..) = model()?;
    let sess = Session::new(&g);
    sess.run_op(&g.global_variables_initializer()?, &feed! {})?;
    let (model, best) = (Saver::new(&g).max_to_keep(3), Saver::new(&g).max_to_keep(1));
    for step in 1..=6 {
        model.save(&sess, dir.join("model"), Some(step))?;
        if step % 2 == 0 {
            best.save(&sess, dir.join("model-best"), Some(step))?;
        }
    }
    assert_eq!(
        files(&dir),
        [
            "checkpoint",
            "model-4.safetensors",
            "model-5.safetensors",
            "model-6.safetensors",
            "model-best-6.safetensors"
        ]
    );
    assert_eq!(
        latest_checkpoint(&dir)?,
        Some(dir.join("model-best-6.safetensors"))
    );
    let threads: Vec<_> = (0..4u64)
        .map(|t| {
            let (sess, model, dir) = (sess.clone(), model.clone(), dir.clone());
            std::thread::spawn(move || -> Result<()> {
                for i in 0..50 {
                    model.save(&sess, dir.join("model"), Some(100 + t * 50 + i))?;
                }
                Ok(())
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap()?;
    }
    let left = files(&dir);
    assert_eq!(left.len(), 5, "{left:?}");
    assert!(left.contains(&"model-best-6.safetensors".to_string()));
    // The index is TensorFlow's CheckpointState: every kept checkpoint, each on disk.
    let index = std::fs::read_to_string(dir.join("checkpoint")).unwrap();
    let names: Vec<&str> = index
        .lines()
        .filter_map(|l| l.strip_prefix("all_model_checkpoint_paths: "))
        .map(|n| n.trim_matches('"'))
        .collect();
    assert_eq!(names.len(), 4, "{index}");
    for name in names {
        assert!(dir.join(name).exists(), "{name}");
    }
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

/// Every data byte of a checkpoint, corrupted in turn: restore refuses each file, names
/// the tensor whose checksum fails, and changes nothing.
#[test]
fn a_corrupted_data_byte_fails_restore_naming_the_tensor() -> Result<()> {
    let dir = tmpdir("corrupt-bytes");
    let (g, _, _, w, b) = model()?;
    let sess = Session::new(&g);
    sess.run_op(&g.global_variables_initializer()?, &feed! {})?;
    let path = Saver::new(&g).save(&sess, dir.join("model"), None)?;
    let good = std::fs::read(&path).unwrap();
    let header = 8 + u64::from_le_bytes(good[..8].try_into().unwrap()) as usize;
    // The data section: W (6 floats) then b (2 floats), in name order.
    assert_eq!(good.len() - header, 32);
    let target = Session::new(&g);
    target.run_op(&g.global_variables_initializer()?, &feed! {})?;
    let bad = dir.join("bad.safetensors");
    for at in header..good.len() {
        let mut bytes = good.clone();
        bytes[at] ^= 1 << (at % 8);
        std::fs::write(&bad, &bytes).unwrap();
        let err = Saver::new(&g)
            .restore(&target, &bad)
            .unwrap_err()
            .to_string();
        let name = if at - header < 24 { "'W'" } else { "'b'" };
        assert!(
            err.contains(name) && err.contains("crc32c"),
            "byte {at}: {err}"
        );
    }
    assert_eq!(target.eval(&w, &feed! {})?, sess.eval(&w, &feed! {})?);
    assert_eq!(target.eval(&b, &feed! {})?, sess.eval(&b, &feed! {})?);
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}
