//! Locating, checking and converting the four MNIST files.

use std::ffi::OsString;
use std::fs;
use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};

use ndarray::{Array1, Array2, ArrayD};
use sha2::{Digest, Sha256};

use crate::{
    idx, DataSet, Datasets, Error, MnistFile, ReadOptions, DATA_DIR_ENV, IMAGE_PIXELS, IMAGE_SIDE,
    MNIST_FILES, NUM_CLASSES, TEST_IMAGES, TEST_LABELS, TRAIN_IMAGES, TRAIN_LABELS,
};

/// Lower-case hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `<name>.gz` or `<name>` in `dir`, if either is a file.
fn locate(dir: &Path, name: &str) -> Result<Option<PathBuf>, Error> {
    for candidate in [dir.join(format!("{name}.gz")), dir.join(name)] {
        match fs::metadata(&candidate) {
            Ok(m) if m.is_file() => return Ok(Some(candidate)),
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) if e.kind() == io::ErrorKind::NotADirectory => {}
            Err(e) => {
                return Err(Error::Io {
                    path: candidate,
                    source: e,
                })
            }
        }
    }
    Ok(None)
}

fn env_dir(dir: &Path) -> Option<PathBuf> {
    std::env::var_os(DATA_DIR_ENV)
        .filter(|v: &OsString| !v.is_empty())
        .map(PathBuf::from)
        .filter(|d| d != dir)
}

/// Finds (or downloads) the four files; returns their paths in `MNIST_FILES` order.
fn resolve(dir: &Path, options: &ReadOptions) -> Result<Vec<PathBuf>, Error> {
    let dir_status = fs::metadata(dir).and_then(|m| {
        if m.is_dir() {
            Ok(())
        } else {
            Err(io::Error::other("not a directory"))
        }
    });
    let env_dir = env_dir(dir);
    let mut found: Vec<Option<PathBuf>> = Vec::with_capacity(4);
    for f in MNIST_FILES {
        let mut p = None;
        if dir_status.is_ok() {
            p = locate(dir, f.name)?;
        }
        if p.is_none() {
            if let Some(e) = &env_dir {
                p = locate(e, f.name)?;
            }
        }
        found.push(p);
    }
    if found.iter().all(Option::is_some) {
        return Ok(found.into_iter().flatten().collect());
    }

    #[cfg(feature = "download")]
    if options.download {
        fs::create_dir_all(dir).map_err(|e| Error::Directory {
            path: dir.to_path_buf(),
            source: e,
        })?;
        let mut out = Vec::with_capacity(4);
        for (i, f) in MNIST_FILES.iter().enumerate() {
            let path = match &found[i] {
                Some(p) => p.clone(),
                None => {
                    let name = format!("{}.gz", f.name);
                    match crate::download::download_file(dir, &name, f.sha256, &options.mirrors) {
                        Ok(p) => p,
                        Err(Error::Download {
                            file,
                            dir,
                            attempts,
                            ..
                        }) => {
                            let missing = MNIST_FILES[i..]
                                .iter()
                                .zip(&found[i..])
                                .filter(|(_, p)| p.is_none())
                                .map(|(f, _)| format!("{}.gz", f.name))
                                .collect();
                            return Err(Error::Download {
                                file,
                                dir,
                                attempts,
                                missing,
                            });
                        }
                        Err(e) => return Err(e),
                    }
                }
            };
            out.push(path);
        }
        return Ok(out);
    }

    if let Err(e) = dir_status {
        return Err(Error::Directory {
            path: dir.to_path_buf(),
            source: e,
        });
    }
    Err(Error::MissingFiles {
        dir: dir.to_path_buf(),
        env_dir,
        files: MNIST_FILES
            .iter()
            .zip(&found)
            .filter(|(_, p)| p.is_none())
            .map(|(f, _)| format!("{}.gz", f.name))
            .collect(),
    })
}

/// A decompressed, structurally valid MNIST file.
struct Checked {
    path: PathBuf,
    bytes: Vec<u8>,
    header_len: usize,
    count: usize,
}

