#![doc = include_str!("../README.md")]

mod ast;
pub mod error;
mod exec;
pub mod fmt;
pub mod funcs;
pub mod fuzzing;
mod lex;
mod number;
mod parse;
mod set;
mod toml;
mod toml_parse;
pub mod value;
pub mod yaml;
mod yaml11;
mod yaml_v3;

pub use error::{Error, ExecError, ExecErrorKind, FuncError, ParseError};
pub use exec::Context;
pub use funcs::{FuncMap, Function, Param};
pub use set::{Limits, MissingKey, TemplateSet};
pub use value::{ElemType, HostObject, IntKind, List, MapData, MapRef, UintKind, Value};
