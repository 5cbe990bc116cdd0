//! Which Alerts want an event: event sources, severity, inclusion and exclusion lists.
//!
//! Label selectors need the involved object's labels, which only the API server knows; matching
//! therefore answers "needs labels" and the caller fetches them once per event.

use std::collections::BTreeMap;

use eddy_api::notification::{Alert, EventSeverity, EventSourceReference};
use kube::ResourceExt;
use regex::Regex;

use crate::event::FluxEvent;

/// The answer for one Alert before labels are known.
#[derive(Debug, Clone, PartialEq)]
pub enum AlertMatch<'a> {
    No,
    Yes,
    /// Matches if the involved object carries all of these labels.
    IfLabels(Vec<&'a BTreeMap<String, String>>),
}

/// Whether `alert` forwards `event`, short of label checks.
pub fn alert_matches<'a>(
    alert: &'a Alert,
    event: &FluxEvent,
    no_cross_namespace_refs: bool,
) -> AlertMatch<'a> {
    let spec = &alert.spec;
    if spec.suspend.unwrap_or(false) {
        return AlertMatch::No;
    }
    let alert_namespace = alert.namespace().unwrap_or_default();
    if no_cross_namespace_refs && event.namespace() != alert_namespace {
        return AlertMatch::No;
    }
    if spec.severity() == EventSeverity::Error && !event.is_error() {
        return AlertMatch::No;
    }
    if !message_passes(
        &event.message,
        spec.inclusion_list.as_deref(),
        spec.exclusion_list.as_deref(),
    ) {
        return AlertMatch::No;
    }
    let mut selectors = Vec::new();
    for source in &spec.event_sources {
        if !source_matches(source, &alert_namespace, event) {
            continue;
        }
        match source
            .match_labels
            .as_ref()
            .filter(|labels| !labels.is_empty())
        {
            None => return AlertMatch::Yes,
            Some(labels) => selectors.push(labels),
        }
    }
    if selectors.is_empty() {
        AlertMatch::No
    } else {
        AlertMatch::IfLabels(selectors)
    }
}

/// Kind, name (or `*`), namespace (default: the Alert's) and, when given, API group.
fn source_matches(source: &EventSourceReference, alert_namespace: &str, event: &FluxEvent) -> bool {
    let namespace = source.namespace.as_deref().unwrap_or(alert_namespace);
    if source.kind.as_str() != event.kind() || namespace != event.namespace() {
        return false;
    }
    if source.name != "*" && source.name != event.name() {
        return false;
    }
    match source.api_version.as_deref() {
        // Versions of one group are interchangeable (the API server converts); the group is not.
        Some(api_version) if !api_version.is_empty() => {
            let group = api_version.split_once('/').map(|(group, _)| group);
            group.is_none_or(|group| group == event.group())
        }
        _ => true,
    }
}

/// True when `labels` holds every pair of `selector`.
pub fn labels_match(
    selector: &BTreeMap<String, String>,
    labels: &BTreeMap<String, String>,
) -> bool {
    selector
        .iter()
        .all(|(key, value)| labels.get(key) == Some(value))
}

/// Inclusion list (any must match when non-empty), then exclusion list (any match drops).
/// Patterns that do not compile are logged and never match.
pub fn message_passes(
    message: &str,
    inclusion: Option<&[String]>,
    exclusion: Option<&[String]>,
) -> bool {
    let matches = |pattern: &String| match Regex::new(pattern) {
        Ok(regex) => regex.is_match(message),
        Err(error) => {
            tracing::error!(%error, pattern, "invalid regular expression in an Alert");
            false
        }
    };
    if let Some(inclusion) = inclusion.filter(|list| !list.is_empty())
        && !inclusion.iter().any(matches)
    {
        return false;
    }
    !exclusion.into_iter().flatten().any(matches)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alert(yaml_spec: &str) -> Alert {
        let mut alert: Alert = serde_yaml_ng::from_str(&format!(
            "apiVersion: notification.toolkit.fluxcd.io/v1beta3\nkind: Alert\nmetadata:\n  name: a\n  namespace: team\nspec:\n  providerRef: {{name: p}}\n{yaml_spec}"
        ))
        .unwrap();
        alert.metadata.namespace = Some("team".into());
        alert
    }

    fn event(kind: &str, name: &str, namespace: &str, severity: &str, message: &str) -> FluxEvent {
        FluxEvent::parse(
            serde_json::json!({
                "involvedObject": {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": kind, "name": name, "namespace": namespace},
                "severity": severity, "message": message, "reason": "r"
            })
            .to_string()
            .as_bytes(),
        )
        .unwrap()
    }

    #[test]
    fn sources_match_by_kind_name_wildcard_and_default_namespace() {
        let alert = alert(
            "  eventSources:\n  - {kind: GitRepository, name: app}\n  - {kind: Kustomization, name: '*', namespace: other}\n",
        );
        let yes = |e: &FluxEvent| alert_matches(&alert, e, false) == AlertMatch::Yes;
        assert!(yes(&event("GitRepository", "app", "team", "info", "m")));
        assert!(!yes(&event("GitRepository", "app", "other", "info", "m")));
        assert!(!yes(&event("GitRepository", "web", "team", "info", "m")));
        assert!(!yes(&event("HelmRelease", "app", "team", "info", "m")));
        assert!(yes(&event(
            "Kustomization",
            "anything",
            "other",
            "info",
            "m"
        )));
        // Cross-namespace sources are refused when the flag is set.
        assert_eq!(
            alert_matches(
                &alert,
                &event("Kustomization", "x", "other", "info", "m"),
                true
            ),
            AlertMatch::No
        );
    }

    #[test]
    fn severity_suspend_and_labels() {
        let errors_only = alert(
            "  eventSeverity: error\n  eventSources:\n  - {kind: GitRepository, name: '*'}\n",
        );
        assert_eq!(
            alert_matches(
                &errors_only,
                &event("GitRepository", "a", "team", "info", "m"),
                false
            ),
            AlertMatch::No
        );
        assert_eq!(
            alert_matches(
                &errors_only,
                &event("GitRepository", "a", "team", "error", "m"),
                false
            ),
            AlertMatch::Yes
        );
        let suspended =
            alert("  suspend: true\n  eventSources:\n  - {kind: GitRepository, name: '*'}\n");
        assert_eq!(
            alert_matches(
                &suspended,
                &event("GitRepository", "a", "team", "info", "m"),
                false
            ),
            AlertMatch::No
        );
        let labelled = alert(
            "  eventSources:\n  - kind: GitRepository\n    name: '*'\n    matchLabels: {team: web}\n",
        );
        let AlertMatch::IfLabels(selectors) = alert_matches(
            &labelled,
            &event("GitRepository", "a", "team", "info", "m"),
            false,
        ) else {
            panic!("expected a label check");
        };
        let labels = BTreeMap::from([("team".to_owned(), "web".to_owned())]);
        assert!(labels_match(selectors[0], &labels));
        assert!(!labels_match(selectors[0], &BTreeMap::new()));
    }

    #[test]
    fn inclusion_and_exclusion_lists_exclusion_wins() {
        let include = vec![".*succeeded.*".to_owned()];
        let exclude = vec!["^Dependencies.*".to_owned(), "([".to_owned()];
        assert!(message_passes(
            "apply succeeded",
            Some(&include),
            Some(&exclude)
        ));
        assert!(!message_passes("apply failed", Some(&include), None));
        assert!(!message_passes(
            "Dependencies succeeded",
            Some(&include),
            Some(&exclude)
        ));
        assert!(message_passes("anything", None, None));
    }
}
