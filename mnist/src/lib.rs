//! MNIST for rustflow: the counterpart of TensorFlow 1.x's
//! `tensorflow.examples.tutorials.mnist.input_data.read_data_sets`.
//!
//! [`read_data_sets`] reads the four gzipped (or plain) IDX files of the MNIST
//! database from a directory, downloads missing ones from public mirrors when
//! the `download` feature is on, checks their structure and SHA-256, and
//! returns the train (55,000), validation (5,000) and test (10,000) splits as
//! [`DataSet`]s with TensorFlow's `next_batch`.
//!
//! The [`idx`] module is a general IDX reader for other data sets in the same
//! format (Fashion-MNIST, EMNIST, ...).
//!
//! This crate stands alone: it depends on no other rustflow crate.

#![warn(missing_docs)]

mod dataset;
#[cfg(feature = "download")]
pub mod download;
mod error;
pub mod idx;
mod loader;

use std::path::Path;

pub use dataset::DataSet;
pub use error::Error;

/// Name of the environment variable naming a directory that holds the MNIST
/// files. When it is set (and not empty), files missing from the directory
/// passed to [`read_data_sets`] / [`read_data_sets_with`] are looked for
/// there before any download.
pub const DATA_DIR_ENV: &str = "MNIST_DATA_DIR";

/// Number of pixel rows and columns of an MNIST image.
pub const IMAGE_SIDE: usize = 28;
/// Number of pixels of an MNIST image (`28 * 28`).
pub const IMAGE_PIXELS: usize = IMAGE_SIDE * IMAGE_SIDE;
/// Number of classes (digits 0..=9).
pub const NUM_CLASSES: usize = 10;

/// The public mirrors used by default for downloading (the file name
/// `<name>.gz` is appended to each).
pub const DEFAULT_MIRRORS: [&str; 2] = [
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
];

/// One of the four MNIST files: its base name (without `.gz`) and the SHA-256
/// of its decompressed content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MnistFile {
    /// Base name, e.g. `train-images-idx3-ubyte`; looked for as `<name>.gz`
    /// and `<name>`.
    pub name: &'static str,
    /// Lower-case hex SHA-256 of the decompressed IDX bytes.
    pub sha256: &'static str,
}

/// The training images (60,000 x 28 x 28).
pub const TRAIN_IMAGES: MnistFile = MnistFile {
    name: "train-images-idx3-ubyte",
    sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
};
/// The training labels (60,000).
pub const TRAIN_LABELS: MnistFile = MnistFile {
    name: "train-labels-idx1-ubyte",
    sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
};
/// The test images (10,000 x 28 x 28).
pub const TEST_IMAGES: MnistFile = MnistFile {
    name: "t10k-images-idx3-ubyte",
    sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
};
/// The test labels (10,000).
pub const TEST_LABELS: MnistFile = MnistFile {
    name: "t10k-labels-idx1-ubyte",
    sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
};
/// The four files, in the order train images, train labels, test images, test labels.
pub const MNIST_FILES: [MnistFile; 4] = [TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS];

/// Options of [`read_data_sets_with`].
#[derive(Clone, Debug)]
pub struct ReadOptions {
    /// Labels as one-hot `[n, 10]` (true) or as class ids `[n]` (false).
    /// Default: true.
    pub one_hot: bool,
    /// Number of training examples (the first ones in file order) set aside
    /// as the validation split. Default: 5000.
    pub validation_size: usize,
    /// Seed of the shuffling; train, validation and test each get a
    /// different seed derived from it. Default: 0.
    pub seed: u64,
    /// Download missing files from [`mirrors`](ReadOptions::mirrors).
    /// Default: true if the `download` feature is enabled. Without the
    /// feature, setting it has no effect.
    pub download: bool,
    /// Base URLs to try, in order, for each missing file (`<mirror><name>.gz`).
    /// Default: [`DEFAULT_MIRRORS`].
    pub mirrors: Vec<String>,
    /// Check the SHA-256 of the decompressed content of the four files.
    /// Default: true. (Downloaded files are always checked.)
    pub verify_checksums: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            one_hot: true,
            validation_size: 5000,
            seed: 0,
            download: cfg!(feature = "download"),
            mirrors: DEFAULT_MIRRORS.iter().map(|s| s.to_string()).collect(),
            verify_checksums: true,
        }
    }
}

/// The three splits returned by [`read_data_sets`].
#[derive(Clone, Debug)]
pub struct Datasets {
    /// Training examples 5000..60000 of the training files (55,000 by default).
    pub train: DataSet,
    /// Training examples 0..5000 of the training files.
    pub validation: DataSet,
    /// The 10,000 test examples.
    pub test: DataSet,
}

/// Reads MNIST from `dir` with default options (see [`ReadOptions`]) except
/// `one_hot`, like TensorFlow's `input_data.read_data_sets(dir, one_hot=...)`.
///
/// Files are looked for in `dir` as `<name>.gz` or as the uncompressed
/// `<name>`, then in `$MNIST_DATA_DIR`; missing files are downloaded into
/// `dir` when the `download` feature is on.
///
/// ```no_run
/// let mut mnist = rustflow_mnist::read_data_sets("MNIST_data", true)?;
/// assert_eq!(mnist.train.num_examples(), 55_000);
/// let (images, labels) = mnist.train.next_batch(100);
/// assert_eq!(images.shape(), &[100, 784]);
/// assert_eq!(labels.shape(), &[100, 10]);
/// # Ok::<(), rustflow_mnist::Error>(())
/// ```
pub fn read_data_sets(dir: impl AsRef<Path>, one_hot: bool) -> Result<Datasets, Error> {
    read_data_sets_with(
        dir,
        &ReadOptions {
            one_hot,
            ..ReadOptions::default()
        },
    )
}

/// Reads MNIST from `dir` with the given options. See [`read_data_sets`].
///
/// Errors: [`Error::MissingFiles`] / [`Error::Directory`] / [`Error::Download`]
/// if files cannot be found or fetched, and the format errors
/// ([`Error::Gzip`], [`Error::BadMagic`], [`Error::WrongDims`],
/// [`Error::WrongLength`], [`Error::CountMismatch`],
/// [`Error::LabelOutOfRange`], [`Error::ChecksumMismatch`],
/// [`Error::ValidationSize`]) if a file is not what it should be.
pub fn read_data_sets_with(
    dir: impl AsRef<Path>,
    options: &ReadOptions,
) -> Result<Datasets, Error> {
    loader::read(dir.as_ref(), options)
}
