//! image-automation-controller: ImageUpdateAutomation writes the images ImagePolicies selected
//! back to Git.
//!
//! - `setters` — the marker scan and byte-preserving edit of one YAML text (pure);
//! - `files` — the walk over `update.path` applying the setters to each YAML file;
//! - `template` — the commit message (Flux's template data, Eddy's rule for ranging the root);
//! - `policies` — which ImagePolicies apply;
//! - `source` — the GitRepository, credentials, checkout, push and signing settings;
//! - `write_back` — clone, update, commit and push, redone on a lost push race;
//! - `imageupdateautomation` — the reconciler; `run` wires it to the runtime with its triggers.

pub mod files;
pub mod imageupdateautomation;
pub mod policies;
pub mod run;
pub mod setters;
pub mod source;
pub mod template;
pub mod write_back;

/// Reason of a field Eddy cannot act on yet (`Stalled`, "spec.<field> is not supported yet").
pub const NOT_SUPPORTED: &str = "NotSupported";
