//! Recent reconciliation history kept in a Kustomization's status.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Newest-first list of distinct reconciliation outcomes (at most five are kept).
pub type History = Vec<Snapshot>;

/// One distinct outcome (build digest and result) and how often it was seen in a row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Snapshot {
    /// Digest of the applied set of objects.
    pub digest: String,
    /// First time this outcome was recorded.
    pub first_reconciled: Time,
    /// Most recent time this outcome was recorded.
    pub last_reconciled: Time,
    /// How long the most recent reconciliation took (Go duration string).
    pub last_reconciled_duration: String,
    /// Result of the most recent reconciliation, usually the Ready condition reason.
    pub last_reconciled_status: String,
    /// How many reconciliations produced this outcome.
    pub total_reconciliations: i64,
    /// Extra facts such as the source revision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<BTreeMap<String, String>>,
}
