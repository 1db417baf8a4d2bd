//! A general reader for the IDX file format (MNIST, Fashion-MNIST, EMNIST, ...).
//!
//! An IDX file is a big-endian `u32` magic number `0x0000TTDD` — `TT` is the
//! element type code, `DD` the number of dimensions — followed by one
//! big-endian `u32` per dimension and then the elements, row-major, each
//! big-endian. Files may be gzipped; compression is detected by the gzip magic
//! bytes `1f 8b`, not by the file name.
//!
//! This module checks only the structure (magic, header, exact length). It
//! does not verify checksums: that is the business of the MNIST loader
//! ([`crate::read_data_sets`]).
//!
//! ```
//! use rustflow_mnist::idx::{parse_idx, IdxData};
//! use std::path::Path;
//! // A 2x3 u8 matrix.
//! let bytes = [0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6];
//! let a = parse_idx(&bytes, Path::new("<memory>")).unwrap();
//! assert_eq!(a.dims(), &[2, 3]);
//! assert!(matches!(a.data(), IdxData::U8(v) if v == &[1, 2, 3, 4, 5, 6]));
//! ```

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;
use ndarray::{ArrayD, IxDyn};

use crate::Error;

/// The element type of an IDX file (third byte of the magic number).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ElementType {
    /// `0x08`: unsigned byte.
    U8,
    /// `0x09`: signed byte.
    I8,
    /// `0x0B`: big-endian `i16`.
    I16,
    /// `0x0C`: big-endian `i32`.
    I32,
    /// `0x0D`: big-endian `f32`.
    F32,
    /// `0x0E`: big-endian `f64`.
    F64,
}

impl ElementType {
    /// The type for a code byte, if it is one of the six defined codes.
    pub fn from_code(code: u8) -> Option<ElementType> {
        Some(match code {
            0x08 => ElementType::U8,
            0x09 => ElementType::I8,
            0x0B => ElementType::I16,
            0x0C => ElementType::I32,
            0x0D => ElementType::F32,
            0x0E => ElementType::F64,
            _ => return None,
        })
    }

    /// The code byte of this type.
    pub fn code(self) -> u8 {
        match self {
            ElementType::U8 => 0x08,
            ElementType::I8 => 0x09,
            ElementType::I16 => 0x0B,
            ElementType::I32 => 0x0C,
            ElementType::F32 => 0x0D,
            ElementType::F64 => 0x0E,
        }
    }

    /// Size of one element in bytes.
    pub fn size(self) -> usize {
        match self {
            ElementType::U8 | ElementType::I8 => 1,
            ElementType::I16 => 2,
            ElementType::I32 | ElementType::F32 => 4,
            ElementType::F64 => 8,
        }
    }
}

/// A validated IDX header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxHeader {
    /// Element type.
    pub element_type: ElementType,
    /// Size of each dimension, outermost first.
    pub dims: Vec<usize>,
    /// Length of the header in bytes (`4 + 4 * dims.len()`): the data starts here.
    pub header_len: usize,
    /// Number of elements (product of `dims`).
    pub num_elements: usize,
}

/// The typed elements of an IDX file.
#[derive(Clone, Debug, PartialEq)]
pub enum IdxData {
    /// Unsigned bytes.
    U8(Vec<u8>),
    /// Signed bytes.
    I8(Vec<i8>),
    /// 16-bit integers.
    I16(Vec<i16>),
    /// 32-bit integers.
    I32(Vec<i32>),
    /// 32-bit floats.
    F32(Vec<f32>),
    /// 64-bit floats.
    F64(Vec<f64>),
}

