//! What to do with a release, decided from Helm's storage and the failure counters: the minimal
//! state machine of this slice (Flux's `DetermineReleaseState` and remediation rules, without
//! tests, drift or uninstall remediation).

use eddy_api::helm::{HelmReleaseSpec, helmrelease::ReleaseAction};
use eddy_helm_release::{Release, Status};

use super::values::config_digest;

/// What the chart and values ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    pub chart_name: String,
    pub chart_version: String,
    pub config_digest: String,
}

/// The failures counted since the spec, chart or values last changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Failures {
    pub install: i64,
    pub upgrade: i64,
}

/// The next step for a release.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// No release (or only an uninstalled one): install.
    Install,
    /// The only revisions failed to install: delete them, then install again.
    Reinstall,
    /// The deployed release differs from the chart or values, or the last upgrade failed.
    Upgrade,
    /// The newest revision is stuck in a `pending-*` status a crashed run left behind.
    Unlock { version: u32, status: Status },
    /// The deployed release is what is asked for.
    InSync,
    /// The action failed as often as the remediation settings allow.
    RetriesExceeded {
        action: ReleaseAction,
        attempts: i64,
    },
}

/// How many retries an action has; negative is unlimited.
pub fn retries(spec: &HelmReleaseSpec, action: ReleaseAction) -> i64 {
    match action {
        ReleaseAction::Install => spec
            .install
            .as_ref()
            .and_then(|i| i.remediation.as_ref())
            .and_then(|r| r.retries),
        ReleaseAction::Upgrade => spec
            .upgrade
            .as_ref()
            .and_then(|u| u.remediation.as_ref())
            .and_then(|r| r.retries),
    }
    .unwrap_or(0)
}

fn exceeded(failures: i64, retries: i64) -> bool {
    retries >= 0 && failures > retries
}

/// Decides the next step from the release history (oldest first).
pub fn determine(
    history: &[Release],
    desired: &Desired,
    failures: Failures,
    spec: &HelmReleaseSpec,
) -> Next {
    let Some(last) = history.last() else {
        return Next::Install;
    };
    let status = last.info.status;
    if status.is_pending() {
        return Next::Unlock {
            version: last.version,
            status,
        };
    }
    let ever_deployed = history
        .iter()
        .any(|r| matches!(r.info.status, Status::Deployed | Status::Superseded));
    let upgrade_exceeded = exceeded(failures.upgrade, retries(spec, ReleaseAction::Upgrade));
    match status {
        Status::Uninstalled | Status::Uninstalling | Status::Unknown if !ever_deployed => {
            Next::Install
        }
        Status::Failed if !ever_deployed => {
            let retries = retries(spec, ReleaseAction::Install);
            if exceeded(failures.install, retries) {
                Next::RetriesExceeded {
                    action: ReleaseAction::Install,
                    attempts: failures.install,
                }
            } else {
                Next::Reinstall
            }
        }
        Status::Deployed if in_sync(last, desired) => Next::InSync,
        _ if upgrade_exceeded && failures.upgrade > 0 => Next::RetriesExceeded {
            action: ReleaseAction::Upgrade,
            attempts: failures.upgrade,
        },
        _ => Next::Upgrade,
    }
}

/// Whether `release` was made from the desired chart and values.
pub fn in_sync(release: &Release, desired: &Desired) -> bool {
    release.chart.metadata.name == desired.chart_name
        && release.chart.metadata.version == desired.chart_version
        && config_digest(&release.config) == desired.config_digest
}

