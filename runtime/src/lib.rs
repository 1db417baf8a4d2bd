//! rustflow-runtime: `Session`, `InteractiveSession`, the executor and variable storage.
//! It knows no op by name: it asks each node's op to compute itself.

pub mod bundle;
mod events;
mod executor;
mod feed;
mod plan;
mod saver;
mod session;

pub use events::{EventFileWriter, EventReader};
pub use executor::{NodeTrace, RunMetadata, RunOptions, SEQUENTIAL_BELOW_US};
pub use feed::{FeedDict, Fetch, Outputs};
pub use saver::{latest_checkpoint, CheckpointFormat, Saver};
pub use session::{default_session, InteractiveSession, OperationRun, Session, TensorEval};
