//! TensorFlow's V2 checkpoint format (a "tensor bundle"): `<prefix>.index`, a LevelDB-format
//! sorted table whose empty key holds a `BundleHeaderProto` and every other key (a tensor
//! name) a `BundleEntryProto`; and `<prefix>.data-00000-of-00001`, the tensors' raw
//! little-endian bytes, each with a masked CRC-32C in its entry.
//!
//! ```
//! use rustflow_graph::Value;
//! use rustflow_runtime::bundle;
//! let dir = std::env::temp_dir().join(format!("rustflow-doc-bundle-{}", std::process::id()));
//! std::fs::create_dir_all(&dir).unwrap();
//! let prefix = dir.join("model.ckpt");
//! bundle::write(&prefix, &[("w".to_string(), Value::new(&[2], vec![1.0f32, 2.0]).unwrap())]).unwrap();
//! let b = bundle::Bundle::open(&prefix).unwrap();
//! assert_eq!(b.entries()[0].name, "w");
//! assert_eq!(b.read("w").unwrap().as_slice::<f32>().unwrap(), &[1.0, 2.0]);
//! # std::fs::remove_dir_all(&dir).ok();
//! ```

use crate::saver::{from_bytes, to_bytes};
use rustflow_graph::{fmt_dims, DType, Error, Result, Value};
use rustflow_proto::{
    masked_crc32c, tensor_shape_proto::Dim, BundleEntryProto, BundleHeaderProto, DataType, Message,
    TensorShapeProto, VersionDef,
};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The table footer's magic number (LevelDB's `kTableMagicNumber`).
const MAGIC: u64 = 0xdb47_7524_8b80_fb57;
/// The footer: two block handles padded to 40 bytes, then the magic.
const FOOTER: usize = 48;
/// Entries between restart points, as LevelDB writes them.
const RESTART_INTERVAL: usize = 16;
/// A data block is closed once its contents reach this size (TensorFlow's table default).
const BLOCK_SIZE: usize = 256 << 10;

/// The `.index` file of a checkpoint prefix.
pub fn index_path(prefix: &Path) -> PathBuf {
    with_suffix(prefix, ".index")
}

/// The only data shard of a checkpoint prefix written by one saver.
pub fn data_path(prefix: &Path) -> PathBuf {
    with_suffix(prefix, ".data-00000-of-00001")
}

fn with_suffix(prefix: &Path, suffix: &str) -> PathBuf {
    let mut s = prefix.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

/// TensorFlow's `DataType` of a dtype.
pub fn proto_dtype(d: DType) -> DataType {
    match d {
        DType::F32 => DataType::DtFloat,
        DType::I32 => DataType::DtInt32,
        DType::I64 => DataType::DtInt64,
        DType::Bool => DataType::DtBool,
        DType::String => DataType::DtString,
    }
}

/// The dtype of a TensorFlow `DataType` wire value (reference types as their base type), or
/// `None` for a type rustflow does not have.
pub fn from_proto_dtype(value: i32) -> Option<DType> {
    Some(match DataType::base(value)? {
        DataType::DtFloat => DType::F32,
        DataType::DtInt32 => DType::I32,
        DataType::DtInt64 => DType::I64,
        DataType::DtBool => DType::Bool,
        DataType::DtString => DType::String,
        _ => return None,
    })
}

/// One tensor of a bundle, as its `.index` entry describes it.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    /// The tensor's name (the key).
    pub name: String,
    /// Its dtype (TensorFlow's `DataType` value).
    pub dtype: i32,
    /// Its shape.
    pub shape: Vec<usize>,
    /// The byte offset of its data in the shard.
    pub offset: u64,
    /// Its size in bytes.
    pub size: u64,
    /// The masked CRC-32C of its bytes.
    pub crc32c: u32,
}

/// An opened checkpoint: the parsed index; tensors are read from the data shard on demand.
#[derive(Debug)]
pub struct Bundle {
    prefix: PathBuf,
    entries: Vec<Entry>,
    data: Vec<u8>,
}

