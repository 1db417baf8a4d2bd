//! [`EventFileWriter`]: events written to an event file on a background thread.

use super::record::frame;
use crate::RunMetadata;
use rustflow_graph::{Error, Result, Value};
use rustflow_proto::tensorboard::{self as pb, event::What, Event};
use rustflow_proto::Message;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// What the writer thread is asked to do.
enum Msg {
    Record(Vec<u8>),
    Flush(mpsc::Sender<()>),
}

/// Writes an event file that TensorBoard reads (TensorFlow's `EventFileWriter`, under
/// `tf.compat.v1.summary.FileWriter`, which adds the graph: `rustflow::summary::FileWriter`):
/// `events.out.tfevents.<seconds>.<host>` in `logdir`, starting with the file-version event.
///
/// Events are framed and written by a background thread, so a training step never waits for
/// the disk; the thread flushes what it holds at least every [`EventFileWriter::FLUSH_EVERY`],
/// on [`EventFileWriter::flush`] and on [`EventFileWriter::close`] (or drop). A process killed
/// in between loses at most the events of the last interval; the file stays readable up to its
/// last whole record. A failed write (a full disk) is reported by the next call as an
/// [`Error::Io`] naming the file and the byte offset of the record that failed.
///
/// ```no_run
/// use rustflow_runtime::EventFileWriter;
/// let writer = EventFileWriter::new("logs/run1")?;
/// // writer.add_summary(&sess.eval(&merged, &feeds)?, step)?;
/// writer.close()?;
/// # Ok::<(), rustflow_graph::Error>(())
/// ```
pub struct EventFileWriter {
    path: PathBuf,
    tx: Option<mpsc::Sender<Msg>>,
    thread: Option<JoinHandle<()>>,
    error: Arc<Mutex<Option<std::io::Error>>>,
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".into())
}

impl EventFileWriter {
    /// The longest the background thread holds written events before flushing them.
    pub const FLUSH_EVERY: Duration = Duration::from_secs(2);

    /// Creates `logdir` if needed and a new event file in it.
    pub fn new(logdir: impl AsRef<Path>) -> Result<EventFileWriter> {
        let dir = logdir.as_ref();
        let io = |path: &Path| {
            let path = path.to_path_buf();
            move |source| Error::Io { path, source }
        };
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let base = format!("events.out.tfevents.{}.{}", now() as u64, host());
        let (path, file) = (0..)
            .map(|k| match k {
                0 => dir.join(&base),
                k => dir.join(format!("{base}.{k}")),
            })
            .find_map(
                |p| match OpenOptions::new().write(true).create_new(true).open(&p) {
                    Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => None,
                    r => Some((p, r)),
                },
            )
            .expect("an unbounded range of names");
        let file = file.map_err(io(&path))?;
        EventFileWriter::start(path, file)
    }

    /// Starts the writer thread on `file` (opened at `path`) and writes the file-version event.
    fn start(path: PathBuf, file: File) -> Result<EventFileWriter> {
        let (tx, rx) = mpsc::channel();
        let error = Arc::new(Mutex::new(None));
        let thread_error = error.clone();
        let thread = std::thread::Builder::new()
            .name("rustflow-events".into())
            .spawn(move || write_loop(file, rx, &thread_error))
            .map_err(|source| Error::Io {
                path: path.clone(),
                source,
            })?;
        let writer = EventFileWriter {
            path,
            tx: Some(tx),
            thread: Some(thread),
            error,
        };
        writer.add_event(Event {
            wall_time: now(),
            step: 0,
            what: Some(What::FileVersion("brain.Event:2".into())),
        })?;
        Ok(writer)
    }

