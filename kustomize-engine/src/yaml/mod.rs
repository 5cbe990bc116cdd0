//! The YAML layer: an order-preserving value model, a parser front-end and a kustomize-exact emitter.

pub mod emit;
mod events;
mod keys;
pub mod parse;
mod scalar;
pub mod value;

pub use emit::emit_document;
pub use events::resolve_plain as resolve_plain_scalar;
pub use parse::{parse_documents, parse_one};
pub use scalar::format_float;
pub use value::{Mapping, Value};