fn bad(path: &Path, msg: impl Into<String>) -> Error {
    Error::Checkpoint {
        path: path.into(),
        msg: msg.into(),
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>> {
    fs::read(path).map_err(|source| Error::Io {
        path: path.into(),
        source,
    })
}

/// Reads a varint at `*pos`, advancing it; `None` when truncated or over 64 bits.
fn varint(b: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *b.get(*pos)?;
        *pos += 1;
        v |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A block of the table, by its handle: checks bounds, the trailer's CRC and compression.
fn block<'a>(index: &Path, file: &'a [u8], handle: (u64, u64), what: &str) -> Result<&'a [u8]> {
    let (off, size) = handle;
    let end = off
        .checked_add(size)
        .and_then(|e| e.checked_add(5))
        .filter(|&e| e <= file.len() as u64)
        .ok_or_else(|| {
            bad(
                index,
                format!(
                    "{what} block at byte {off} (size {size}) runs past the end of the file ({} bytes)",
                    file.len()
                ),
            )
        })? as usize;
    let (off, size) = (off as usize, size as usize);
    let contents = &file[off..off + size];
    let kind = file[off + size];
    let stored = u32::from_le_bytes(file[end - 4..end].try_into().expect("4 bytes"));
    let crc = crc32c::crc32c_append(crc32c::crc32c(contents), &[kind]);
    if rustflow_proto::mask_crc(crc) != stored {
        return Err(bad(
            index,
            format!("{what} block at byte {off}: CRC mismatch (stored {stored:#010x})"),
        ));
    }
    if kind != 0 {
        return Err(bad(
            index,
            format!("{what} block at byte {off}: compression type {kind} is not supported"),
        ));
    }
    Ok(contents)
}

/// The `(key, value)` entries of a block whose contents start at byte `base` of the file.
fn block_entries(index: &Path, contents: &[u8], base: usize) -> Result<Vec<(Vec<u8>, Vec<u8>)>> {
    let err =
        |at: usize, msg: &str| bad(index, format!("block entry at byte {}: {msg}", base + at));
    if contents.len() < 4 {
        return Err(err(0, "block shorter than its restart count"));
    }
    let n = contents.len() - 4;
    let restarts = u32::from_le_bytes(contents[n..].try_into().expect("4 bytes")) as usize;
    let limit = restarts
        .checked_mul(4)
        .and_then(|r| n.checked_sub(r))
        .ok_or_else(|| err(n, "restart array larger than the block"))?;
    let (mut pos, mut out, mut key) = (0, Vec::new(), Vec::<u8>::new());
    while pos < limit {
        let start = pos;
        let mut next = || varint(&contents[..limit], &mut pos).map(|v| v as usize);
        let (Some(shared), Some(unshared), Some(len)) = (next(), next(), next()) else {
            return Err(err(start, "truncated entry header"));
        };
        if shared > key.len() {
            return Err(err(start, "shared key prefix longer than the previous key"));
        }
        let end = pos
            .checked_add(unshared)
            .and_then(|e| e.checked_add(len))
            .filter(|&e| e <= limit)
            .ok_or_else(|| err(start, "entry runs past the block"))?;
        key.truncate(shared);
        key.extend_from_slice(&contents[pos..pos + unshared]);
        out.push((key.clone(), contents[pos + unshared..end].to_vec()));
        pos = end;
    }
    Ok(out)
}

fn handle(index: &Path, b: &[u8], at: usize, what: &str) -> Result<((u64, u64), usize)> {
    let mut pos = 0;
    match (varint(b, &mut pos), varint(b, &mut pos)) {
        (Some(o), Some(s)) => Ok(((o, s), pos)),
        _ => Err(bad(index, format!("bad {what} block handle at byte {at}"))),
    }
}

impl Bundle {
    /// Opens the checkpoint `prefix` (`model.ckpt`): reads and checks its `.index` table and
    /// loads its data shard. Errors name the file and the byte offset.
    pub fn open(prefix: impl AsRef<Path>) -> Result<Bundle> {
        let prefix = prefix.as_ref().to_path_buf();
        let index = index_path(&prefix);
        let file = read_file(&index)?;
        if file.len() < FOOTER {
            return Err(bad(
                &index,
                format!("{} bytes is too short for a table footer", file.len()),
            ));
        }
        let foot = file.len() - FOOTER;
        let magic = u64::from_le_bytes(file[file.len() - 8..].try_into().expect("8 bytes"));
        if magic != MAGIC {
            return Err(bad(
                &index,
                format!("bad table magic {magic:#018x} at byte {}", file.len() - 8),
            ));
        }
        let (_meta, used) = handle(&index, &file[foot..], foot, "metaindex")?;
        let (ih, _) = handle(&index, &file[foot + used..], foot + used, "index")?;
        let index_block = block(&index, &file, ih, "index")?;
        let mut entries = Vec::new();
        let mut header = None;
        for (_, value) in block_entries(&index, index_block, ih.0 as usize)? {
            let (dh, _) = handle(&index, &value, ih.0 as usize, "data")?;
            let data = block(&index, &file, dh, "data")?;
            for (key, value) in block_entries(&index, data, dh.0 as usize)? {
                let name = String::from_utf8_lossy(&key).into_owned();
                if key.is_empty() {
                    header = Some(BundleHeaderProto::decode(value.as_slice()).map_err(|e| {
                        bad(
                            &index,
                            format!("bad bundle header in the block at byte {}: {e}", dh.0),
                        )
                    })?);
                    continue;
                }
                let e = BundleEntryProto::decode(value.as_slice())
                    .map_err(|e| bad(&index, format!("tensor '{name}': bad entry: {e}")))?;
                if e.shard_id != 0 || !e.slices.is_empty() {
                    return Err(bad(
                        &index,
                        format!("tensor '{name}': sharded or sliced tensors are not supported"),
                    ));
                }
                let shape = e
                    .shape
                    .unwrap_or_default()
                    .dim
                    .iter()
                    .map(|d| usize::try_from(d.size))
                    .collect::<std::result::Result<Vec<_>, _>>()
                    .map_err(|_| bad(&index, format!("tensor '{name}': negative dimension")))?;
                entries.push(Entry {
                    name,
                    dtype: e.dtype,
                    shape,
                    offset: e.offset as u64,
                    size: e.size as u64,
                    crc32c: e.crc32c,
                });
            }
        }
        let header = header.ok_or_else(|| bad(&index, "no bundle header (empty key)"))?;
        if header.num_shards != 1 || header.endianness != 0 {
            return Err(bad(
                &index,
                format!(
                    "{} shards, endianness {}: only one little-endian shard is supported",
                    header.num_shards, header.endianness
                ),
            ));
        }
        let data = read_file(&data_path(&prefix))?;
        Ok(Bundle {
            prefix,
            entries,
            data,
        })
    }

    /// The checkpoint prefix.
    pub fn prefix(&self) -> &Path {
        &self.prefix
    }

    /// Every tensor's entry, in key order.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// The entry of the tensor `name`.
    pub fn entry(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.name == name)
    }

    /// Reads the tensor `name`, checking its bounds, size and CRC. Errors name the data file,
    /// the tensor and the byte offset.
    pub fn read(&self, name: &str) -> Result<Value> {
        let path = data_path(&self.prefix);
        let e = self
            .entry(name)
            .ok_or_else(|| bad(&index_path(&self.prefix), format!("no tensor '{name}'")))?;
        let err = |msg: String| {
            bad(
                &path,
                format!("tensor '{name}' at byte {}: {msg}", e.offset),
            )
        };
        let dtype = from_proto_dtype(e.dtype)
            .filter(|d| *d != DType::String)
            .ok_or_else(|| err(format!("dtype {} is not supported", e.dtype)))?;
        let width = match dtype {
            DType::F32 | DType::I32 => 4,
            DType::I64 => 8,
            _ => 1,
        };
        let count = e
            .shape
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d as u64));
        if count.and_then(|c| c.checked_mul(width)) != Some(e.size) {
            return Err(err(format!(
                "size {} does not fit shape {} of {dtype}",
                e.size,
                fmt_dims(&e.shape)
            )));
        }
        let end = e
            .offset
            .checked_add(e.size)
            .filter(|&end| end <= self.data.len() as u64)
            .ok_or_else(|| {
                err(format!(
                    "{} bytes run past the end of the file ({} bytes)",
                    e.size,
                    self.data.len()
                ))
            })?;
        let bytes = &self.data[e.offset as usize..end as usize];
        let crc = masked_crc32c(bytes);
        if crc != e.crc32c {
            return Err(err(format!(
                "CRC mismatch: stored {:#010x}, computed {crc:#010x}",
                e.crc32c
            )));
        }
        from_bytes(dtype, &e.shape, bytes).map_err(|x| err(x.to_string()))
    }
}

