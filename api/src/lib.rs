//! Rust types for every Flux-compatible custom resource Eddy serves (placeholder).
