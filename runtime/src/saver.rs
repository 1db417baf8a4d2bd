//! `Saver`: checkpoints of a session's variables in the safetensors format.

use crate::Session;
use rustflow_graph::{fmt_dims, DType, Error, Graph, NodeId, Result, Tensor, Value};
use safetensors::tensor::{Dtype, SafeTensors, TensorView};
use std::fs::{self, File};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::PoisonError;

/// The name of the index file that records the newest checkpoint of a directory.
const INDEX: &str = "checkpoint";

/// Saves and restores variables (`tf.train.Saver`). A checkpoint is one
/// [safetensors](https://huggingface.co/docs/safetensors) file holding every variable under
/// its op name (`conv1/W`), readable from Python tooling as well.
///
/// A save writes a temporary file in the same directory, flushes and syncs it, then renames
/// it into place: a crash or a full disk mid-save leaves the previous checkpoint intact.
/// A restore checks every name, dtype and shape before it changes anything.
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

    /// Keeps only the newest `n` checkpoints of a prefix (0 keeps all).
    pub fn max_to_keep(mut self, n: usize) -> Saver {
        self.max_to_keep = n;
        self
    }

    /// Saves the session's variables to `<prefix>-<step>.safetensors` (or
    /// `<prefix>.safetensors` without a step), records it as the directory's latest, deletes
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
        let path = checkpoint_path(prefix, global_step);
        let dir = path
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        fs::create_dir_all(&dir).map_err(|source| Error::Io {
            path: dir.clone(),
            source,
        })?;
        let bytes = self.serialize(sess, &path)?;
        let tmp = path.with_extension(format!("safetensors.tmp{}", std::process::id()));
        let io = |source| Error::Io {
            path: tmp.clone(),
            source,
        };
        let written = (|| -> std::io::Result<()> {
            let file = File::create(&tmp)?;
            let mut w = wrap(file.try_clone()?);
            w.write_all(&bytes)?;
            w.flush()?;
            drop(w);
            file.sync_all()
        })();
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            return Err(io(e));
        }
        fs::rename(&tmp, &path).map_err(|source| {
            let _ = fs::remove_file(&tmp);
            Error::Io {
                path: path.clone(),
                source,
            }
        })?;
        self.record(&dir, &path)?;
        Ok(path)
    }

    fn serialize(&self, sess: &Session, path: &Path) -> Result<Vec<u8>> {
        let mut values = Vec::with_capacity(self.vars.len());
        for (name, node, _, _) in &self.vars {
            let slot = sess.resources().variable(*node);
            let v = slot.read().unwrap_or_else(PoisonError::into_inner).clone();
            values.push((
                name.clone(),
                v.ok_or_else(|| Error::Uninitialized { var: name.clone() })?,
            ));
        }
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
        safetensors::serialize(views, &None).map_err(|e| Error::Checkpoint {
            path: path.into(),
            msg: format!("{e:?}"),
        })
    }

    /// Records `path` as the newest checkpoint of `dir` and prunes old ones of its prefix.
    fn record(&self, dir: &Path, path: &Path) -> Result<()> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut kept: Vec<String> = read_index(dir).into_iter().filter(|n| *n != name).collect();
        kept.push(name);
        if self.max_to_keep > 0 && kept.len() > self.max_to_keep {
            for old in kept.drain(..kept.len() - self.max_to_keep) {
                let _ = fs::remove_file(dir.join(old));
            }
        }
        let index = dir.join(INDEX);
        let tmp = dir.join(format!("{INDEX}.tmp{}", std::process::id()));
        let io = |source| Error::Io {
            path: index.clone(),
            source,
        };
        let mut f = File::create(&tmp).map_err(io)?;
        f.write_all(kept.join("\n").as_bytes())
            .and_then(|_| f.sync_all())
            .map_err(io)?;
        fs::rename(&tmp, &index).map_err(io)
    }

    /// Restores every variable of this saver from `path` into `sess`. Every name, dtype and
    /// shape is checked first; on any mismatch nothing changes.
    pub fn restore(&self, sess: &Session, path: impl AsRef<Path>) -> Result<()> {
        self.check_session(sess)?;
        let path = path.as_ref();
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
            values.push((
                *node,
                from_bytes(*dtype, shape, t.data()).map_err(|e| bad(format!("{name}: {e}")))?,
            ));
        }
        for (node, v) in values {
            *sess
                .resources()
                .variable(node)
                .write()
                .unwrap_or_else(PoisonError::into_inner) = Some(v);
        }
        Ok(())
    }
}

/// The newest checkpoint recorded in `dir` (`tf.train.latest_checkpoint`), if any.
pub fn latest_checkpoint(dir: impl AsRef<Path>) -> Result<Option<PathBuf>> {
    let dir = dir.as_ref();
    Ok(read_index(dir)
        .pop()
        .map(|n| dir.join(n))
        .filter(|p| p.exists()))
}

fn read_index(dir: &Path) -> Vec<String> {
    fs::read_to_string(dir.join(INDEX))
        .map(|s| {
            s.lines()
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default()
}

fn checkpoint_path(prefix: &Path, step: Option<u64>) -> PathBuf {
    let mut s = prefix.as_os_str().to_owned();
    if let Some(step) = step {
        s.push(format!("-{step}"));
    }
    s.push(".safetensors");
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