/// Builds one block: entries with shared-prefix keys, a restart every 16 entries.
#[derive(Default)]
struct BlockBuilder {
    buf: Vec<u8>,
    restarts: Vec<u32>,
    count: usize,
    last: Vec<u8>,
}

impl BlockBuilder {
    fn add(&mut self, key: &[u8], value: &[u8]) {
        let shared = if self.count.is_multiple_of(RESTART_INTERVAL) {
            self.restarts.push(self.buf.len() as u32);
            0
        } else {
            key.iter()
                .zip(&self.last)
                .take_while(|(a, b)| a == b)
                .count()
        };
        put_varint(&mut self.buf, shared as u64);
        put_varint(&mut self.buf, (key.len() - shared) as u64);
        put_varint(&mut self.buf, value.len() as u64);
        self.buf.extend_from_slice(&key[shared..]);
        self.buf.extend_from_slice(value);
        self.last = key.to_vec();
        self.count += 1;
    }

    /// Appends the block and its trailer to `out`, returning its handle.
    fn finish(mut self, out: &mut Vec<u8>) -> (u64, u64) {
        if self.restarts.is_empty() {
            self.restarts.push(0);
        }
        for r in &self.restarts {
            self.buf.extend_from_slice(&r.to_le_bytes());
        }
        self.buf
            .extend_from_slice(&(self.restarts.len() as u32).to_le_bytes());
        let h = (out.len() as u64, self.buf.len() as u64);
        let crc = crc32c::crc32c_append(crc32c::crc32c(&self.buf), &[0]);
        out.extend_from_slice(&self.buf);
        out.push(0);
        out.extend_from_slice(&rustflow_proto::mask_crc(crc).to_le_bytes());
        h
    }
}

