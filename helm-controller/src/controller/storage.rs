//! Helm release records as helm-controller writes them, and the `status.history` snapshots
//! Flux keeps of them (pure).

use eddy_api::helm::helmrelease::Snapshot;
use eddy_helm_release::{ChartSnapshot, Release, Status, Time};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time as KubeTime;

use super::{render::Rendered, values::config_digest};

/// What a new revision is made of.
pub struct NewRevision<'a> {
    pub name: &'a str,
    pub namespace: &'a str,
    pub version: u32,
    pub chart: &'a ChartSnapshot,
    pub values: &'a eddy_helm::Table,
    pub rendered: &'a Rendered,
    pub status: Status,
    pub description: &'a str,
    /// `firstDeployed` of the release's first revision (upgrades keep it).
    pub first_deployed: Option<Time>,
}

/// A release record as Helm's install/upgrade writes it before applying.
pub fn new_release(revision: &NewRevision<'_>) -> Release {
    let now = Time::now();
    let mut release = Release {
        name: revision.name.to_owned(),
        namespace: revision.namespace.to_owned(),
        version: revision.version,
        chart: revision.chart.clone(),
        config: revision.values.clone(),
        manifest: revision.rendered.manifest.clone(),
        apply_method: "ssa".to_owned(),
        ..Release::default()
    };
    release.info.first_deployed = revision.first_deployed.unwrap_or(now);
    release.info.last_deployed = now;
    release.info.deleted = Time::zero();
    release.info.status = revision.status;
    release.info.description = revision.description.to_owned();
    release.info.notes = revision.rendered.notes.clone();
    release
}

/// A copy of `release` as a new revision with `status` (a rollback re-deploys an old one).
pub fn redeploy(release: &Release, version: u32, description: &str) -> Release {
    let mut copy = release.clone();
    copy.version = version;
    copy.labels.clear();
    copy.info.status = Status::PendingRollback;
    copy.info.last_deployed = Time::now();
    copy.info.deleted = Time::zero();
    copy.info.description = description.to_owned();
    copy
}

fn kube_time(time: &Time) -> KubeTime {
    KubeTime(time.timestamp)
}

/// Flux's snapshot of a stored release.
pub fn snapshot(release: &Release) -> Snapshot {
    let app_version = &release.chart.metadata.app_version;
    Snapshot {
        api_version: None,
        digest: eddy_helm_release::digest(release),
        name: release.name.clone(),
        namespace: release.namespace.clone(),
        version: i64::from(release.version),
        status: release.info.status.as_str().to_owned(),
        action: None,
        chart_name: release.chart.metadata.name.clone(),
        chart_version: release.chart.metadata.version.clone(),
        app_version: (!app_version.is_empty()).then(|| app_version.clone()),
        config_digest: config_digest(&release.config),
        first_deployed: kube_time(&release.info.first_deployed),
        last_deployed: kube_time(&release.info.last_deployed),
        deleted: (!release.info.deleted.is_zero()).then(|| kube_time(&release.info.deleted)),
        test_hooks: None,
        oci_digest: None,
    }
}

/// `status.history` after `release` was written: its snapshot replaces the one of the same
/// version or goes first, newest first, keeping the entries back to the newest successful
/// release before it, at most `max` (0 = no limit).
pub fn record(history: &mut Vec<Snapshot>, release: &Release, max: usize) {
    let entry = snapshot(release);
    match history
        .iter_mut()
        .find(|s| s.name == entry.name && s.version == entry.version)
    {
        Some(existing) => *existing = entry,
        None => history.insert(0, entry),
    }
    history.sort_by_key(|s| std::cmp::Reverse(s.version));
    let successful = |s: &Snapshot| s.status == "deployed" || s.status == "superseded";
    if let Some(keep) = history.iter().skip(1).position(successful) {
        history.truncate(keep + 2);
    }
    if max > 0 {
        history.truncate(max);
    }
}

/// Marks the snapshot of `version` with `status` (a deployed release superseded).
pub fn mark(history: &mut [Snapshot], name: &str, version: u32, status: Status) {
    for snapshot in history
        .iter_mut()
        .filter(|s| s.name == name && s.version == i64::from(version))
    {
        snapshot.status = status.as_str().to_owned();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(version: u32, status: Status) -> Release {
        let mut release = Release {
            name: "myapp".into(),
            namespace: "apps".into(),
            version,
            ..Release::default()
        };
        release.info.status = status;
        release.info.first_deployed = Time::now();
        release.info.last_deployed = Time::now();
        release.info.deleted = Time::zero();
        release.chart.metadata.name = "myapp".into();
        release.chart.metadata.version = "1.0.0".into();
        release.chart.metadata.app_version = "1.0".into();
        release
    }

    #[test]
    fn a_snapshot_carries_what_flux_records() {
        let r = release(2, Status::Deployed);
        let s = snapshot(&r);
        assert_eq!((s.version, s.status.as_str()), (2, "deployed"));
        assert_eq!(
            (s.chart_name.as_str(), s.chart_version.as_str()),
            ("myapp", "1.0.0")
        );
        assert_eq!(s.app_version.as_deref(), Some("1.0"));
        assert_eq!(s.digest, eddy_helm_release::digest(&r));
        assert!(s.config_digest.starts_with("sha256:"));
        assert_eq!(s.deleted, None);
    }

    #[test]
    fn history_keeps_newest_first_back_to_the_last_success() {
        let mut history = Vec::new();
        record(&mut history, &release(1, Status::Deployed), 5);
        mark(&mut history, "myapp", 1, Status::Superseded);
        record(&mut history, &release(2, Status::Failed), 5);
        record(&mut history, &release(3, Status::Failed), 5);
        let versions: Vec<i64> = history.iter().map(|s| s.version).collect();
        assert_eq!(versions, [3, 2, 1]);
        record(&mut history, &release(4, Status::Deployed), 5);
        let versions: Vec<i64> = history.iter().map(|s| s.version).collect();
        assert_eq!(versions, [4, 3, 2, 1]);
        mark(&mut history, "myapp", 4, Status::Superseded);
        record(&mut history, &release(5, Status::Deployed), 5);
        let versions: Vec<i64> = history.iter().map(|s| s.version).collect();
        assert_eq!(versions, [5, 4]);
        record(&mut history, &release(5, Status::Failed), 5);
        assert_eq!(history[0].status, "failed");
    }
}
