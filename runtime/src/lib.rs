//! rustflow-runtime: `Session`, `InteractiveSession`, the executor and variable storage.
//! It knows no op by name: it asks each node's op to compute itself.

pub mod bundle;
mod executor;
mod feed;
mod plan;
mod saver;
mod session;

pub use executor::{NodeTrace, RunMetadata, RunOptions, SEQUENTIAL_BELOW_US};
pub use feed::{FeedDict, Fetch, Outputs};
pub use saver::{latest_checkpoint, Saver};
pub use session::{default_session, InteractiveSession, OperationRun, Session, TensorEval};
