//! Eddy's OCI registry client, shared by the controllers that read registries
//! (source-controller's OCIRepository; next the image reflector and Helm OCI charts).
//!
//! It sits on `oci-client` (the ORAS project's distribution client) and adds what Flux's
//! behaviour needs around it: `oci://host/repo` addresses ([`RepositoryUrl`]), credentials from a
//! `kubernetes.io/dockerconfigjson` Secret's decoded JSON ([`DockerConfig`]), picking a tag,
//! semver range or digest ([`RefSelector`]) and resolving it to a manifest digest with a HEAD
//! request, the manifest itself, and layer downloads streamed to a file with a size cap and the
//! digest checked on the way ([`RegistryClient`]). No Kubernetes reads happen here: the caller
//! fetches Secrets and passes their bytes.

mod client;
mod credentials;
mod error;
mod selector;
mod url;

pub use client::{ClientOptions, Layer, Manifest, RegistryClient, Resolved};
pub use credentials::{Credentials, DockerConfig};
pub use error::{CredentialsError, OciError, UrlError};
pub use selector::{RefSelector, SelectorError, highest_semver_tag};
pub use url::RepositoryUrl;
