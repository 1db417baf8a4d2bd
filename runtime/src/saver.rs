//! `Saver`: checkpoints of a session's variables in the safetensors format or TensorFlow's
//! V2 format ([`crate::bundle`]).

use crate::{bundle, Session};
use rustflow_graph::{fmt_dims, DType, Error, Graph, NodeId, Result, Tensor, Value};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::collections::HashMap;
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

/// The name of the index file that records the checkpoints of a directory, newest last.
const INDEX: &str = "checkpoint";

/// The metadata key of a tensor's CRC32C checksum (of its little-endian data bytes).
const CRC_KEY: &str = "crc32c:";

/// Serializes the part of saves that changes a directory's checkpoints (rename into place,
/// index, pruning) among this process's threads; a lock on the directory itself does the
/// same among processes. Lock order: this mutex, then the directory's lock; nothing waits
/// for rayon's pool under them.
static DIR_LOCK: Mutex<()> = Mutex::new(());

/// Numbers this process's temporary files, so that concurrent saves never share one.
static NEXT_TMP: AtomicU64 = AtomicU64::new(0);

/// Saves and restores variables (`tf.train.Saver`). A checkpoint is one
/// [safetensors](https://huggingface.co/docs/safetensors) file holding every variable under
/// its op name (`conv1/W`), readable from Python tooling as well.
///
/// A save is crash-safe at every instant:
/// 1. it writes the checkpoint to a temporary file of its own (`<file>.tmp.<pid>.<n>`), with
///    a CRC32C checksum of each tensor in the file's metadata, and syncs it;
/// 2. it renames it into place and syncs the directory;
/// 3. it writes the new index the same way (temporary file, sync, rename, directory sync);
/// 4. only then it deletes the checkpoints of its own prefix beyond `max_to_keep` (and those
///    of its prefix that no index names, left by a crash between 2 and 3), and temporary
///    files of processes that no longer run.
///
/// So after a crash, [`latest_checkpoint`] names a complete checkpoint whenever one
/// exists, and savers of other prefixes in the same directory keep theirs. Steps 2 to 4 are
/// serialized among threads and processes. A restore checks every name, dtype, shape and
/// checksum before it changes anything, and names the tensor that does not match.
///
/// ```
/// use rustflow_graph::Graph;
/// use rustflow_ops::{constant, global_variables_initializer, Variable};
/// use rustflow_runtime::{feed, latest_checkpoint, Saver, Session};
/// let dir = std::env::temp_dir().join(format!("rustflow-doc-saver-{}", std::process::id()));
/// let g = Graph::new();
/// let w = Variable::new(&constant(&g, [1.0f32, 2.0], ""), "W").unwrap();
/// let sess = Session::new(&g);
/// sess.run_op(&global_variables_initializer(&g).unwrap(), &feed! {}).unwrap();
/// let saver = Saver::new(&g);
/// let path = saver.save(&sess, dir.join("model"), Some(100)).unwrap();
/// assert_eq!(latest_checkpoint(&dir).unwrap(), Some(path.clone()));
/// let fresh = Session::new(&g);
/// saver.restore(&fresh, &path).unwrap();
/// assert_eq!(fresh.eval(&w, &feed! {}).unwrap().as_slice::<f32>().unwrap(), &[1.0, 2.0]);
/// # std::fs::remove_dir_all(&dir).ok();
/// ```
#[derive(Clone, Debug)]
pub struct Saver {
    vars: Vec<(String, NodeId, DType, Vec<usize>)>,
    /// The graph of each variable: a session of another graph has other nodes under the
    /// same ids, so save and restore check it.
    graphs: Vec<Graph>,
    max_to_keep: usize,
    format: CheckpointFormat,
}

/// The file format a [`Saver`] writes. Either is restored, whichever the saver writes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CheckpointFormat {
    /// One `<prefix>[-step].safetensors` file.
    #[default]
    Safetensors,
    /// TensorFlow's V2 checkpoint: `<prefix>[-step].index` and `.data-00000-of-00001`, with
    /// TensorFlow's text `checkpoint` state file, as `tf.train.Saver` writes.
    TensorFlowV2,
}

