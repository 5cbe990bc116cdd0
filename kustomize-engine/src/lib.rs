//! A native Rust Kustomize engine whose output matches `kubectl kustomize` (kustomize v5.5.0).

pub mod yaml;