    /// The event file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn check(&self) -> Result<()> {
        match self
            .error
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        {
            Some(source) => Err(Error::Io {
                path: self.path.clone(),
                source,
            }),
            None => Ok(()),
        }
    }

    fn send(&self, msg: Msg) -> Result<()> {
        self.check()?;
        let closed = || Error::Io {
            path: self.path.clone(),
            source: std::io::Error::other("the writer's thread has stopped"),
        };
        self.tx
            .as_ref()
            .ok_or_else(closed)?
            .send(msg)
            .map_err(|_| closed())
    }

    /// Writes `event` (its wall time and step as given).
    pub fn add_event(&self, event: Event) -> Result<()> {
        self.send(Msg::Record(frame(&event.encode_to_vec())))
    }

    /// Writes a serialized `Summary` (the value of a summary op, a `tf.string` scalar or
    /// vector) at `step` (`add_summary`).
    pub fn add_summary(&self, summary: &Value, step: i64) -> Result<()> {
        for bytes in summary.as_strings()? {
            let summary = pb::Summary::decode(bytes.as_slice()).map_err(|e| {
                Error::Kernel(format!("add_summary: not a serialized Summary: {e}"))
            })?;
            self.add_event(Event {
                wall_time: now(),
                step,
                what: Some(What::Summary(summary)),
            })?;
        }
        Ok(())
    }

    /// Writes a serialized `GraphDef`, the graph TensorBoard draws (`add_graph`).
    pub fn add_graph_def(&self, graph_def: Vec<u8>) -> Result<()> {
        self.add_event(Event {
            wall_time: now(),
            step: 0,
            what: Some(What::GraphDef(graph_def)),
        })
    }

    /// Writes what a traced run recorded ([`crate::RunOptions`] `trace`) under `tag`
    /// (`add_run_metadata`): TensorBoard's graph then shows each node's compute time.
    pub fn add_run_metadata(&self, meta: &RunMetadata, tag: &str, step: i64) -> Result<()> {
        let start = (now() * 1e6) as i64
            - meta
                .nodes
                .iter()
                .map(|n| (n.start_us + n.duration_us) as i64)
                .max()
                .unwrap_or(0);
        let node_stats = meta
            .nodes
            .iter()
            .map(|n| {
                let us = n.duration_us.round() as i64;
                pb::NodeExecStats {
                    node_name: n.node.clone(),
                    all_start_micros: start + n.start_us as i64,
                    op_start_rel_micros: 0,
                    op_end_rel_micros: us,
                    all_end_rel_micros: us,
                    timeline_label: format!("{} = {}()", n.node, n.op),
                    thread_id: n.thread.wrapping_add(1) as u32,
                }
            })
            .collect();
        let run = pb::RunMetadata {
            step_stats: Some(pb::StepStats {
                dev_stats: vec![pb::DeviceStepStats {
                    device: "/job:localhost/replica:0/task:0/device:CPU:0".into(),
                    node_stats,
                }],
            }),
        };
        self.add_event(Event {
            wall_time: now(),
            step,
            what: Some(What::TaggedRunMetadata(pb::TaggedRunMetadata {
                tag: tag.into(),
                run_metadata: run.encode_to_vec(),
            })),
        })
    }

    /// Returns once every event added so far is written and flushed to the file.
    pub fn flush(&self) -> Result<()> {
        let (done, wait) = mpsc::channel();
        self.send(Msg::Flush(done))?;
        let _ = wait.recv();
        self.check()
    }

    /// Flushes and closes the file; the writer's thread ends.
    pub fn close(mut self) -> Result<()> {
        self.stop();
        self.check()
    }

    fn stop(&mut self) {
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for EventFileWriter {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The background thread: writes records as they come, flushes on request, at least every
/// [`EventFileWriter::FLUSH_EVERY`], and at the end. An error names the byte offset of the
/// first record that may not have reached the file.
fn write_loop(file: File, rx: mpsc::Receiver<Msg>, error: &Mutex<Option<std::io::Error>>) {
    let mut out = BufWriter::new(file);
    let mut dirty = false;
    // Bytes handed to `out`, and those of them known to be in the file.
    let (mut written, mut flushed) = (0u64, 0u64);
    let report = |e: std::io::Error, at: u64| {
        let e = std::io::Error::new(e.kind(), format!("writing at byte offset {at}: {e}"));
        *error.lock().unwrap_or_else(PoisonError::into_inner) = Some(e);
    };
    loop {
        let msg = match rx.recv_timeout(EventFileWriter::FLUSH_EVERY) {
            Ok(m) => Some(m),
            Err(RecvTimeoutError::Timeout) => None,
            Err(RecvTimeoutError::Disconnected) => break,
        };
        match msg {
            Some(Msg::Record(bytes)) => {
                if let Err(e) = out.write_all(&bytes) {
                    report(e, flushed);
                }
                written += bytes.len() as u64;
                dirty = true;
            }
            Some(Msg::Flush(done)) => {
                if let Err(e) = flush(&mut out, written, &mut flushed) {
                    report(e, flushed);
                }
                dirty = false;
                let _ = done.send(());
            }
            None if dirty => {
                if let Err(e) = flush(&mut out, written, &mut flushed) {
                    report(e, flushed);
                }
                dirty = false;
            }
            None => {}
        }
    }
    if let Err(e) = flush(&mut out, written, &mut flushed).and_then(|()| out.get_ref().sync_all()) {
        report(e, flushed);
    }
}

/// Flushes `out`; once it succeeded, the first `written` bytes are in the file (`flushed`).
fn flush(out: &mut BufWriter<File>, written: u64, flushed: &mut u64) -> std::io::Result<()> {
    out.flush()?;
    *flushed = written;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_disk_is_an_error_naming_the_file_and_offset() {
        let full = Path::new("/dev/full");
        let Ok(file) = OpenOptions::new().write(true).open(full) else {
            return; // not Linux
        };
        let writer = EventFileWriter::start(full.to_path_buf(), file).unwrap();
        let err = writer.flush().unwrap_err().to_string();
        assert!(
            err.starts_with("/dev/full: writing at byte offset 0:"),
            "{err}"
        );
        // Once reported, the writer goes on (a later write may succeed) and closes cleanly
        // unless the disk is still full.
        assert!(writer.close().is_err());
    }

    #[test]
    fn a_logdir_that_is_a_file_is_an_error_naming_it() {
        let file = std::env::temp_dir().join(format!("rustflow-not-a-dir-{}", std::process::id()));
        std::fs::write(&file, b"").unwrap();
        let err = EventFileWriter::new(&file).err().unwrap().to_string();
        assert!(err.starts_with(&file.display().to_string()), "{err}");
        std::fs::remove_file(&file).unwrap();
    }
}