impl IdxData {
    /// Number of elements.
    pub fn len(&self) -> usize {
        match self {
            IdxData::U8(v) => v.len(),
            IdxData::I8(v) => v.len(),
            IdxData::I16(v) => v.len(),
            IdxData::I32(v) => v.len(),
            IdxData::F32(v) => v.len(),
            IdxData::F64(v) => v.len(),
        }
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The element type.
    pub fn element_type(&self) -> ElementType {
        match self {
            IdxData::U8(_) => ElementType::U8,
            IdxData::I8(_) => ElementType::I8,
            IdxData::I16(_) => ElementType::I16,
            IdxData::I32(_) => ElementType::I32,
            IdxData::F32(_) => ElementType::F32,
            IdxData::F64(_) => ElementType::F64,
        }
    }
}

/// An n-dimensional array read from an IDX file.
#[derive(Clone, Debug, PartialEq)]
pub struct IdxArray {
    dims: Vec<usize>,
    data: IdxData,
}

impl IdxArray {
    /// Size of each dimension, outermost first.
    pub fn dims(&self) -> &[usize] {
        &self.dims
    }

    /// The elements, row-major.
    pub fn data(&self) -> &IdxData {
        &self.data
    }

    /// The element type.
    pub fn element_type(&self) -> ElementType {
        self.data.element_type()
    }

    /// Number of elements.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether there are no elements.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// Splits into dimensions and data.
    pub fn into_parts(self) -> (Vec<usize>, IdxData) {
        (self.dims, self.data)
    }

    /// The elements converted to `f32` (no scaling), shaped by `dims`.
    /// `f64` and `i32` values that are not exactly representable are rounded.
    pub fn to_f32(&self) -> ArrayD<f32> {
        let v: Vec<f32> = match &self.data {
            IdxData::U8(v) => v.iter().map(|&x| f32::from(x)).collect(),
            IdxData::I8(v) => v.iter().map(|&x| f32::from(x)).collect(),
            IdxData::I16(v) => v.iter().map(|&x| f32::from(x)).collect(),
            IdxData::I32(v) => v.iter().map(|&x| x as f32).collect(),
            IdxData::F32(v) => v.clone(),
            IdxData::F64(v) => v.iter().map(|&x| x as f32).collect(),
        };
        ArrayD::from_shape_vec(IxDyn(&self.dims), v)
            .expect("IdxArray invariant: product of dims equals number of elements")
    }
}

const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];

/// Whether `bytes` start with the gzip magic `1f 8b`.
pub fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&GZIP_MAGIC)
}

/// Decompresses `raw` if it is gzipped (by magic bytes), else returns it unchanged.
///
/// Concatenated gzip members are decoded as one stream. A truncated or corrupt
/// stream gives [`Error::Gzip`] with the number of bytes decoded before the
/// failure.
pub fn decompress(raw: Vec<u8>, source: &Path) -> Result<Vec<u8>, Error> {
    if !is_gzip(&raw) {
        return Ok(raw);
    }
    // Capacity hint: the gzip trailer's ISIZE (uncompressed size mod 2^32),
    // bounded by deflate's maximum ratio so that a bogus trailer cannot make
    // us reserve absurd amounts of memory.
    let hint = if raw.len() >= 18 {
        let n = raw.len();
        u32::from_le_bytes([raw[n - 4], raw[n - 3], raw[n - 2], raw[n - 1]]) as usize
    } else {
        0
    };
    let cap = hint.min(raw.len().saturating_mul(1032));
    let mut out = Vec::with_capacity(cap);
    match MultiGzDecoder::new(&raw[..]).read_to_end(&mut out) {
        Ok(_) => Ok(out),
        Err(source_err) => Err(Error::Gzip {
            path: source.to_path_buf(),
            offset: out.len() as u64,
            source: source_err,
        }),
    }
}

/// Reads a whole file and decompresses it if it is gzipped.
pub fn read_bytes(path: impl AsRef<Path>) -> Result<Vec<u8>, Error> {
    let path = path.as_ref();
    let raw = fs::read(path).map_err(|e| Error::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    decompress(raw, path)
}

fn be_u32(bytes: &[u8], at: usize) -> u32 {
    u32::from_be_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]])
}

fn short(source: &Path, needed: usize, actual: usize) -> Error {
    Error::WrongLength {
        path: source.to_path_buf(),
        offset: actual as u64,
        expected: needed as u64,
        actual: actual as u64,
    }
}