impl Saver {
    /// A saver of every variable of `graph` existing now (`tf.train.Saver()`), keeping the
    /// last 5 checkpoints.
    pub fn new(graph: &Graph) -> Saver {
        let infos = graph.global_variables();
        let vars = infos
            .iter()
            .map(|v| {
                graph.with_node(v.node, |n| {
                    let spec = &n.outputs[0];
                    (
                        n.name.clone(),
                        v.node,
                        spec.dtype,
                        spec.shape.to_known().unwrap_or_default(),
                    )
                })
            })
            .collect();
        Saver {
            graphs: vec![graph.clone(); infos.len()],
            vars,
            max_to_keep: 5,
            format: CheckpointFormat::default(),
        }
    }

    /// A saver of the given variables only (`tf.train.Saver(var_list)`).
    pub fn with_vars(vars: &[&Tensor]) -> Saver {
        let graphs = vars.iter().map(|t| t.graph().clone()).collect();
        let vars = vars
            .iter()
            .map(|t| {
                let spec = t.spec();
                (
                    t.op().name(),
                    t.node(),
                    spec.dtype,
                    spec.shape.to_known().unwrap_or_default(),
                )
            })
            .collect();
        Saver {
            vars,
            graphs,
            max_to_keep: 5,
            format: CheckpointFormat::default(),
        }
    }

    /// Fails on a closed session, and on a session of another graph than the variables'.
    fn check_session(&self, sess: &Session) -> Result<()> {
        if sess.is_closed() {
            return Err(Error::ClosedSession);
        }
        for ((name, ..), g) in self.vars.iter().zip(&self.graphs) {
            sess.graph().check_owns(g, &format!("Variable '{name}'"))?;
        }
        Ok(())
    }

    /// A saver of the given variables under the given checkpoint names
    /// (`tf.train.Saver(var_list={"name": var})`).
    ///
    /// ```
    /// use rustflow_graph::Graph;
    /// use rustflow_ops::{constant, Variable};
    /// use rustflow_runtime::Saver;
    /// let g = Graph::new();
    /// let w = Variable::new(&constant(&g, [1.0f32], ""), "W").unwrap();
    /// let _saver = Saver::with_var_map(&[("layer1/weights", &w)]);
    /// ```
    pub fn with_var_map<S: AsRef<str>>(vars: &[(S, &Tensor)]) -> Saver {
        let mut saver = Saver::with_vars(&vars.iter().map(|(_, t)| *t).collect::<Vec<_>>());
        for (v, (name, _)) in saver.vars.iter_mut().zip(vars) {
            v.0 = name.as_ref().to_string();
        }
        saver
    }

    /// Writes checkpoints in `format` (safetensors by default).
    pub fn format(mut self, format: CheckpointFormat) -> Saver {
        self.format = format;
        self
    }

    /// Keeps only the newest `n` checkpoints of a prefix (0 keeps all).
    pub fn max_to_keep(mut self, n: usize) -> Saver {
        self.max_to_keep = n;
        self
    }

    /// Saves the session's variables to `<prefix>-<step>.safetensors` (or
    /// `<prefix>.safetensors` without a step; for [`CheckpointFormat::TensorFlowV2`], the
    /// checkpoint prefix `<prefix>-<step>`), records it as the directory's latest, deletes
    /// checkpoints beyond `max_to_keep`, and returns the path.
    pub fn save(
        &self,
        sess: &Session,
        prefix: impl AsRef<Path>,
        global_step: Option<u64>,
    ) -> Result<PathBuf> {
        self.save_with(sess, prefix.as_ref(), global_step, |f| Box::new(f))
    }

