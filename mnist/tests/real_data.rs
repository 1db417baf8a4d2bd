//! The loader on the real MNIST files, from `$MNIST_DATA_DIR` (default
//! `../shared/mnist` relative to the workspace root).

mod common;

use std::fs;

use ndarray::Axis;
use rustflow_mnist::{idx, read_data_sets, read_data_sets_with, ReadOptions};

fn options() -> ReadOptions {
    ReadOptions {
        download: false,
        ..ReadOptions::default()
    }
}

#[test]
fn real_mnist_splits_and_first_labels() {
    let dir = common::real_data_dir();
    assert!(
        dir.join("train-images-idx3-ubyte.gz").exists()
            || dir.join("train-images-idx3-ubyte").exists(),
        "real MNIST files not found in {} (set MNIST_DATA_DIR)",
        dir.display()
    );
    let d = read_data_sets_with(&dir, &options()).unwrap();
    assert_eq!(d.train.num_examples(), 55_000);
    assert_eq!(d.validation.num_examples(), 5_000);
    assert_eq!(d.test.num_examples(), 10_000);

    // File order, before any shuffling.
    assert_eq!(
        &d.validation.class_ids()[..10],
        &[5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    );
    assert_eq!(&d.test.class_ids()[..10], &[7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    // The train split starts at training example 5000.
    let raw_labels = idx::read_idx(common::real_file(&dir, "train-labels-idx1-ubyte")).unwrap();
    let idx::IdxData::U8(raw_labels) = raw_labels.data() else {
        panic!("labels are u8")
    };
    assert_eq!(raw_labels.len(), 60_000);
    assert_eq!(d.train.class_ids(), &raw_labels[5000..]);
    assert_eq!(d.validation.class_ids(), &raw_labels[..5000]);
    let raw_images = idx::read_idx(common::real_file(&dir, "train-images-idx3-ubyte")).unwrap();
    assert_eq!(raw_images.dims(), &[60_000, 28, 28]);
    let idx::IdxData::U8(px) = raw_images.data() else {
        panic!("images are u8")
    };
    for (j, &x) in d.train.images().row(0).iter().enumerate() {
        assert_eq!(x, f32::from(px[5000 * 784 + j]) / 255.0);
    }

    for split in [&d.train, &d.validation, &d.test] {
        assert_eq!(split.images().ncols(), 784);
        assert_eq!(split.labels().shape(), &[split.num_examples(), 10]);
        let (lo, hi) = split
            .images()
            .iter()
            .fold((f32::MAX, f32::MIN), |(lo, hi), &x| (lo.min(x), hi.max(x)));
        assert_eq!((lo, hi), (0.0, 1.0));
        for (row, &c) in split.labels().axis_iter(Axis(0)).zip(split.class_ids()) {
            assert_eq!(row.sum(), 1.0);
            assert_eq!(row[[c as usize]], 1.0);
        }
    }
}

#[test]
fn real_mnist_without_one_hot_and_batches() {
    let dir = common::real_data_dir();
    let mut d = read_data_sets(&dir, false).unwrap();
    assert_eq!(d.test.labels().shape(), &[10_000]);
    assert_eq!(d.test.labels()[[0]], 7.0);
    let (x, y) = d.train.next_batch(100);
    assert_eq!(x.shape(), &[100, 784]);
    assert_eq!(y.shape(), &[100]);
    let order = d.train.order().to_vec();
    for (r, &i) in order[..100].iter().enumerate() {
        assert_eq!(y[[r]], f32::from(d.train.class_ids()[i]));
        assert_eq!(x.row(r), d.train.images().row(i));
    }
    // A full epoch and a crossing batch.
    for _ in 0..549 {
        d.train.next_batch(100);
    }
    assert_eq!(d.train.epochs_completed(), 0);
    let (_, y) = d.train.next_batch(50);
    assert_eq!(d.train.epochs_completed(), 1);
    assert_eq!(y.len(), 50);
}

#[test]
fn real_mnist_uncompressed_files() {
    let src = common::real_data_dir();
    let dir = tempfile::tempdir().unwrap();
    // Two plain IDX files, two gzipped ones.
    for (i, name) in common::NAMES.iter().enumerate() {
        let gz_src = src.join(format!("{name}.gz"));
        if i % 2 == 1 || !gz_src.exists() {
            let from = if gz_src.exists() {
                gz_src
            } else {
                src.join(name)
            };
            let plain = idx::read_bytes(from).unwrap();
            if i % 2 == 1 {
                fs::write(dir.path().join(name), plain).unwrap();
            } else {
                fs::write(dir.path().join(format!("{name}.gz")), common::gz(&plain)).unwrap();
            }
        } else {
            fs::copy(gz_src, dir.path().join(format!("{name}.gz"))).unwrap();
        }
    }
    let d = read_data_sets_with(dir.path(), &options()).unwrap();
    assert_eq!(d.train.num_examples(), 55_000);
    assert_eq!(&d.test.class_ids()[..3], &[7, 2, 1]);
}
