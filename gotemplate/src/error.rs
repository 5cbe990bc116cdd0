//! Errors, worded as Go's `text/template` words them so that callers (Helm's error cleanup,
//! users reading a failed render) see the same text.

use thiserror::Error;

/// A template could not be parsed: `template: name:line: message`.
#[derive(Debug, Clone, Error, PartialEq)]
#[error("template: {location}: {message}")]
pub struct ParseError {
    /// `name:line`.
    pub location: String,
    pub message: String,
}

impl ParseError {
    pub fn new(location: String, message: String) -> ParseError {
        ParseError { location, message }
    }
}

/// Why an execution stopped.
#[derive(Debug, Clone, PartialEq)]
pub enum ExecErrorKind {
    /// A template-level error (wrong type, nil pointer, unknown template, …).
    Template,
    /// A function returned an error (`error calling f: …`).
    Function,
    /// A caller-set limit (time, output size, depth) was reached.
    Limit,
}

/// A template failed while executing. `message` is the complete Go text, such as
/// `template: t:1:2: executing "t" at <.a.b>: nil pointer evaluating interface {}.b`.
#[derive(Debug, Clone, Error, PartialEq)]
#[error("{message}")]
pub struct ExecError {
    pub message: String,
    pub kind: ExecErrorKind,
}

/// Anything that can go wrong parsing or executing templates.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum Error {
    #[error(transparent)]
    Parse(#[from] ParseError),
    #[error(transparent)]
    Exec(#[from] ExecError),
}

/// An error returned by a template function; the executor wraps it as
/// `error calling NAME: MESSAGE`.
#[derive(Debug, Clone, Error, PartialEq)]
pub enum FuncError {
    /// The function failed (Go: returned a non-nil error, or panicked).
    #[error("{0}")]
    Failed(String),
    /// A nested execution (`include`, `tpl`) failed; its error passes through whole.
    #[error("{0}")]
    Nested(Box<Error>),
}

impl FuncError {
    pub fn msg(message: impl Into<String>) -> FuncError {
        FuncError::Failed(message.into())
    }
}
