//! TensorBoard's event files: TensorFlow's record framing ([`record`]), an [`EventFileWriter`] that
//! writes events on a background thread, and an [`EventReader`] that checks every checksum.

mod reader;
mod record;
mod writer;

pub use reader::EventReader;
pub use writer::EventFileWriter;
