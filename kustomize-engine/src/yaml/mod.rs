//! The YAML layer: an order-preserving value model, a parser front-end and a kustomize-exact emitter.

pub mod emit;
mod events;
pub mod parse;
pub mod value;

pub use emit::emit_document;
pub use parse::{parse_documents, parse_one};
pub use value::{Mapping, Value};