    /// [`Saver::save`] with the file writer wrapped by `wrap` (to inject failures in tests).
    #[doc(hidden)]
    pub fn save_with(
        &self,
        sess: &Session,
        prefix: &Path,
        global_step: Option<u64>,
        wrap: impl FnOnce(File) -> Box<dyn Write>,
    ) -> Result<PathBuf> {
        self.check_session(sess)?;
        let path = checkpoint_path(prefix, global_step, self.format);
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        fs::create_dir_all(&dir).map_err(|source| Error::Io {
            path: dir.clone(),
            source,
        })?;
        if self.format == CheckpointFormat::TensorFlowV2 {
            bundle::write(&path, &self.values(sess)?)?;
            let _in_process = DIR_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
            let _across_processes = lock_dir(&dir)?;
            sync_dir(&dir).map_err(|source| Error::Io {
                path: dir.clone(),
                source,
            })?;
            self.record(&dir, &file_name(prefix), &path)?;
            return Ok(path);
        }
        let bytes = self.serialize(sess, &path)?;
        let tmp = write_synced(&path, &bytes, wrap)?;
        let _in_process = DIR_LOCK.lock().unwrap_or_else(PoisonError::into_inner);
        let _across_processes = lock_dir(&dir)?;
        if let Err(source) = fs::rename(&tmp, &path).and_then(|_| sync_dir(&dir)) {
            let _ = fs::remove_file(&tmp);
            return Err(Error::Io { path, source });
        }
        self.record(&dir, &file_name(prefix), &path)?;
        Ok(path)
    }

    /// Every variable's current value, by checkpoint name.
    fn values(&self, sess: &Session) -> Result<Vec<(String, Value)>> {
        let mut values = Vec::with_capacity(self.vars.len());
        for (name, node, _, _) in &self.vars {
            let slot = sess.resources().variable(*node);
            let v = slot.read().unwrap_or_else(PoisonError::into_inner).clone();
            values.push((
                name.clone(),
                v.ok_or_else(|| Error::Uninitialized { var: name.clone() })?,
            ));
        }
        Ok(values)
    }

    fn serialize(&self, sess: &Session, path: &Path) -> Result<Vec<u8>> {
        let values = self.values(sess)?;
        if let Some((name, _)) = values.iter().find(|(_, v)| v.dtype() == DType::String) {
            return Err(Error::Kernel(format!(
                "variable '{name}' is a string tensor, which safetensors checkpoints cannot hold"
            )));
        }
        let bytes: Vec<(String, Dtype, Vec<usize>, Vec<u8>)> = values
            .iter()
            .map(|(n, v)| {
                (
                    n.clone(),
                    st_dtype(v.dtype()),
                    v.shape().to_vec(),
                    to_bytes(v),
                )
            })
            .collect();
        let crcs: HashMap<String, String> = bytes
            .iter()
            .map(|(n, _, _, b)| {
                (
                    format!("{CRC_KEY}{n}"),
                    format!("{:08x}", crc32c::crc32c(b)),
                )
            })
            .collect();
        let views = bytes
            .iter()
            .map(|(n, d, s, b)| {
                TensorView::new(*d, s.clone(), b)
                    .map(|v| (n.clone(), v))
                    .map_err(|e| Error::Checkpoint {
                        path: path.into(),
                        msg: format!("{n}: {e:?}"),
                    })
            })
            .collect::<Result<Vec<_>>>()?;
        safetensors::serialize(views, &Some(crcs)).map_err(|e| Error::Checkpoint {
            path: path.into(),
            msg: format!("{e:?}"),
        })
    }

