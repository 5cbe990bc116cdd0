//! The artifact a source produces and consumers download.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::schema::DIGEST_PATTERN;

/// A tarball (or file) stored by the source controller, as advertised in a source's status.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    /// Location of the file relative to the storage root.
    pub path: String,
    /// HTTP address from which consumers download the file.
    pub url: String,
    /// Human-readable identifier of what was fetched, e.g. `main@sha1:<commit>`.
    pub revision: String,
    /// Checksum of the file as `<algorithm>:<hex>`.
    #[schemars(regex(pattern = DIGEST_PATTERN))]
    pub digest: String,
    /// When the file was last written.
    pub last_update_time: Time,
    /// Size of the file in bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<i64>,
    /// Extra facts about the content, e.g. OCI manifest annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
}
