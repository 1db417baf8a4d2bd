//! Random tensors: `truncated_normal`, `random_normal`, `random_uniform`.

pub(crate) mod generator;
mod random_normal;
mod random_uniform;
mod random_uniform_shaped;
mod truncated_normal;
pub use random_normal::random_normal;
pub use random_uniform::random_uniform;
pub use random_uniform_shaped::random_uniform_shaped;
pub use truncated_normal::truncated_normal;
