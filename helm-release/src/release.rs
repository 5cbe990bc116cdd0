//! The release record, field for field as Helm's `release.v1` JSON (`pkg/release/v1`).
//!
//! Field order follows Helm's struct order so that encoding a record Helm wrote gives Helm's
//! bytes back. Every struct keeps the keys it does not model in `extra`, so a field added by a
//! newer Helm survives a decode → encode by Eddy.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::chart::ChartSnapshot;
use crate::time::Time;

/// One revision of a release.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Release {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default)]
    pub info: Info,
    #[serde(default)]
    pub chart: ChartSnapshot,
    /// The values the user supplied (not coalesced with the chart's defaults).
    #[serde(
        default,
        skip_serializing_if = "Map::is_empty",
        deserialize_with = "crate::serde_util::null_as_default"
    )]
    pub config: Map<String, Value>,
    /// The rendered manifests, `---\n# Source: …` documents as Helm joins them.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub manifest: String,
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::serde_util::null_as_default"
    )]
    pub hooks: Vec<Hook>,
    /// The revision, from 1.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub version: u32,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub namespace: String,
    /// Helm v4: how the release's objects were applied (`"ssa"` server-side, `"csa"` client-side);
    /// empty for records written by Helm v3.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub apply_method: String,
    /// The user's labels. Not part of the JSON: Helm keeps them as labels of the storage Secret
    /// (next to its own `name`, `owner`, `status`, `version`, `createdAt`, `modifiedAt`).
    #[serde(skip)]
    pub labels: BTreeMap<String, String>,
    /// Keys of the record this crate does not model, kept as read.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Release {
    /// Sets the status and its human-readable description together (`info.status`,
    /// `info.description`), as every Helm action does.
    pub fn set_status(&mut self, status: Status, description: impl Into<String>) {
        self.info.status = status;
        self.info.description = description.into();
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

fn is_zero_i64(n: &i64) -> bool {
    *n == 0
}

/// `info`: what happened to the revision and when.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Info {
    #[serde(default, skip_serializing_if = "Time::is_zero")]
    pub first_deployed: Time,
    #[serde(default, skip_serializing_if = "Time::is_zero")]
    pub last_deployed: Time,
    /// Go's zero time (left out of the JSON, as Helm v4 does) while the release is not
    /// uninstalled.
    #[serde(default, skip_serializing_if = "Time::is_zero")]
    pub deleted: Time,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    #[serde(default, skip_serializing_if = "Status::is_unknown")]
    pub status: Status,
    /// The rendered `NOTES.txt`.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub notes: String,
    /// `helm status --show-resources` data, when a writer stored it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A release's status, as Helm spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Also what Helm's empty status string means.
    #[default]
    #[serde(alias = "")]
    Unknown,
    Deployed,
    Uninstalled,
    Superseded,
    Failed,
    Uninstalling,
    PendingInstall,
    PendingUpgrade,
    PendingRollback,
}

impl Status {
    /// Every status, in Helm's declaration order.
    pub const ALL: [Status; 9] = [
        Status::Unknown,
        Status::Deployed,
        Status::Uninstalled,
        Status::Superseded,
        Status::Failed,
        Status::Uninstalling,
        Status::PendingInstall,
        Status::PendingUpgrade,
        Status::PendingRollback,
    ];

    /// The string Helm writes in `info.status` and the Secret's `status` label.
    pub fn as_str(&self) -> &'static str {
        match self {
            Status::Unknown => "unknown",
            Status::Deployed => "deployed",
            Status::Uninstalled => "uninstalled",
            Status::Superseded => "superseded",
            Status::Failed => "failed",
            Status::Uninstalling => "uninstalling",
            Status::PendingInstall => "pending-install",
            Status::PendingUpgrade => "pending-upgrade",
            Status::PendingRollback => "pending-rollback",
        }
    }

    /// An operation is (or was, when its writer died) in progress: Helm refuses another one.
    pub fn is_pending(&self) -> bool {
        matches!(
            self,
            Status::PendingInstall | Status::PendingUpgrade | Status::PendingRollback
        )
    }

    fn is_unknown(&self) -> bool {
        *self == Status::Unknown
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Status {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Ok(Status::Unknown);
        }
        Status::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| format!("unknown release status {s:?}"))
    }
}

/// A hook: a manifest Helm runs around an operation instead of keeping in the release.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Hook {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// The template it came from (`chart/templates/hook.yaml`).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub path: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub manifest: String,
    /// `pre-install`, `post-upgrade`, `test`, … as the `helm.sh/hook` annotation lists them.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::serde_util::null_as_default"
    )]
    pub events: Vec<String>,
    #[serde(default)]
    pub last_run: HookExecution,
    #[serde(default, skip_serializing_if = "is_zero_i64")]
    pub weight: i64,
    /// `before-hook-creation`, `hook-succeeded`, `hook-failed`.
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::serde_util::null_as_default"
    )]
    pub delete_policies: Vec<String>,
    /// `hook-succeeded`, `hook-failed` (`helm.sh/hook-output-log-policy`).
    #[serde(
        default,
        skip_serializing_if = "Vec::is_empty",
        deserialize_with = "crate::serde_util::null_as_default"
    )]
    pub output_log_policies: Vec<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Hook {
    pub fn is_for_event(&self, event: &str) -> bool {
        self.events.iter().any(|e| e == event)
    }
}