/// The revision a failed upgrade rolls back to: the newest one that was deployed before it.
pub fn rollback_target(history: &[Release], failed_version: u32) -> Option<&Release> {
    history
        .iter()
        .rev()
        .filter(|r| r.version < failed_version)
        .find(|r| matches!(r.info.status, Status::Deployed | Status::Superseded))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn release(
        version: u32,
        status: Status,
        chart_version: &str,
        values: serde_json::Value,
    ) -> Release {
        let mut release = Release {
            name: "myapp".into(),
            version,
            ..Release::default()
        };
        release.info.status = status;
        release.chart.metadata.name = "myapp".into();
        release.chart.metadata.version = chart_version.into();
        if let serde_json::Value::Object(values) = values {
            release.config = values;
        }
        release
    }

    fn desired(chart_version: &str, values: serde_json::Value) -> Desired {
        let serde_json::Value::Object(values) = values else {
            panic!("values must be an object")
        };
        Desired {
            chart_name: "myapp".into(),
            chart_version: chart_version.into(),
            config_digest: config_digest(&values),
        }
    }

    fn spec(extra: serde_json::Value) -> HelmReleaseSpec {
        let mut object = json!({"interval": "5m", "chartRef": {"kind": "HelmChart", "name": "c"}});
        if let (Some(target), Some(extra)) = (object.as_object_mut(), extra.as_object()) {
            target.extend(extra.clone());
        }
        serde_json::from_value(object).unwrap()
    }

    #[test]
    fn install_upgrade_and_in_sync() {
        let none = Failures::default();
        let want = desired("1.0.0", json!({"replicaCount": 3}));
        assert_eq!(determine(&[], &want, none, &spec(json!({}))), Next::Install);
        let deployed = [release(
            1,
            Status::Deployed,
            "1.0.0",
            json!({"replicaCount": 3}),
        )];
        assert_eq!(
            determine(&deployed, &want, none, &spec(json!({}))),
            Next::InSync
        );
        let other_values = desired("1.0.0", json!({"replicaCount": 4}));
        assert_eq!(
            determine(&deployed, &other_values, none, &spec(json!({}))),
            Next::Upgrade
        );
        let other_chart = desired("1.1.0", json!({"replicaCount": 3}));
        assert_eq!(
            determine(&deployed, &other_chart, none, &spec(json!({}))),
            Next::Upgrade
        );
    }

    #[test]
    fn pending_releases_are_unlocked() {
        let history = [
            release(1, Status::Deployed, "1.0.0", json!({})),
            release(2, Status::PendingUpgrade, "1.0.0", json!({"a": 1})),
        ];
        let next = determine(
            &history,
            &desired("1.0.0", json!({"a": 1})),
            Failures::default(),
            &spec(json!({})),
        );
        assert_eq!(
            next,
            Next::Unlock {
                version: 2,
                status: Status::PendingUpgrade
            }
        );
    }

    #[test]
    fn failures_count_against_the_remediation_retries() {
        let want = desired("1.0.0", json!({"a": 2}));
        let failed_install = [release(1, Status::Failed, "1.0.0", json!({"a": 2}))];
        let once = Failures {
            install: 1,
            upgrade: 0,
        };
        assert_eq!(
            determine(&failed_install, &want, once, &spec(json!({}))),
            Next::RetriesExceeded {
                action: ReleaseAction::Install,
                attempts: 1
            }
        );
        let retry_twice = spec(json!({"install": {"remediation": {"retries": 2}}}));
        assert_eq!(
            determine(&failed_install, &want, once, &retry_twice),
            Next::Reinstall
        );

        let failed_upgrade = [
            release(1, Status::Superseded, "1.0.0", json!({"a": 1})),
            release(2, Status::Deployed, "1.0.0", json!({"a": 1})),
            release(3, Status::Failed, "1.0.0", json!({"a": 2})),
        ];
        let upgrade_once = Failures {
            install: 0,
            upgrade: 1,
        };
        assert_eq!(
            determine(&failed_upgrade, &want, upgrade_once, &spec(json!({}))),
            Next::RetriesExceeded {
                action: ReleaseAction::Upgrade,
                attempts: 1
            }
        );
        let unlimited = spec(json!({"upgrade": {"remediation": {"retries": -1}}}));
        assert_eq!(
            determine(&failed_upgrade, &want, upgrade_once, &unlimited),
            Next::Upgrade
        );
        assert_eq!(
            rollback_target(&failed_upgrade, 3).map(|r| r.version),
            Some(2)
        );
    }
}
