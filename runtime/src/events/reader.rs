//! [`EventReader`]: the events of an event file, every checksum checked.

use super::record::{next, Next};
use rustflow_graph::{Error, Result};
use rustflow_proto::tensorboard::Event;
use rustflow_proto::Message;
use std::path::{Path, PathBuf};

/// Reads an event file written by TensorFlow or by an [`EventFileWriter`](super::EventFileWriter), as
/// TensorBoard does: event by event, checking both checksums of every record. A corrupt record
/// is an [`Error::DataLoss`] naming the file and the record's byte offset, after which the
/// iterator ends; a file cut short inside its last record (a writer that was killed) yields
/// every whole record before the cut and then ends, as TensorBoard reads it
/// ([`EventReader::truncated_at`] tells where).
///
/// ```no_run
/// use rustflow_runtime::EventReader;
/// for event in EventReader::open("logs/events.out.tfevents.1796280348.vm")? {
///     println!("step {}", event?.step);
/// }
/// # Ok::<(), rustflow_graph::Error>(())
/// ```
pub struct EventReader {
    path: PathBuf,
    bytes: Vec<u8>,
    at: usize,
    truncated: bool,
    failed: bool,
}

impl EventReader {
    /// Opens `path` (the whole file is read now).
    pub fn open(path: impl AsRef<Path>) -> Result<EventReader> {
        let path = path.as_ref().to_path_buf();
        let bytes = std::fs::read(&path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        Ok(EventReader {
            path,
            bytes,
            at: 0,
            truncated: false,
            failed: false,
        })
    }

    /// The byte offset of a record the file ends inside, once the iterator has reached it.
    pub fn truncated_at(&self) -> Option<u64> {
        self.truncated.then_some(self.at as u64)
    }
}

impl Iterator for EventReader {
    type Item = Result<Event>;

    fn next(&mut self) -> Option<Result<Event>> {
        if self.failed || self.truncated {
            return None;
        }
        let at = self.at;
        let loss = |msg: String| Error::DataLoss {
            path: self.path.clone(),
            offset: at as u64,
            msg,
        };
        let result = match next(&self.bytes, at) {
            Next::End => return None,
            Next::Truncated => {
                self.truncated = true;
                return None;
            }
            Next::Corrupt(what) => Err(loss(format!("corrupt record: {what}"))),
            Next::Record(data, end) => {
                self.at = end;
                Event::decode(data).map_err(|e| loss(format!("not an Event: {e}")))
            }
        };
        self.failed = result.is_err();
        Some(result)
    }
}
