//! Kinds of the notification controller (group `notification.toolkit.fluxcd.io`): Provider and
//! Alert route events out of the cluster, Receiver lets webhooks trigger reconciliation.
//!
//! Each kind lives in the module of its current version; the re-exports below are what the rest
//! of Eddy should use.

pub mod event_source;
pub mod reasons;
pub mod v1;
pub mod v1beta3;

pub use v1::receiver;
pub use v1beta3::{alert, provider};

pub use alert::{Alert, AlertSpec, EventSeverity};
pub use event_source::{EventSourceReference, FluxObjectKind, ReceiverResourceReference};
pub use provider::{Provider, ProviderSpec, ProviderType};
pub use receiver::{Receiver, ReceiverSpec, ReceiverStatus, ReceiverType};