    /// Records `path` (complete and in place) as the newest checkpoint of `dir`, then deletes
    /// what the new index no longer names of `prefix`'s checkpoints, and stale temporary
    /// files. The caller holds the directory's locks.
    fn record(&self, dir: &Path, prefix: &str, path: &Path) -> Result<()> {
        let name = file_name(path);
        let mut index: Vec<String> = read_index(dir).into_iter().filter(|n| *n != name).collect();
        index.push(name.clone());
        let ours: Vec<usize> = (0..index.len())
            .filter(|&i| is_checkpoint_of(&index[i], prefix))
            .collect();
        if self.max_to_keep > 0 && ours.len() > self.max_to_keep {
            let drop = &ours[..ours.len() - self.max_to_keep];
            index = (0..index.len())
                .filter(|i| !drop.contains(i))
                .map(|i| index[i].clone())
                .collect();
        }
        let index_path = dir.join(INDEX);
        let tmp = write_synced(&index_path, index_text(&index).as_bytes(), |f| Box::new(f))?;
        fs::rename(&tmp, &index_path)
            .and_then(|_| sync_dir(dir))
            .map_err(|source| {
                let _ = fs::remove_file(&tmp);
                Error::Io {
                    path: index_path,
                    source,
                }
            })?;
        // The new index is durable: now old files may go.
        for entry in fs::read_dir(dir).into_iter().flatten().flatten() {
            let file = entry.file_name().to_string_lossy().into_owned();
            let stale = is_checkpoint_of(&file, prefix)
                && !index.iter().any(|n| n.as_str() == checkpoint_name(&file))
                || stale_temporary(&file);
            if stale {
                let _ = fs::remove_file(entry.path());
            }
        }
        Ok(())
    }

    /// Restores every variable of this saver from `path` into `sess`: a safetensors file, or
    /// a TensorFlow V2 checkpoint prefix (`model.ckpt`, whose `model.ckpt.index` exists).
    /// Every name, dtype, shape and checksum is checked first; on any error nothing changes.
    pub fn restore(&self, sess: &Session, path: impl AsRef<Path>) -> Result<()> {
        self.check_session(sess)?;
        let path = path.as_ref();
        let values = if bundle::exists(path) {
            self.read_bundle(path)?
        } else {
            self.read_safetensors(path)?
        };
        for (node, v) in values {
            *sess
                .resources()
                .variable(node)
                .write()
                .unwrap_or_else(PoisonError::into_inner) = Some(v);
        }
        Ok(())
    }

    /// Every variable's value in the V2 checkpoint `prefix`, checked against the graph.
    fn read_bundle(&self, prefix: &Path) -> Result<Vec<(NodeId, Value)>> {
        let b = bundle::Bundle::open(prefix)?;
        let index = bundle::index_path(prefix);
        let bad = |msg: String| Error::Checkpoint {
            path: index.clone(),
            msg,
        };
        let mut values = Vec::with_capacity(self.vars.len());
        for (name, node, dtype, shape) in &self.vars {
            let e = b
                .entry(name)
                .ok_or_else(|| bad(format!("no variable '{name}' in the checkpoint")))?;
            if bundle::from_proto_dtype(e.dtype) != Some(*dtype) {
                return Err(bad(format!(
                    "variable '{name}' is {} in the checkpoint, {dtype} in the graph",
                    rustflow_proto::text::data_type_name(e.dtype)
                )));
            }
            if &e.shape != shape {
                return Err(bad(format!(
                    "variable '{name}' has shape {} in the checkpoint, {} in the graph",
                    fmt_dims(&e.shape),
                    fmt_dims(shape)
                )));
            }
            values.push((*node, b.read(name)?));
        }
        Ok(values)
    }