/// When a hook last ran and how it ended.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct HookExecution {
    #[serde(default, skip_serializing_if = "Time::is_zero")]
    pub started_at: Time,
    #[serde(default, skip_serializing_if = "Time::is_zero")]
    pub completed_at: Time,
    /// `Unknown`, `Running`, `Succeeded`, `Failed`; empty when it never ran.
    #[serde(default)]
    pub phase: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_strings_are_helms() {
        let strings: Vec<String> = Status::ALL
            .iter()
            .map(|s| {
                serde_json::to_value(s)
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_owned()
            })
            .collect();
        assert_eq!(
            strings,
            [
                "unknown",
                "deployed",
                "uninstalled",
                "superseded",
                "failed",
                "uninstalling",
                "pending-install",
                "pending-upgrade",
                "pending-rollback"
            ]
        );
        for status in Status::ALL {
            assert_eq!(status.to_string().parse::<Status>().unwrap(), status);
            assert_eq!(status.to_string(), strings[status as usize]);
        }
        assert_eq!("".parse::<Status>().unwrap(), Status::Unknown);
        assert!("Deployed".parse::<Status>().is_err());
    }

    #[test]
    fn only_pending_statuses_are_pending() {
        let pending: Vec<Status> = Status::ALL.into_iter().filter(Status::is_pending).collect();
        assert_eq!(
            pending,
            [
                Status::PendingInstall,
                Status::PendingUpgrade,
                Status::PendingRollback
            ]
        );
    }

    #[test]
    fn helm_v3_records_read_and_write_back_in_v4_form() {
        // Helm v3 wrote Go's zero time for `deleted` and hook times and had no `apply_method`.
        let json = serde_json::json!({
            "name": "r",
            "info": {"first_deployed": "2024-01-02T03:04:05.5+01:00",
                     "last_deployed": "2024-01-02T03:04:05.5+01:00",
                     "deleted": "0001-01-01T00:00:00Z", "status": "superseded"},
            "chart": {"metadata": {"name": "c", "version": "1.0.0"}, "lock": null,
                      "templates": [{"name": "templates/a.yaml", "data": "YTogMQo="}],
                      "values": {}, "schema": null, "files": null},
            "hooks": [{"name": "h", "events": ["test"],
                       "last_run": {"started_at": "0001-01-01T00:00:00Z",
                                    "completed_at": "0001-01-01T00:00:00Z", "phase": ""}}],
            "version": 4,
            "namespace": "n"
        });
        let mut release: Release = serde_json::from_value(json).unwrap();
        assert_eq!(release.chart.templates[0].data, b"a: 1\n");
        assert!(release.info.deleted.is_zero() && release.hooks[0].last_run.started_at.is_zero());
        assert_eq!(release.apply_method, "");
        release.set_status(Status::Deployed, "Rollback to 2");
        let back = serde_json::to_value(&release).unwrap();
        assert_eq!(
            back["info"],
            serde_json::json!({"first_deployed": "2024-01-02T03:04:05.5+01:00",
                "last_deployed": "2024-01-02T03:04:05.5+01:00",
                "description": "Rollback to 2", "status": "deployed"})
        );
        assert_eq!(
            back["hooks"][0]["last_run"],
            serde_json::json!({"phase": ""})
        );
    }

    #[test]
    fn unknown_keys_survive_and_zero_times_are_left_out() {
        let json = serde_json::json!({
            "name": "r",
            "info": {"status": "failed", "deleted": "", "future_info": 1},
            "chart": {"metadata": {"name": "c", "future_md": true}, "lock": null,
                      "templates": null, "values": null, "schema": null, "files": null},
            "hooks": [{"name": "h", "last_run": {"phase": ""}, "future_hook": "x"}],
            "version": 1,
            "future_top": {"a": [1, 2]}
        });
        let release: Release = serde_json::from_value(json).unwrap();
        assert!(release.info.deleted.is_zero());
        let back = serde_json::to_value(&release).unwrap();
        assert_eq!(back["future_top"], serde_json::json!({"a": [1, 2]}));
        assert_eq!(back["info"]["future_info"], 1);
        assert!(back["info"].get("deleted").is_none());
        assert_eq!(back["chart"]["metadata"]["future_md"], true);
        assert_eq!(back["chart"]["templates"], Value::Null);
        assert_eq!(back["hooks"][0]["future_hook"], "x");
        assert_eq!(
            back["hooks"][0]["last_run"],
            serde_json::json!({"phase": ""})
        );
    }
}
