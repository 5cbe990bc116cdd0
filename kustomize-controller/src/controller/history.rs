//! Status bookkeeping that needs no API: history snapshots, their digest, durations as Flux
//! prints them.

use std::time::Duration;

use eddy_api::meta::{History, Snapshot};
use sha2::{Digest, Sha256};

/// How many snapshots `status.history` keeps.
pub const HISTORY_LIMIT: usize = 5;

/// Go-style duration text (`1m30s`, `2.5s`, `750ms`) as Flux prints it in messages.
pub fn format_duration(duration: Duration) -> String {
    let millis = duration.as_millis();
    if millis < 1000 {
        return format!("{millis}ms");
    }
    let total = duration.as_secs_f64();
    let hours = (total / 3600.0).floor();
    let minutes = ((total - hours * 3600.0) / 60.0).floor();
    let seconds = total - hours * 3600.0 - minutes * 60.0;
    let seconds_text = {
        let text = format!("{seconds:.3}");
        let text = text.trim_end_matches('0').trim_end_matches('.');
        format!("{text}s")
    };
    match (hours as u64, minutes as u64) {
        (0, 0) => seconds_text,
        (0, m) => format!("{m}m{seconds_text}"),
        (h, m) => format!("{h}h{m}m{seconds_text}"),
    }
}

/// sha256 of the applied objects, identifying what a reconcile applied.
pub fn objects_digest(objects: &[serde_json::Value]) -> String {
    let mut hasher = Sha256::new();
    for object in objects {
        hasher.update(serde_json::to_vec(object).unwrap_or_default());
        hasher.update(b"\n---\n");
    }
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

/// The source revision a reconcile applied, and the origin revision its artifact names.
#[derive(Clone, Copy, Debug)]
pub struct Revisions<'a> {
    pub revision: &'a str,
    pub origin: Option<&'a str>,
}

/// Records a reconcile in the history: the newest snapshot first, same digest updates in place.
pub fn record_history(
    history: &mut History,
    digest: &str,
    revisions: Revisions<'_>,
    status: &str,
    duration: Duration,
) {
    let now = eddy_runtime::time::now();
    let mut entries = vec![("revision".to_owned(), revisions.revision.to_owned())];
    if let Some(origin) = revisions.origin {
        entries.push(("originRevision".to_owned(), origin.to_owned()));
    }
    let metadata = Some(entries.into_iter().collect());
    if let Some(position) = history.iter().position(|s| s.digest == digest) {
        let mut snapshot = history.remove(position);
        snapshot.last_reconciled = now;
        snapshot.last_reconciled_duration = format_duration(duration);
        snapshot.last_reconciled_status = status.to_owned();
        snapshot.total_reconciliations += 1;
        snapshot.metadata = metadata;
        history.insert(0, snapshot);
    } else {
        history.insert(
            0,
            Snapshot {
                digest: digest.to_owned(),
                first_reconciled: now.clone(),
                last_reconciled: now,
                last_reconciled_duration: format_duration(duration),
                last_reconciled_status: status.to_owned(),
                total_reconciliations: 1,
                metadata,
            },
        );
    }
    history.truncate(HISTORY_LIMIT);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_like_go() {
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
        assert_eq!(format_duration(Duration::from_millis(2500)), "2.5s");
        assert_eq!(format_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(format_duration(Duration::from_secs(3600)), "1h0m0s");
    }

    #[test]
    fn history_keeps_five_newest_first() {
        let mut history = History::new();
        let plain = |revision| Revisions {
            revision,
            origin: None,
        };
        for i in 0..7 {
            record_history(
                &mut history,
                &format!("d{i}"),
                plain("rev"),
                "ReconciliationSucceeded",
                Duration::from_secs(1),
            );
        }
        record_history(
            &mut history,
            "d6",
            Revisions {
                revision: "rev2",
                origin: Some("main@sha1:abc"),
            },
            "ReconciliationSucceeded",
            Duration::from_secs(1),
        );
        assert_eq!(history.len(), HISTORY_LIMIT);
        assert_eq!(history[0].digest, "d6");
        assert_eq!(history[0].total_reconciliations, 2);
        let metadata = history[0].metadata.clone().unwrap_or_default();
        assert_eq!(metadata.get("revision").map(String::as_str), Some("rev2"));
        assert_eq!(
            metadata.get("originRevision").map(String::as_str),
            Some("main@sha1:abc")
        );
        assert_eq!(history[1].digest, "d5");
        assert!(
            !history[1]
                .metadata
                .clone()
                .unwrap_or_default()
                .contains_key("originRevision")
        );
    }
}