/// Parses and validates the header of (decompressed) IDX bytes, including the
/// check that the total length is exactly header + data.
pub fn parse_header(bytes: &[u8], source: &Path) -> Result<IdxHeader, Error> {
    if bytes.len() < 4 {
        return Err(short(source, 4, bytes.len()));
    }
    let magic = be_u32(bytes, 0);
    let element_type = match (bytes[0], bytes[1], ElementType::from_code(bytes[2])) {
        (0, 0, Some(t)) => t,
        _ => {
            return Err(Error::BadMagic {
                path: source.to_path_buf(),
                offset: 0,
                found: magic,
                expected: "0x0000TTDD with TT one of 08, 09, 0B, 0C, 0D, 0E (IDX)".into(),
            })
        }
    };
    let ndims = bytes[3] as usize;
    let header_len = 4 + 4 * ndims;
    if bytes.len() < header_len {
        return Err(short(source, header_len, bytes.len()));
    }
    let dims: Vec<usize> = (0..ndims)
        .map(|i| be_u32(bytes, 4 + 4 * i) as usize)
        .collect();
    let num_elements = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    // Like ndarray, also require the product of the non-zero dimensions to
    // fit in an isize: otherwise a shape such as [0, 2^32-1, 2^32-1, 2^32-1]
    // would describe zero elements yet be unrepresentable as an array.
    let nonzero_ok = dims
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .is_some_and(|p| p <= isize::MAX as usize);
    let num_elements = num_elements.filter(|_| nonzero_ok);
    let total = num_elements
        .and_then(|n| n.checked_mul(element_type.size()))
        .and_then(|b| b.checked_add(header_len));
    let (Some(num_elements), Some(total)) = (num_elements, total) else {
        return Err(Error::WrongDims {
            path: source.to_path_buf(),
            offset: 4,
            expected: "dimensions whose total size fits in memory".into(),
            found: dims,
        });
    };
    if bytes.len() != total {
        return Err(Error::WrongLength {
            path: source.to_path_buf(),
            offset: bytes.len().min(total) as u64,
            expected: total as u64,
            actual: bytes.len() as u64,
        });
    }
    Ok(IdxHeader {
        element_type,
        dims,
        header_len,
        num_elements,
    })
}

fn decode_data(t: ElementType, data: &[u8]) -> IdxData {
    fn conv<const N: usize, T>(data: &[u8], f: fn([u8; N]) -> T) -> Vec<T> {
        data.chunks_exact(N)
            .map(|c| f(c.try_into().expect("chunks_exact yields N bytes")))
            .collect()
    }
    match t {
        ElementType::U8 => IdxData::U8(data.to_vec()),
        ElementType::I8 => IdxData::I8(data.iter().map(|&b| b as i8).collect()),
        ElementType::I16 => IdxData::I16(conv(data, i16::from_be_bytes)),
        ElementType::I32 => IdxData::I32(conv(data, i32::from_be_bytes)),
        ElementType::F32 => IdxData::F32(conv(data, f32::from_be_bytes)),
        ElementType::F64 => IdxData::F64(conv(data, f64::from_be_bytes)),
    }
}

/// Parses IDX bytes, gzipped or not (detected by the gzip magic `1f 8b`).
///
/// `source` is only used to name the data in errors.
pub fn parse_idx(bytes: &[u8], source: &Path) -> Result<IdxArray, Error> {
    if is_gzip(bytes) {
        let plain = decompress(bytes.to_vec(), source)?;
        return parse_plain(plain, source);
    }
    let h = parse_header(bytes, source)?;
    Ok(IdxArray {
        data: decode_data(h.element_type, &bytes[h.header_len..]),
        dims: h.dims,
    })
}

fn parse_plain(mut bytes: Vec<u8>, source: &Path) -> Result<IdxArray, Error> {
    let h = parse_header(&bytes, source)?;
    let data = if h.element_type == ElementType::U8 {
        // Reuse the buffer: no second copy of the (possibly large) data.
        bytes.drain(..h.header_len);
        IdxData::U8(bytes)
    } else {
        decode_data(h.element_type, &bytes[h.header_len..])
    };
    Ok(IdxArray { dims: h.dims, data })
}

