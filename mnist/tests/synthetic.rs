//! The MNIST loader on small synthetic files written by the tests: splits,
//! conversions, and one test per error variant.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::*;
use rustflow_mnist::{read_data_sets_with, Datasets, Error, ReadOptions};

fn opts(validation_size: usize) -> ReadOptions {
    isolate_from_env();
    ReadOptions {
        validation_size,
        download: false,
        verify_checksums: false,
        ..ReadOptions::default()
    }
}

fn load(dir: &Path, o: &ReadOptions) -> Result<Datasets, Error> {
    read_data_sets_with(dir, o)
}

/// A temp dir holding the synthetic set (12 train, 5 test) with `edit`
/// applied to the decompressed files first.
fn dir_with(edit: impl FnOnce(&mut [Vec<u8>; 4])) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let mut files = synthetic(12, 5);
    edit(&mut files);
    write_gz(dir.path(), &files);
    dir
}

fn gz_path(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("{}.gz", NAMES[i]))
}

#[test]
fn splits_labels_and_pixels() {
    let dir = dir_with(|_| {});
    let d = load(dir.path(), &opts(4)).unwrap();
    assert_eq!(d.validation.num_examples(), 4);
    assert_eq!(d.train.num_examples(), 8);
    assert_eq!(d.test.num_examples(), 5);
    let want: Vec<u8> = (0..12).map(label).collect();
    assert_eq!(d.validation.class_ids(), &want[..4]);
    assert_eq!(d.train.class_ids(), &want[4..]);
    let want_test: Vec<u8> = (100..105).map(label).collect();
    assert_eq!(d.test.class_ids(), &want_test[..]);
    // Train row 0 is training example 4.
    assert_eq!(d.train.images().shape(), &[8, 784]);
    assert_eq!(d.train.images()[[0, 0]], 4.0 / 255.0);
    assert_eq!(d.train.images()[[0, 1]], 1.0);
    assert_eq!(d.test.images()[[2, 0]], 102.0 / 255.0);
    assert!(d.train.images().iter().all(|&x| (0.0..=1.0).contains(&x)));
    // One-hot by default.
    assert_eq!(d.train.labels().shape(), &[8, 10]);
    for (r, &c) in d.train.class_ids().iter().enumerate() {
        assert_eq!(d.train.labels()[[r, c as usize]], 1.0);
        assert_eq!(d.train.labels().index_axis(ndarray::Axis(0), r).sum(), 1.0);
    }
    // Class ids as f32 when one_hot is false.
    let d = load(
        dir.path(),
        &ReadOptions {
            one_hot: false,
            ..opts(4)
        },
    )
    .unwrap();
    assert_eq!(d.test.labels().shape(), &[5]);
    let ids: Vec<u8> = d.test.labels().iter().map(|&x| x as u8).collect();
    assert_eq!(ids, want_test);
}

#[test]
fn validation_size_bounds() {
    let dir = dir_with(|_| {});
    let d = load(dir.path(), &opts(0)).unwrap();
    assert_eq!(d.train.num_examples(), 12);
    assert_eq!(d.validation.num_examples(), 0);
    let d = load(dir.path(), &opts(12)).unwrap();
    assert_eq!(d.train.num_examples(), 0);
    match load(dir.path(), &opts(13)) {
        Err(Error::ValidationSize {
            requested: 13,
            available: 12,
            path,
        }) => assert_eq!(path, gz_path(dir.path(), 0)),
        other => panic!("{other:?}"),
    }
}

#[test]
fn splits_get_different_seeds_and_seed_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    write_gz(dir.path(), &synthetic(60, 30));
    let o = |seed| ReadOptions { seed, ..opts(30) };
    let a = load(dir.path(), &o(1)).unwrap();
    // Validation and test have the same size: their orders must differ.
    assert_ne!(a.validation.order(), a.test.order());
    assert_ne!(a.validation.order(), &a.train.order()[..30]);
    let b = load(dir.path(), &o(1)).unwrap();
    assert_eq!(a.train.order(), b.train.order());
    assert_eq!(a.test.order(), b.test.order());
    let c = load(dir.path(), &o(2)).unwrap();
    assert_ne!(a.train.order(), c.train.order());
}

#[test]
fn plain_uncompressed_files_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let files = synthetic(12, 5);
    for (i, (name, bytes)) in NAMES.iter().zip(&files).enumerate() {
        if i % 2 == 0 {
            fs::write(dir.path().join(name), bytes).unwrap();
        } else {
            fs::write(dir.path().join(format!("{name}.gz")), gz(bytes)).unwrap();
        }
    }
    let d = load(dir.path(), &opts(4)).unwrap();
    assert_eq!(d.train.num_examples(), 8);
    assert_eq!(d.test.images()[[1, 0]], 101.0 / 255.0);
}

