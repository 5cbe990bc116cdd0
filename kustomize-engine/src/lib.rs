//! A native Rust Kustomize engine (placeholder).