/// Reads an IDX file, gzipped or not (detected by content, not by extension).
pub fn read_idx(path: impl AsRef<Path>) -> Result<IdxArray, Error> {
    let path: PathBuf = path.as_ref().to_path_buf();
    let bytes = read_bytes(&path)?;
    parse_plain(bytes, &path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;

    fn p() -> &'static Path {
        Path::new("mem.idx")
    }

    fn header(code: u8, dims: &[u32]) -> Vec<u8> {
        let mut v = vec![0, 0, code, dims.len() as u8];
        for d in dims {
            v.extend_from_slice(&d.to_be_bytes());
        }
        v
    }

    fn gz(bytes: &[u8]) -> Vec<u8> {
        let mut e = GzEncoder::new(Vec::new(), Compression::default());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn parses_every_element_type() {
        let mut b = header(0x08, &[3]);
        b.extend_from_slice(&[1, 2, 255]);
        assert_eq!(
            parse_idx(&b, p()).unwrap().data(),
            &IdxData::U8(vec![1, 2, 255])
        );

        let mut b = header(0x09, &[2]);
        b.extend_from_slice(&[0xff, 0x7f]);
        assert_eq!(
            parse_idx(&b, p()).unwrap().data(),
            &IdxData::I8(vec![-1, 127])
        );

        let mut b = header(0x0B, &[2]);
        b.extend_from_slice(&(-2i16).to_be_bytes());
        b.extend_from_slice(&300i16.to_be_bytes());
        assert_eq!(
            parse_idx(&b, p()).unwrap().data(),
            &IdxData::I16(vec![-2, 300])
        );

        let mut b = header(0x0C, &[1, 2]);
        b.extend_from_slice(&(-70000i32).to_be_bytes());
        b.extend_from_slice(&5i32.to_be_bytes());
        let a = parse_idx(&b, p()).unwrap();
        assert_eq!(a.dims(), &[1, 2]);
        assert_eq!(a.data(), &IdxData::I32(vec![-70000, 5]));

        let mut b = header(0x0D, &[2]);
        b.extend_from_slice(&1.5f32.to_be_bytes());
        b.extend_from_slice(&(-0.25f32).to_be_bytes());
        let a = parse_idx(&b, p()).unwrap();
        assert_eq!(a.data(), &IdxData::F32(vec![1.5, -0.25]));
        assert_eq!(a.to_f32().as_slice().unwrap(), &[1.5, -0.25]);

        let mut b = header(0x0E, &[1]);
        b.extend_from_slice(&2.5f64.to_be_bytes());
        assert_eq!(parse_idx(&b, p()).unwrap().data(), &IdxData::F64(vec![2.5]));
    }

    #[test]
    fn gzip_detected_by_magic_and_files_by_content() {
        let mut b = header(0x08, &[2, 2]);
        b.extend_from_slice(&[9, 8, 7, 6]);
        let plain = parse_idx(&b, p()).unwrap();
        assert_eq!(parse_idx(&gz(&b), p()).unwrap(), plain);
        assert_eq!(plain.to_f32().shape(), &[2, 2]);

        let dir = tempfile::tempdir().unwrap();
        // Misleading extensions on purpose: detection is by content.
        let f1 = dir.path().join("data.gz");
        fs::write(&f1, &b).unwrap();
        let f2 = dir.path().join("data.idx");
        fs::write(&f2, gz(&b)).unwrap();
        assert_eq!(read_idx(&f1).unwrap(), plain);
        assert_eq!(read_idx(&f2).unwrap(), plain);
        // Concatenated gzip members decode as one stream.
        let mut two = gz(&b[..5]);
        two.extend_from_slice(&gz(&b[5..]));
        assert_eq!(parse_idx(&two, p()).unwrap(), plain);
    }

    #[test]
    fn missing_file_is_io_error() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("nope");
        match read_idx(&f) {
            Err(Error::Io { path, .. }) => assert_eq!(path, f),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn bad_magic() {
        for b in [
            vec![1, 0, 8, 1, 0, 0, 0, 0],
            vec![0, 0, 0x0A, 1, 0, 0, 0, 0],
        ] {
            match parse_idx(&b, p()) {
                Err(Error::BadMagic {
                    offset: 0,
                    found,
                    path,
                    ..
                }) => {
                    assert_eq!(found, u32::from_be_bytes([b[0], b[1], b[2], b[3]]));
                    assert_eq!(path, p());
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn wrong_lengths() {
        // Shorter than the magic.
        assert!(matches!(
            parse_idx(&[0, 0], p()),
            Err(Error::WrongLength {
                expected: 4,
                actual: 2,
                offset: 2,
                ..
            })
        ));
        // Header cut inside the dims.
        assert!(matches!(
            parse_idx(&[0, 0, 8, 2, 0, 0, 0, 1, 0], p()),
            Err(Error::WrongLength {
                expected: 12,
                actual: 9,
                offset: 9,
                ..
            })
        ));
        // Data truncated.
        let mut b = header(0x0C, &[3]);
        b.extend_from_slice(&[0; 11]);
        assert!(matches!(
            parse_idx(&b, p()),
            Err(Error::WrongLength {
                expected: 20,
                actual: 19,
                offset: 19,
                ..
            })
        ));
        // Trailing byte.
        let mut b = header(0x08, &[3]);
        b.extend_from_slice(&[0; 4]);
        let e = parse_idx(&b, p()).unwrap_err();
        assert!(matches!(
            e,
            Error::WrongLength {
                expected: 11,
                actual: 12,
                offset: 11,
                ..
            }
        ));
        assert!(
            e.to_string()
                .contains("1 trailing bytes starting at byte offset 11"),
            "{e}"
        );
    }

    #[test]
    fn overflowing_dims_do_not_allocate() {
        let b = header(0x0E, &[u32::MAX, u32::MAX, u32::MAX, u32::MAX]);
        assert!(matches!(parse_idx(&b, p()), Err(Error::WrongDims { .. })));
        let b = header(0x08, &[u32::MAX, u32::MAX]);
        assert!(matches!(parse_idx(&b, p()), Err(Error::WrongDims { .. })));
        // Representable but absent: a length error, and nothing is allocated.
        let b = header(0x0E, &[u32::MAX, 2]);
        assert!(matches!(
            parse_idx(&b, p()),
            Err(Error::WrongLength { expected, actual: 12, .. }) if expected == 12 + 8 * 2 * u32::MAX as u64
        ));
    }

    #[test]
    fn empty_array_with_huge_other_dims_is_rejected() {
        // Found by the fuzzer: 0 elements, but the other dims overflow isize.
        let b = [
            0, 0, 0x0b, 6, 0, 0, 0x43, 0, 0, 0, 0, 0, 0, 0, 0, 0x43, 0x43, 0x43, 0x43, 0x43, 0x43,
            0x43, 0, 2, 0xff, 0xfe, 1, 0,
        ];
        assert!(matches!(
            parse_idx(&b, p()),
            Err(Error::WrongDims { offset: 4, .. })
        ));
        // Zero-sized arrays with modest dims are fine.
        let a = parse_idx(&header(0x0B, &[0, 5, 7]), p()).unwrap();
        assert_eq!(a.to_f32().shape(), &[0, 5, 7]);
        assert!(a.is_empty());
    }

    #[test]
    fn zero_dims_is_a_scalar() {
        let b = vec![0, 0, 8, 0, 42];
        let a = parse_idx(&b, p()).unwrap();
        assert_eq!(a.dims(), &[] as &[usize]);
        assert_eq!(a.to_f32().into_raw_vec_and_offset().0, vec![42.0]);
    }

    #[test]
    fn truncated_gzip_reports_offset() {
        let mut b = header(0x08, &[4000]);
        b.extend((0..4000u32).map(|i| (i * 7919 % 251) as u8));
        let z = gz(&b);
        let cut = &z[..z.len() - 10];
        match parse_idx(cut, p()) {
            Err(Error::Gzip { offset, path, .. }) => {
                assert!(offset <= b.len() as u64);
                assert_eq!(path, p());
            }
            other => panic!("{other:?}"),
        }
        // Corrupt trailer (CRC) is also detected.
        let mut bad = z;
        let n = bad.len();
        bad[n - 6] ^= 0xff;
        assert!(matches!(parse_idx(&bad, p()), Err(Error::Gzip { .. })));
    }
}
