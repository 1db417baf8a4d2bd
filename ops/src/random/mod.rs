//! Random tensors: `truncated_normal`, `random_normal`, `random_uniform`.