    /// Every variable's value in the safetensors file `path`, checked against the graph.
    fn read_safetensors(&self, path: &Path) -> Result<Vec<(NodeId, Value)>> {
        let bytes = fs::read(path).map_err(|source| Error::Io {
            path: path.into(),
            source,
        })?;
        let bad = |msg: String| Error::Checkpoint {
            path: path.into(),
            msg,
        };
        let st = SafeTensors::deserialize(&bytes)
            .map_err(|e| bad(format!("not a valid safetensors file: {e:?}")))?;
        let (header, metadata) = SafeTensors::read_metadata(&bytes)
            .map_err(|e| bad(format!("not a valid safetensors file: {e:?}")))?;
        // Files written by other tools may carry no checksums; ours carry one per tensor.
        let crcs = metadata.metadata().clone().unwrap_or_default();
        let checked = crcs.keys().any(|k| k.starts_with(CRC_KEY));
        let mut values = Vec::with_capacity(self.vars.len());
        for (name, node, dtype, shape) in &self.vars {
            let t = st
                .tensor(name)
                .map_err(|_| bad(format!("no variable '{name}' in the checkpoint")))?;
            if t.dtype() != st_dtype(*dtype) {
                return Err(bad(format!(
                    "variable '{name}' is {:?} in the checkpoint, {dtype} in the graph",
                    t.dtype()
                )));
            }
            if t.shape() != shape.as_slice() {
                return Err(bad(format!(
                    "variable '{name}' has shape {} in the checkpoint, {} in the graph",
                    fmt_dims(t.shape()),
                    fmt_dims(shape)
                )));
            }
            if checked {
                let start = t.data().as_ptr() as usize - bytes.as_ptr() as usize;
                let at = format!("bytes {start}..{}", start + t.data().len());
                let stored = crcs
                    .get(&format!("{CRC_KEY}{name}"))
                    .ok_or_else(|| bad(format!("variable '{name}' has no checksum ({at})")))?;
                let computed = format!("{:08x}", crc32c::crc32c(t.data()));
                if *stored != computed {
                    return Err(bad(format!(
                        "variable '{name}' is corrupt: data checksum (crc32c) {computed}, \
                         recorded {stored} ({at}; header {header} bytes)"
                    )));
                }
            }
            values.push((
                *node,
                from_bytes(*dtype, shape, t.data()).map_err(|e| bad(format!("{name}: {e}")))?,
            ));
        }
        Ok(values)
    }
}

/// The newest checkpoint recorded in `dir` (`tf.train.latest_checkpoint`) whose file
/// exists, if any.
pub fn latest_checkpoint(dir: impl AsRef<Path>) -> Result<Option<PathBuf>> {
    let dir = dir.as_ref();
    Ok(read_index(dir)
        .into_iter()
        .rev()
        .map(|n| dir.join(n))
        .find(|p| p.exists() || bundle::exists(p)))
}

/// Writes `bytes` through `wrap` to a new temporary file beside `path`, named uniquely for
/// this save (`<file>.tmp.<pid>.<n>`), flushes and syncs it, and returns its path. On
/// failure the temporary file is removed.
fn write_synced(
    path: &Path,
    bytes: &[u8],
    wrap: impl FnOnce(File) -> Box<dyn Write>,
) -> Result<PathBuf> {
    let n = NEXT_TMP.fetch_add(1, Ordering::Relaxed);
    let tmp = PathBuf::from(format!("{}.tmp.{}.{n}", path.display(), std::process::id()));
    let written = (|| -> std::io::Result<()> {
        let file = File::create(&tmp)?;
        let mut w = wrap(file.try_clone()?);
        w.write_all(bytes)?;
        w.flush()?;
        drop(w);
        file.sync_all()
    })();
    written.map(|_| tmp.clone()).map_err(|source| {
        let _ = fs::remove_file(&tmp);
        Error::Io { path: tmp, source }
    })
}

/// Syncs a directory, so that a rename in it survives a crash (a no-op where directories
/// cannot be opened).
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    match File::open(dir) {
        Ok(d) => d.sync_all(),
        Err(_) => Ok(()),
    }
}