#[test]
fn truncated_gzip() {
    let dir = dir_with(|_| {});
    let p = gz_path(dir.path(), 2);
    let z = fs::read(&p).unwrap();
    fs::write(&p, &z[..z.len() / 2]).unwrap();
    match load(dir.path(), &opts(4)) {
        Err(e @ Error::Gzip { .. }) => {
            let Error::Gzip { path, offset, .. } = &e else {
                unreachable!()
            };
            assert_eq!(path, &p);
            assert!(*offset < 16 + 5 * 784);
            assert!(e.to_string().contains("t10k-images-idx3-ubyte.gz"), "{e}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn wrong_magic() {
    // Labels magic on the images file.
    let dir = dir_with(|f| f[0][3] = 1);
    // (3rd byte ok, 4th byte = ndims is wrong: that is a dims error)
    assert!(matches!(
        load(dir.path(), &opts(4)),
        Err(Error::WrongDims { offset: 3, .. })
    ));
    // i32 element type instead of u8.
    let dir = dir_with(|f| f[1][2] = 0x0C);
    match load(dir.path(), &opts(4)) {
        Err(Error::BadMagic {
            path,
            offset: 0,
            found: 0x0000_0C01,
            ..
        }) => assert_eq!(path, gz_path(dir.path(), 1)),
        other => panic!("{other:?}"),
    }
    // Garbage instead of an IDX header.
    let dir = dir_with(|f| f[3] = b"hello, world".to_vec());
    assert!(matches!(
        load(dir.path(), &opts(4)),
        Err(Error::BadMagic {
            found: 0x6865_6c6c,
            ..
        })
    ));
}

#[test]
fn wrong_dims() {
    // 27 rows.
    let dir = dir_with(|f| f[2][11] = 27);
    match load(dir.path(), &opts(4)) {
        Err(e @ Error::WrongDims { .. }) => {
            let Error::WrongDims {
                path,
                offset,
                found,
                ..
            } = &e
            else {
                unreachable!()
            };
            assert_eq!(path, &gz_path(dir.path(), 2));
            assert_eq!(*offset, 8);
            assert_eq!(found, &vec![5, 27, 28]);
        }
        other => panic!("{other:?}"),
    }
    // 2-dimensional labels.
    let dir = dir_with(|f| {
        f[1][3] = 2;
    });
    assert!(matches!(
        load(dir.path(), &opts(4)),
        Err(Error::WrongDims { offset: 3, .. })
    ));
}

#[test]
fn wrong_length_truncated_and_trailing() {
    let dir = dir_with(|f| {
        f[0].pop();
    });
    match load(dir.path(), &opts(4)) {
        Err(Error::WrongLength {
            path,
            offset,
            expected,
            actual,
        }) => {
            assert_eq!(path, gz_path(dir.path(), 0));
            assert_eq!(expected, 16 + 12 * 784);
            assert_eq!(actual, expected - 1);
            assert_eq!(offset, actual);
        }
        other => panic!("{other:?}"),
    }
    let dir = dir_with(|f| f[3].extend_from_slice(&[1, 2, 3]));
    match load(dir.path(), &opts(4)) {
        Err(e @ Error::WrongLength { .. }) => {
            assert!(matches!(
                e,
                Error::WrongLength {
                    offset: 13,
                    expected: 13,
                    actual: 16,
                    ..
                }
            ));
            assert!(e.to_string().contains("3 trailing bytes"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    // A header cut short.
    let dir = dir_with(|f| f[1].truncate(6));
    assert!(matches!(
        load(dir.path(), &opts(4)),
        Err(Error::WrongLength {
            expected: 8,
            actual: 6,
            ..
        })
    ));
}

#[test]
fn counts_disagree() {
    let dir = tempfile::tempdir().unwrap();
    let mut files = synthetic(12, 5);
    files[1] = labels_idx(&[1; 11]);
    write_gz(dir.path(), &files);
    match load(dir.path(), &opts(4)) {
        Err(e @ Error::CountMismatch { .. }) => {
            let Error::CountMismatch {
                images_path,
                labels_path,
                images,
                labels,
            } = &e
            else {
                unreachable!()
            };
            assert_eq!(images_path, &gz_path(dir.path(), 0));
            assert_eq!(labels_path, &gz_path(dir.path(), 1));
            assert_eq!((*images, *labels), (12, 11));
            assert!(e.to_string().contains("12 images"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    let mut files = synthetic(12, 5);
    files[3] = labels_idx(&[1; 6]);
    write_gz(dir.path(), &files);
    assert!(matches!(
        load(dir.path(), &opts(4)),
        Err(Error::CountMismatch {
            images: 5,
            labels: 6,
            ..
        })
    ));
}

#[test]
fn label_out_of_range() {
    let dir = dir_with(|f| f[1][8 + 3] = 10);
    match load(dir.path(), &opts(4)) {
        Err(e @ Error::LabelOutOfRange { .. }) => {
            let msg = e.to_string();
            let Error::LabelOutOfRange {
                path,
                offset,
                value,
            } = e
            else {
                unreachable!()
            };
            assert_eq!(path, gz_path(dir.path(), 1));
            assert_eq!((offset, value), (11, 10));
            assert!(
                msg.contains("offset 11") && msg.contains("label 10"),
                "{msg}"
            );
        }
        other => panic!("{other:?}"),
    }
    let dir = dir_with(|f| f[3][8 + 4] = 255);
    assert!(matches!(
        load(dir.path(), &opts(4)),
        Err(Error::LabelOutOfRange {
            offset: 12,
            value: 255,
            ..
        })
    ));
}

#[test]
fn checksum_mismatch() {
    let dir = dir_with(|_| {});
    let o = ReadOptions {
        verify_checksums: true,
        ..opts(4)
    };
    match load(dir.path(), &o) {
        Err(Error::ChecksumMismatch {
            path,
            expected,
            actual,
        }) => {
            assert_eq!(path, gz_path(dir.path(), 0));
            assert_eq!(expected, rustflow_mnist::TRAIN_IMAGES.sha256);
            assert_eq!(actual.len(), 64);
            assert_ne!(actual, expected);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_files_say_what_where_and_how() {
    let dir = tempfile::tempdir().unwrap();
    let files = synthetic(12, 5);
    fs::write(gz_path(dir.path(), 0), gz(&files[0])).unwrap();
    fs::write(dir.path().join(NAMES[3]), &files[3]).unwrap();
    match load(dir.path(), &opts(4)) {
        Err(e @ Error::MissingFiles { .. }) => {
            let msg = e.to_string();
            let Error::MissingFiles {
                dir: d,
                files,
                env_dir,
            } = e
            else {
                unreachable!()
            };
            assert_eq!(d, dir.path());
            assert_eq!(env_dir, None);
            assert_eq!(
                files,
                vec![
                    "train-labels-idx1-ubyte.gz".to_string(),
                    "t10k-images-idx3-ubyte.gz".to_string()
                ]
            );
            assert!(msg.contains(&dir.path().display().to_string()), "{msg}");
            assert!(msg.contains("MNIST_DATA_DIR"), "{msg}");
            assert!(msg.contains("train-labels-idx1-ubyte.gz"), "{msg}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn missing_or_unreadable_directory() {
    let dir = tempfile::tempdir().unwrap();
    let nowhere = dir.path().join("nowhere");
    match load(&nowhere, &opts(4)) {
        Err(e @ Error::Directory { .. }) => {
            assert!(e.to_string().contains("nowhere"), "{e}");
            assert!(e.to_string().contains("MNIST_DATA_DIR"), "{e}");
        }
        other => panic!("{other:?}"),
    }
    // A file where the directory should be.
    let file = dir.path().join("file");
    fs::write(&file, b"x").unwrap();
    assert!(matches!(
        load(&file, &opts(4)),
        Err(Error::Directory { .. })
    ));
}

#[test]
fn files_that_are_directories_are_not_files() {
    let dir = dir_with(|_| {});
    fs::remove_file(gz_path(dir.path(), 1)).unwrap();
    fs::create_dir(gz_path(dir.path(), 1)).unwrap();
    assert!(matches!(
        load(dir.path(), &opts(4)),
        Err(Error::MissingFiles { .. })
    ));
}

#[test]
fn next_batch_over_loaded_split() {
    let dir = dir_with(|_| {});
    let mut d = load(dir.path(), &opts(4)).unwrap();
    let (x, y) = d.train.next_batch(5);
    assert_eq!(x.shape(), &[5, 784]);
    assert_eq!(y.shape(), &[5, 10]);
    let (x, _) = d.train.next_batch(5);
    assert_eq!(x.shape(), &[5, 784]);
    assert_eq!(d.train.epochs_completed(), 1);
    let (x, y) = d.train.next_batch(0);
    assert_eq!((x.shape(), y.shape()), (&[0, 784][..], &[0, 10][..]));
}
