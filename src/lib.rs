//! rustflow
