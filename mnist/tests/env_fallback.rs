//! `MNIST_DATA_DIR` as a fallback directory. Alone in its own test binary
//! because it sets the process environment.

mod common;

use common::{synthetic, write_gz, NAMES};
use rustflow_mnist::{read_data_sets_with, Error, ReadOptions};

#[test]
fn env_dir_is_searched_after_dir_and_named_in_errors() {
    let env_dir = tempfile::tempdir().unwrap();
    write_gz(env_dir.path(), &synthetic(12, 5));
    let dir = tempfile::tempdir().unwrap();
    // One file in `dir` takes precedence over the env dir's copy.
    let mut own = synthetic(12, 5);
    own[3] = common::labels_idx(&[9; 5]);
    std::fs::write(dir.path().join(NAMES[3]), &own[3]).unwrap();

    std::env::set_var("MNIST_DATA_DIR", env_dir.path());
    let o = ReadOptions {
        validation_size: 4,
        download: false,
        verify_checksums: false,
        ..ReadOptions::default()
    };
    let d = read_data_sets_with(dir.path(), &o).unwrap();
    assert_eq!(d.train.num_examples(), 8);
    assert_eq!(d.test.class_ids(), &[9; 5]);

    // Missing everywhere: both directories are named.
    std::fs::remove_file(env_dir.path().join(format!("{}.gz", NAMES[0]))).unwrap();
    match read_data_sets_with(dir.path(), &o) {
        Err(e @ Error::MissingFiles { .. }) => {
            let msg = e.to_string();
            assert!(msg.contains(&env_dir.path().display().to_string()), "{msg}");
            assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
            let Error::MissingFiles {
                files, env_dir: ed, ..
            } = e
            else {
                unreachable!()
            };
            assert_eq!(files, vec![format!("{}.gz", NAMES[0])]);
            assert_eq!(ed.as_deref(), Some(env_dir.path()));
        }
        other => panic!("{other:?}"),
    }

    // Without the variable the three other files are missing.
    std::env::remove_var("MNIST_DATA_DIR");
    assert!(matches!(
        read_data_sets_with(dir.path(), &o),
        Err(Error::MissingFiles { files, env_dir: None, .. }) if files.len() == 3
    ));
}
