//! The rule that nothing Eddy accepts is silently ignored: a flag whose behaviour is missing is
//! refused at start-up ([`flags`]), and an object whose kind or field Eddy cannot act on yet is
//! marked `Ready=False`, `Stalled=True`, reason [`NOT_SUPPORTED`] ([`status`], [`kind`]).

pub mod flags;
pub mod kind;
pub mod status;

/// Condition reason of an object asking for something Eddy does not do yet. Flux has no reason
/// for this (it either does the thing or rejects the field in its schema), so the name is Eddy's.
pub const NOT_SUPPORTED: &str = "NotSupported";