/// Locks `dir` against other processes' saves until the returned handle is dropped (where
/// directories can be opened and locked).
fn lock_dir(dir: &Path) -> Result<Option<File>> {
    let Ok(d) = File::open(dir) else {
        return Ok(None);
    };
    d.lock().map_err(|source| Error::Io {
        path: dir.into(),
        source,
    })?;
    Ok(Some(d))
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Whether `file` is a checkpoint of `prefix` or one of its files: `<prefix>.safetensors`,
/// `<prefix>-<step>.safetensors`, and TensorFlow's `<prefix>-<step>` with its `.index` and
/// `.data-*` files (so `model` never claims `model-best-3.safetensors`).
fn is_checkpoint_of(file: &str, prefix: &str) -> bool {
    let stem = file
        .strip_suffix(".safetensors")
        .unwrap_or_else(|| checkpoint_name(file));
    stem == prefix
        || stem
            .strip_prefix(prefix)
            .and_then(|s| s.strip_prefix('-'))
            .is_some_and(|step| !step.is_empty() && step.bytes().all(|b| b.is_ascii_digit()))
}

/// The checkpoint a file belongs to, as the index names it: a V2 checkpoint's `.index` and
/// `.data-*` files belong to their prefix; any other file is its own.
fn checkpoint_name(file: &str) -> &str {
    file.strip_suffix(".index")
        .or_else(|| file.find(".data-").map(|i| &file[..i]))
        .unwrap_or(file)
}

/// Whether `file` is a temporary file of a save by a process that no longer runs
/// (`<name>.tmp.<pid>.<n>`). Where processes cannot be listed (no `/proc`), none is.
fn stale_temporary(file: &str) -> bool {
    let mut parts = file.rsplit('.');
    let (Some(n), Some(pid), Some("tmp")) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let (Ok(_), Ok(pid)) = (n.parse::<u64>(), pid.parse::<u32>()) else {
        return false;
    };
    let proc = Path::new("/proc");
    pid != std::process::id() && proc.is_dir() && !proc.join(pid.to_string()).exists()
}

/// The `checkpoint` state file's text: TensorFlow's `CheckpointState`, newest last.
fn index_text(kept: &[String]) -> String {
    rustflow_proto::text::print(&rustflow_proto::CheckpointState {
        model_checkpoint_path: kept.last().cloned().unwrap_or_default(),
        all_model_checkpoint_paths: kept.to_vec(),
        ..Default::default()
    })
}

/// The checkpoints recorded in `dir`'s state file, oldest first (TensorFlow's text
/// `CheckpointState`, or one name a line as older rustflow wrote it).
fn read_index(dir: &Path) -> Vec<String> {
    let Ok(s) = fs::read_to_string(dir.join(INDEX)) else {
        return Vec::new();
    };
    match rustflow_proto::text::parse::<rustflow_proto::CheckpointState>(&s) {
        Ok(state) => {
            let mut all = state.all_model_checkpoint_paths;
            all.retain(|p| *p != state.model_checkpoint_path);
            all.push(state.model_checkpoint_path);
            all.retain(|p| !p.is_empty());
            all
        }
        Err(_) => s
            .lines()
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect(),
    }
}

fn checkpoint_path(prefix: &Path, step: Option<u64>, format: CheckpointFormat) -> PathBuf {
    let mut s = prefix.as_os_str().to_owned();
    if let Some(step) = step {
        s.push(format!("-{step}"));
    }
    if format == CheckpointFormat::Safetensors {
        s.push(".safetensors");
    }
    PathBuf::from(s)
}

fn st_dtype(d: DType) -> Dtype {
    match d {
        DType::F32 => Dtype::F32,
        DType::I32 => Dtype::I32,
        DType::I64 => Dtype::I64,
        DType::Bool => Dtype::BOOL,
        // Refused before anything is written: safetensors has no strings.
        DType::String => Dtype::U8,
    }
}

pub(crate) fn to_bytes(v: &Value) -> Vec<u8> {
    use rustflow_graph::Buffer;
    match v.buffer() {
        Buffer::F32(d) => d.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Buffer::I32(d) => d.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Buffer::I64(d) => d.iter().flat_map(|x| x.to_le_bytes()).collect(),
        Buffer::Bool(d) => d.iter().map(|&x| x as u8).collect(),
        Buffer::String(_) => Vec::new(),
    }
}

pub(crate) fn from_bytes(dtype: DType, shape: &[usize], b: &[u8]) -> Result<Value> {
    match dtype {
        DType::F32 => Value::new(
            shape,
            b.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
        DType::I32 => Value::new(
            shape,
            b.chunks_exact(4)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
        DType::I64 => Value::new(
            shape,
            b.chunks_exact(8)
                .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                .collect(),
        ),
        DType::Bool => Value::new(shape, b.iter().map(|&x| x != 0).collect()),
        DType::String => Err(Error::Kernel(
            "safetensors checkpoints hold no string tensors".into(),
        )),
    }
}