impl Checked {
    fn data(&self) -> &[u8] {
        &self.bytes[self.header_len..]
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Images,
    Labels,
}

/// Checks magic, dims, exact length, label range and (optionally) the checksum
/// of decompressed MNIST bytes, in that order.
fn check(bytes: Vec<u8>, path: &Path, kind: Kind, sha256: Option<&str>) -> Result<Checked, Error> {
    let err_path = || path.to_path_buf();
    let (ndims, magic_word) = match kind {
        Kind::Images => (3usize, "0x00000803 (u8 images, 3 dims)"),
        Kind::Labels => (1usize, "0x00000801 (u8 labels, 1 dim)"),
    };
    if bytes.len() < 4 {
        return Err(Error::WrongLength {
            path: err_path(),
            offset: bytes.len() as u64,
            expected: 4,
            actual: bytes.len() as u64,
        });
    }
    if bytes[..3] != [0, 0, 0x08] {
        return Err(Error::BadMagic {
            path: err_path(),
            offset: 0,
            found: u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
            expected: magic_word.into(),
        });
    }
    let avail_dims = (bytes.len() - 4) / 4;
    let read_dims = |k: usize| -> Vec<usize> {
        (0..k.min(avail_dims))
            .map(|i| {
                let o = 4 + 4 * i;
                u32::from_be_bytes([bytes[o], bytes[o + 1], bytes[o + 2], bytes[o + 3]]) as usize
            })
            .collect()
    };
    if bytes[3] as usize != ndims {
        return Err(Error::WrongDims {
            path: err_path(),
            offset: 3,
            expected: format!("{ndims} dimension(s), magic {magic_word}"),
            found: read_dims(bytes[3] as usize),
        });
    }
    let header_len = 4 + 4 * ndims;
    if bytes.len() < header_len {
        return Err(Error::WrongLength {
            path: err_path(),
            offset: bytes.len() as u64,
            expected: header_len as u64,
            actual: bytes.len() as u64,
        });
    }
    let dims = read_dims(ndims);
    if kind == Kind::Images {
        for (i, &d) in dims.iter().enumerate().skip(1) {
            if d != IMAGE_SIDE {
                return Err(Error::WrongDims {
                    path: err_path(),
                    offset: 4 + 4 * i as u64,
                    expected: format!("[count, {IMAGE_SIDE}, {IMAGE_SIDE}]"),
                    found: dims,
                });
            }
        }
    }
    let count = dims[0];
    let per_item = if kind == Kind::Images {
        IMAGE_PIXELS
    } else {
        1
    };
    // dims[0] < 2^32 and per_item = 784, so this cannot overflow on 64-bit.
    let expected = (header_len as u64) + (count as u64) * (per_item as u64);
    if bytes.len() as u64 != expected {
        return Err(Error::WrongLength {
            path: err_path(),
            offset: (bytes.len() as u64).min(expected),
            expected,
            actual: bytes.len() as u64,
        });
    }
    if kind == Kind::Labels {
        if let Some(i) = bytes[header_len..]
            .iter()
            .position(|&v| v as usize >= NUM_CLASSES)
        {
            return Err(Error::LabelOutOfRange {
                path: err_path(),
                offset: (header_len + i) as u64,
                value: bytes[header_len + i],
            });
        }
    }
    if let Some(want) = sha256 {
        let got = sha256_hex(&bytes);
        if got != want {
            return Err(Error::ChecksumMismatch {
                path: err_path(),
                expected: want.to_string(),
                actual: got,
            });
        }
    }
    Ok(Checked {
        path: path.to_path_buf(),
        bytes,
        header_len,
        count,
    })
}

fn load(path: &Path, kind: Kind, file: &MnistFile, verify: bool) -> Result<Checked, Error> {
    let bytes = idx::read_bytes(path)?;
    check(bytes, path, kind, verify.then_some(file.sha256))
}

/// Images `rows` of the decoded pixels as `[rows, 784]` bytes; the data set reads each as
/// `pixel / 255` (correctly rounded; TensorFlow multiplies by `1/255`, which differs in the
/// last bit for some values).
fn images_u8(pixels: &[u8], rows: Range<usize>) -> Array2<u8> {
    let v = pixels[rows.start * IMAGE_PIXELS..rows.end * IMAGE_PIXELS].to_vec();
    Array2::from_shape_vec((rows.len(), IMAGE_PIXELS), v).expect("length is rows * 784")
}

fn labels_f32(ids: &[u8], one_hot: bool) -> ArrayD<f32> {
    if one_hot {
        let mut a = Array2::<f32>::zeros((ids.len(), NUM_CLASSES));
        for (mut row, &c) in a.rows_mut().into_iter().zip(ids) {
            row[c as usize] = 1.0;
        }
        a.into_dyn()
    } else {
        Array1::from_iter(ids.iter().map(|&c| f32::from(c))).into_dyn()
    }
}

/// SplitMix64 of `seed` mixed with the split number: independent-looking
/// seeds for train (1), validation (2) and test (3).
fn derive_seed(seed: u64, split: u64) -> u64 {
    let mut z = seed ^ split.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn count_agree(images: &Checked, labels: &Checked) -> Result<(), Error> {
    if images.count != labels.count {
        return Err(Error::CountMismatch {
            images_path: images.path.clone(),
            labels_path: labels.path.clone(),
            images: images.count,
            labels: labels.count,
        });
    }
    Ok(())
}

pub(crate) fn read(dir: &Path, options: &ReadOptions) -> Result<Datasets, Error> {
    let paths = resolve(dir, options)?;
    let verify = options.verify_checksums;
    let one_hot = options.one_hot;
    let vsize = options.validation_size;

    // The training images are by far the largest file: decode them on a
    // second thread while this one does the three others.
    let (train_part, test_part) = std::thread::scope(|s| {
        let train_images = s.spawn(|| -> Result<_, Error> {
            let im = load(&paths[0], Kind::Images, &TRAIN_IMAGES, verify)?;
            if vsize > im.count {
                return Err(Error::ValidationSize {
                    path: im.path.clone(),
                    requested: vsize,
                    available: im.count,
                });
            }
            let validation = images_u8(im.data(), 0..vsize);
            let train = images_u8(im.data(), vsize..im.count);
            // Keep the header facts for the count check; drop the bytes now.
            Ok((im.path, im.count, validation, train))
        });
        let rest = (|| -> Result<_, Error> {
            let train_labels = load(&paths[1], Kind::Labels, &TRAIN_LABELS, verify)?;
            let test_images = load(&paths[2], Kind::Images, &TEST_IMAGES, verify)?;
            let test_labels = load(&paths[3], Kind::Labels, &TEST_LABELS, verify)?;
            count_agree(&test_images, &test_labels)?;
            let test_x = images_u8(test_images.data(), 0..test_images.count);
            Ok((train_labels, test_x, test_labels))
        })();
        let train = train_images.join().expect("image decoding thread panicked");
        (train, rest)
    });
    let (train_images_path, train_count, validation_x, train_x) = train_part?;
    let (train_labels, test_x, test_labels) = test_part?;
    if train_count != train_labels.count {
        return Err(Error::CountMismatch {
            images_path: train_images_path,
            labels_path: train_labels.path.clone(),
            images: train_count,
            labels: train_labels.count,
        });
    }

    let train_ids = train_labels.data();
    let validation = DataSet::from_bytes(
        validation_x,
        labels_f32(&train_ids[..vsize], one_hot),
        train_ids[..vsize].to_vec(),
        derive_seed(options.seed, 2),
    )?;
    let train = DataSet::from_bytes(
        train_x,
        labels_f32(&train_ids[vsize..], one_hot),
        train_ids[vsize..].to_vec(),
        derive_seed(options.seed, 1),
    )?;
    let test = DataSet::from_bytes(
        test_x,
        labels_f32(test_labels.data(), one_hot),
        test_labels.data().to_vec(),
        derive_seed(options.seed, 3),
    )?;
    Ok(Datasets {
        train,
        validation,
        test,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_seeds_differ() {
        for s in [0, 1, u64::MAX] {
            let v = [derive_seed(s, 1), derive_seed(s, 2), derive_seed(s, 3)];
            assert!(v[0] != v[1] && v[1] != v[2] && v[0] != v[2]);
        }
        assert_ne!(derive_seed(0, 1), derive_seed(1, 1));
    }

    #[test]
    fn scaling_stays_in_unit_interval() {
        let px: Vec<u8> = (0..IMAGE_PIXELS).map(|i| (i % 256) as u8).collect();
        let a =
            crate::DataSet::from_bytes(images_u8(&px, 0..1), labels_f32(&[0], false), vec![0], 0)
                .unwrap()
                .images();
        assert_eq!(a[[0, 0]], 0.0);
        assert_eq!(a[[0, 255]], 1.0);
        assert!(a.iter().all(|&x| (0.0..=1.0).contains(&x)));
        assert_eq!(a[[0, 128]], 128.0 / 255.0);
    }

    #[test]
    fn labels_one_hot_and_plain() {
        let oh = labels_f32(&[3, 0, 9], true);
        assert_eq!(oh.shape(), &[3, 10]);
        assert_eq!(oh[[0, 3]], 1.0);
        assert_eq!(oh[[2, 9]], 1.0);
        assert_eq!(oh.sum(), 3.0);
        let plain = labels_f32(&[3, 0, 9], false);
        assert_eq!(plain.shape(), &[3]);
        assert_eq!(plain.as_slice().unwrap(), &[3.0, 0.0, 9.0]);
    }

    #[test]
    fn sha256_hex_known_value() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
