//! Reading YAML text (one or many documents) into [`Value`]s.
//!
//! Events come from granit-parser and are turned into the engine's order-preserving model by
//! `events.rs`, which also applies go-yaml v3's scalar resolution. Repeated mapping keys are an error
//! in resources (as in kustomize) and last-one-wins in kustomization files (which kustomize decodes
//! through JSON).

use super::value::Value;

/// Parses every document of a YAML stream. Empty documents come back as `Value::Null`.
/// Duplicate mapping keys are an error.
pub fn parse_documents(text: &str) -> Result<Vec<Value>, String> {
    super::events::parse(text, false)
}

/// Like [`parse_documents`], but a repeated mapping key silently replaces the earlier value.
pub fn parse_documents_last_key_wins(text: &str) -> Result<Vec<Value>, String> {
    super::events::parse(text, true)
}

/// Parses a single-document YAML text.
pub fn parse_one(text: &str) -> Result<Value, String> {
    let mut documents = parse_documents(text)?;
    match documents.len() {
        0 => Ok(Value::Null),
        1 => Ok(documents.remove(0)),
        n => Err(format!("expected one YAML document, found {n}")),
    }
}
