//! The error type of this crate.

use std::fmt;
use std::io;
use std::path::PathBuf;

/// Everything that can go wrong while locating, downloading, decompressing or
/// parsing MNIST / IDX files.
///
/// Every variant that concerns a file names its path; variants about the
/// content of a file also give the byte `offset` in the *decompressed* stream
/// (the IDX bytes) where the problem was found.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be opened or read (other than "not found" during lookup).
    #[error("cannot read {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },

    /// The data directory does not exist, is not a directory, or cannot be listed.
    #[error(
        "data directory {} is missing or unreadable ({source}); put the MNIST files there, \
         set MNIST_DATA_DIR to a directory that holds them, or enable downloading",
        path.display()
    )]
    Directory {
        /// The directory.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: io::Error,
    },

    /// The gzip stream ended early or is corrupt.
    #[error(
        "{}: gzip stream truncated or corrupt after {offset} decompressed bytes: {source}",
        path.display()
    )]
    Gzip {
        /// The file.
        path: PathBuf,
        /// Number of decompressed bytes that were produced before the failure.
        offset: u64,
        /// The decoder's error.
        #[source]
        source: io::Error,
    },

    /// The magic number is not the expected one (or not an IDX magic at all).
    #[error(
        "{}: bad magic number 0x{found:08x} at byte offset {offset} (expected {expected})",
        path.display()
    )]
    BadMagic {
        /// The file.
        path: PathBuf,
        /// Byte offset of the magic number (always 0).
        offset: u64,
        /// The magic number found.
        found: u32,
        /// What was expected, in words.
        expected: String,
    },

    /// The number of dimensions or a dimension's size is wrong.
    #[error(
        "{}: wrong dimensions at byte offset {offset}: expected {expected}, found {found:?}",
        path.display()
    )]
    WrongDims {
        /// The file.
        path: PathBuf,
        /// Byte offset of the offending header field.
        offset: u64,
        /// What was expected, in words.
        expected: String,
        /// The dimensions found (as far as they could be read).
        found: Vec<usize>,
    },

    /// The (decompressed) file is shorter or longer than its header says.
    #[error(
        "{}: wrong length: the header implies {expected} bytes but there are {actual} ({})",
        path.display(),
        LengthDetail(*expected, *actual, *offset)
    )]
    WrongLength {
        /// The file.
        path: PathBuf,
        /// Where the problem starts: the end of the data if truncated, the
        /// first trailing byte if too long.
        offset: u64,
        /// Length implied by the header.
        expected: u64,
        /// Actual decompressed length.
        actual: u64,
    },

    /// The images file and the labels file disagree on the number of examples.
    #[error(
        "{} holds {images} images but {} holds {labels} labels",
        images_path.display(),
        labels_path.display()
    )]
    CountMismatch {
        /// The images file.
        images_path: PathBuf,
        /// The labels file.
        labels_path: PathBuf,
        /// Number of images.
        images: usize,
        /// Number of labels.
        labels: usize,
    },

    /// A label is not a digit 0..=9.
    #[error("{}: label {value} at byte offset {offset} is out of range 0..=9", path.display())]
    LabelOutOfRange {
        /// The labels file.
        path: PathBuf,
        /// Byte offset of the label in the decompressed stream.
        offset: u64,
        /// The label value found.
        value: u8,
    },

    /// The SHA-256 of the decompressed content is not the published one.
    #[error(
        "{}: SHA-256 of the decompressed content is {actual}, expected {expected}",
        path.display()
    )]
    ChecksumMismatch {
        /// The file.
        path: PathBuf,
        /// Expected hex digest.
        expected: String,
        /// Actual hex digest.
        actual: String,
    },

    /// Some of the four MNIST files are not present and were not downloaded.
    #[error(
        "MNIST files missing: {} (looked in {}{} for <name>.gz and <name>); put the files \
         there or set MNIST_DATA_DIR to a directory that holds them (downloading is off: \
         it needs the `download` feature and ReadOptions::download)",
        files.join(", "),
        dir.display(),
        env_dir.as_ref().map(|d| format!(" and {} (MNIST_DATA_DIR)", d.display())).unwrap_or_default(),
    )]
    MissingFiles {
        /// The directory that was searched (and where downloads would go).
        dir: PathBuf,
        /// The `MNIST_DATA_DIR` directory that was also searched, if any.
        env_dir: Option<PathBuf>,
        /// Names (`<name>.gz`) of the missing files.
        files: Vec<String>,
    },

    /// Every mirror failed for a file. Downloading stops at the first file
    /// that cannot be fetched; `missing` lists it and every later file that
    /// is still missing.
    #[error(
        "could not download {file} into {}: {}; still missing in {}: {}; put the files there \
         by hand or set MNIST_DATA_DIR to a directory that holds them",
        dir.display(),
        if attempts.is_empty() { "no mirrors configured".to_string() } else { attempts.join("; ") },
        dir.display(),
        missing.join(", ")
    )]
    Download {
        /// Name of the file (`<name>.gz`).
        file: String,
        /// Directory the file was to be written to (and that was searched).
        dir: PathBuf,
        /// One line per mirror tried: URL and reason.
        attempts: Vec<String>,
        /// Names (`<name>.gz`) of all files still missing.
        missing: Vec<String>,
    },

    /// `validation_size` is larger than the training set.
    #[error(
        "validation_size {requested} exceeds the {available} training examples in {}",
        path.display()
    )]
    ValidationSize {
        /// The training images file.
        path: PathBuf,
        /// Requested validation size.
        requested: usize,
        /// Training examples available.
        available: usize,
    },

    /// Arrays passed to [`crate::DataSet::new`] are inconsistent.
    #[error("invalid data set: {0}")]
    InvalidDataSet(String),
}

struct LengthDetail(u64, u64, u64);

impl fmt::Display for LengthDetail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let LengthDetail(expected, actual, offset) = *self;
        if actual < expected {
            write!(f, "truncated: data ends at byte offset {offset}")
        } else {
            write!(
                f,
                "{} trailing bytes starting at byte offset {offset}",
                actual - expected
            )
        }
    }
}