/// The `.index` table of sorted `(key, value)` pairs.
fn table(pairs: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut index = BlockBuilder::default();
    let mut data = BlockBuilder::default();
    let handle_bytes = |h: (u64, u64)| {
        let mut v = Vec::new();
        put_varint(&mut v, h.0);
        put_varint(&mut v, h.1);
        v
    };
    for (i, (k, v)) in pairs.iter().enumerate() {
        data.add(k, v);
        if data.buf.len() >= BLOCK_SIZE || i + 1 == pairs.len() {
            // The block's last key separates it from the next block's keys.
            let last = k.clone();
            let h = std::mem::take(&mut data).finish(&mut out);
            index.add(&last, &handle_bytes(h));
        }
    }
    let meta = BlockBuilder::default().finish(&mut out);
    let ih = index.finish(&mut out);
    let mut footer = handle_bytes(meta);
    footer.extend(handle_bytes(ih));
    footer.resize(40, 0);
    footer.extend_from_slice(&MAGIC.to_le_bytes());
    out.extend(footer);
    out
}

fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp{}", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let written = (|| -> std::io::Result<()> {
        let mut f = fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
        fs::rename(&tmp, path)
    })();
    written.map_err(|source| {
        let _ = fs::remove_file(&tmp);
        Error::Io {
            path: path.into(),
            source,
        }
    })
}

/// Writes `tensors` as the checkpoint `prefix` (`<prefix>.index` and
/// `<prefix>.data-00000-of-00001`), in key order as TensorFlow does. Each file is written to a
/// temporary name and renamed into place, the data shard first.
pub fn write(prefix: impl AsRef<Path>, tensors: &[(String, Value)]) -> Result<()> {
    let prefix = prefix.as_ref();
    let mut sorted: Vec<&(String, Value)> = tensors.iter().collect();
    sorted.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    if let Some(w) = sorted.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(bad(prefix, format!("tensor '{}' appears twice", w[0].0)));
    }
    let header = BundleHeaderProto {
        num_shards: 1,
        endianness: 0,
        version: Some(VersionDef {
            producer: 1,
            ..Default::default()
        }),
    };
    let mut pairs = vec![(Vec::new(), header.encode_to_vec())];
    let mut data = Vec::new();
    for (name, v) in sorted {
        if v.dtype() == DType::String {
            return Err(bad(
                prefix,
                format!("tensor '{name}': string tensors are not supported"),
            ));
        }
        let bytes = to_bytes(v);
        let entry = BundleEntryProto {
            dtype: proto_dtype(v.dtype()) as i32,
            shape: Some(TensorShapeProto {
                dim: v
                    .shape()
                    .iter()
                    .map(|&d| Dim {
                        size: d as i64,
                        ..Default::default()
                    })
                    .collect(),
                unknown_rank: false,
            }),
            offset: data.len() as i64,
            size: bytes.len() as i64,
            crc32c: masked_crc32c(&bytes),
            ..Default::default()
        };
        data.extend_from_slice(&bytes);
        pairs.push((name.as_bytes().to_vec(), entry.encode_to_vec()));
    }
    if let Some(dir) = prefix.parent().filter(|d| !d.as_os_str().is_empty()) {
        fs::create_dir_all(dir).map_err(|source| Error::Io {
            path: dir.into(),
            source,
        })?;
    }
    write_atomic(&data_path(prefix), &data)?;
    write_atomic(&index_path(prefix), &table(&pairs))
}

/// Whether `prefix` names a V2 checkpoint (its `.index` file exists).
pub fn exists(prefix: &Path) -> bool {
    index_path(prefix).is_file()
}
