//! Event metadata: what survives from the sender, and how it is combined with an Alert's own
//! metadata before a provider sees it.

use std::collections::BTreeMap;

use crate::event::FluxEvent;

/// Prefix of metadata copied from `event.toolkit.fluxcd.io/*` object annotations.
pub const EVENT_PREFIX: &str = "event.toolkit.fluxcd.io/";

/// Group-scoped keys that are dropped before dispatch: checksums and digests are noise for
/// humans, and the token only exists to make rate-limit keys distinct.
const DROPPED_GROUP_KEYS: &[&str] = &["checksum", "digest", "token"];

/// Keeps only the keys a Flux controller may set (`event.toolkit.fluxcd.io/*` and
/// `<group>/*` of the involved object) and drops the ones never forwarded.
pub fn clean(event: &mut FluxEvent) {
    let group_prefix = format!("{}/", event.group());
    let has_group = group_prefix.len() > 1;
    event.metadata.retain(|key, _| {
        if key.starts_with(EVENT_PREFIX) {
            return true;
        }
        if !has_group {
            return false;
        }
        match key.strip_prefix(&group_prefix) {
            Some(rest) => !DROPPED_GROUP_KEYS.contains(&rest),
            None => false,
        }
    });
}

/// What an Alert contributes to the metadata of the events it forwards.
#[derive(Debug, Default, Clone)]
pub struct AlertMetadata<'a> {
    pub event_metadata: Option<&'a BTreeMap<String, String>>,
    pub summary: Option<&'a str>,
}

/// The metadata a provider sees, plus the keys whose lower-precedence value was replaced.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Merged {
    pub metadata: BTreeMap<String, String>,
    /// Keys set by more than one source with different values (reported on the Alert).
    pub conflicts: Vec<String>,
}

/// Merges, lowest precedence first: object annotations (`event.toolkit.fluxcd.io/` stripped),
/// the Alert's `eventMetadata`, the Alert's `summary`, and the controller's `<group>/` keys
/// (prefix stripped). Keys of neither shape are kept as they are, at the lowest precedence.
pub fn merge(event: &FluxEvent, alert: &AlertMetadata<'_>) -> Merged {
    let group_prefix = format!("{}/", event.group());
    let mut annotations = Vec::new();
    let mut controller = Vec::new();
    for (key, value) in &event.metadata {
        if let Some(rest) = key.strip_prefix(EVENT_PREFIX) {
            annotations.push((rest.to_owned(), value.clone()));
        } else if let Some(rest) = key
            .strip_prefix(&group_prefix)
            .filter(|_| group_prefix.len() > 1)
        {
            controller.push((rest.to_owned(), value.clone()));
        } else {
            annotations.push((key.clone(), value.clone()));
        }
    }
    let mut merged = Merged::default();
    let put = |key: String, value: String, merged: &mut Merged| {
        if let Some(previous) = merged.metadata.get(&key)
            && *previous != value
            && !merged.conflicts.contains(&key)
        {
            merged.conflicts.push(key.clone());
        }
        merged.metadata.insert(key, value);
    };
    for (key, value) in annotations {
        put(key, value, &mut merged);
    }
    for (key, value) in alert.event_metadata.into_iter().flatten() {
        put(key.clone(), value.clone(), &mut merged);
    }
    if let Some(summary) = alert.summary.filter(|summary| !summary.is_empty()) {
        put("summary".to_owned(), summary.to_owned(), &mut merged);
    }
    for (key, value) in controller {
        put(key, value, &mut merged);
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(metadata: &[(&str, &str)]) -> FluxEvent {
        let mut event = FluxEvent::parse(
            br#"{"involvedObject":{"apiVersion":"kustomize.toolkit.fluxcd.io/v1","kind":"Kustomization","name":"apps","namespace":"ns"},"severity":"info","message":"m","reason":"r"}"#,
        )
        .unwrap();
        event.metadata = metadata
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        event
    }

    #[test]
    fn cleanup_keeps_flux_keys_and_drops_digests_tokens_and_strangers() {
        let mut event = event(&[
            ("kustomize.toolkit.fluxcd.io/revision", "main@sha1:abc"),
            ("kustomize.toolkit.fluxcd.io/digest", "sha256:x"),
            ("kustomize.toolkit.fluxcd.io/checksum", "x"),
            ("kustomize.toolkit.fluxcd.io/token", "t"),
            ("source.toolkit.fluxcd.io/revision", "other group"),
            ("event.toolkit.fluxcd.io/env", "prod"),
            ("custom", "dropped"),
        ]);
        clean(&mut event);
        let keys: Vec<&str> = event.metadata.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "event.toolkit.fluxcd.io/env",
                "kustomize.toolkit.fluxcd.io/revision"
            ]
        );
    }

    #[test]
    fn merge_follows_flux_precedence_and_reports_conflicts() {
        let event = event(&[
            ("event.toolkit.fluxcd.io/env", "from-object"),
            ("event.toolkit.fluxcd.io/summary", "object summary"),
            ("event.toolkit.fluxcd.io/revision", "object revision"),
            ("kustomize.toolkit.fluxcd.io/revision", "main@sha1:abc"),
        ]);
        let alert_metadata = BTreeMap::from([
            ("env".to_owned(), "from-alert".to_owned()),
            ("cluster".to_owned(), "eu-1".to_owned()),
        ]);
        let merged = merge(
            &event,
            &AlertMetadata {
                event_metadata: Some(&alert_metadata),
                summary: Some("alert summary"),
            },
        );
        assert_eq!(merged.metadata["env"], "from-alert");
        assert_eq!(merged.metadata["cluster"], "eu-1");
        assert_eq!(merged.metadata["summary"], "alert summary");
        assert_eq!(merged.metadata["revision"], "main@sha1:abc");
        let mut conflicts = merged.conflicts.clone();
        conflicts.sort();
        assert_eq!(conflicts, ["env", "revision", "summary"]);
    }

    #[test]
    fn merge_without_alert_metadata_only_strips_prefixes() {
        let event = event(&[("kustomize.toolkit.fluxcd.io/revision", "r1")]);
        let merged = merge(&event, &AlertMetadata::default());
        assert_eq!(
            merged.metadata,
            BTreeMap::from([("revision".to_owned(), "r1".to_owned())])
        );
        assert!(merged.conflicts.is_empty());
    }
}
