//! API server requests by verb, from kube-apiserver's own `apiserver_request_total` counter
//! (scraped from `/metrics` before and after a phase).
//!
//! The counter has no label for the client, so the difference holds everyone's requests. Two
//! things are taken out to leave the fleet's: requests on resources only the control plane's own
//! components touch (leases, nodes, pods, replica sets, endpoints, Deployment status written by the
//! deployment controller), and the requests the bench made itself, which it counts as it makes
//! them. Long-running requests (WATCH) are counted when they end, so a watch the controllers
//! hold open for the whole run shows up late or not at all.

use std::collections::BTreeMap;

use anyhow::Context;
use serde::Serialize;

/// Requests per verb (`GET`, `LIST`, `WATCH`, `APPLY`, `PATCH`, `PUT`, `POST`, `DELETE`, …).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(transparent)]
pub struct RequestCounts(pub BTreeMap<String, u64>);

impl RequestCounts {
    pub fn add(&mut self, verb: &str, count: u64) {
        *self.0.entry(verb.to_owned()).or_default() += count;
    }

    pub fn total(&self) -> u64 {
        self.0.values().sum()
    }

    pub fn get(&self, verb: &str) -> u64 {
        self.0.get(verb).copied().unwrap_or_default()
    }
}

/// One series of `apiserver_request_total`, by the labels that say what was asked.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct RequestSeries {
    pub verb: String,
    pub resource: String,
    pub subresource: String,
    pub code: String,
}

/// The request counter at one moment.
#[derive(Debug, Clone, Default)]
pub struct MetricsSnapshot(BTreeMap<RequestSeries, f64>);

const REQUEST_TOTAL: &str = "apiserver_request_total";

/// Resources (and `resource/subresource`) that only the control plane's components write or
/// read during a race: node heartbeats, leader leases, the deployment and replica-set controllers.
const CONTROL_PLANE_ONLY: &[&str] = &[
    "leases",
    "nodes",
    "nodes/status",
    "pods",
    "replicasets",
    "replicasets/status",
    "endpoints",
    "endpointslices",
    "deployments/status",
];

/// Parses the Prometheus text exposition, keeping `apiserver_request_total`.
pub fn parse_metrics(text: &str) -> anyhow::Result<MetricsSnapshot> {
    let mut series = BTreeMap::new();
    for line in text.lines() {
        let Some(rest) = line.strip_prefix(REQUEST_TOTAL) else {
            continue;
        };
        let Some(rest) = rest.strip_prefix('{') else {
            continue;
        };
        let (labels, value) = rest
            .rsplit_once('}')
            .with_context(|| format!("unterminated labels in metrics line {line:?}"))?;
        let value: f64 = value
            .split_whitespace()
            .next()
            .with_context(|| format!("no value in metrics line {line:?}"))?
            .parse()
            .with_context(|| format!("bad value in metrics line {line:?}"))?;
        let labels = parse_labels(labels);
        let label = |name: &str| labels.get(name).cloned().unwrap_or_default();
        let key = RequestSeries {
            verb: label("verb"),
            resource: label("resource"),
            subresource: label("subresource"),
            code: label("code"),
        };
        *series.entry(key).or_default() += value;
    }
    Ok(MetricsSnapshot(series))
}

/// `name="value",…` into a map; values may hold escaped quotes and commas.
fn parse_labels(text: &str) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut rest = text;
    while let Some((name, after)) = rest.split_once("=\"") {
        let mut value = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((index, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, escaped)) = chars.next() {
                        value.push(if escaped == 'n' { '\n' } else { escaped });
                    }
                }
                '"' => {
                    end = index + 1;
                    break;
                }
                other => value.push(other),
            }
        }
        labels.insert(name.trim().trim_start_matches(',').trim().to_owned(), value);
        rest = after.get(end..).unwrap_or_default();
    }
    labels
}

fn is_control_plane_only(series: &RequestSeries) -> bool {
    let qualified = if series.subresource.is_empty() {
        series.resource.clone()
    } else {
        format!("{}/{}", series.resource, series.subresource)
    };
    CONTROL_PLANE_ONLY.contains(&qualified.as_str())
}

/// The fleet's requests between two snapshots: the counter's growth, without the control plane's
/// own resources and without `own` (the bench's requests).
pub fn requests_between(
    before: &MetricsSnapshot,
    after: &MetricsSnapshot,
    own: &RequestCounts,
) -> RequestCounts {
    let mut counts = RequestCounts::default();
    for (series, value) in &after.0 {
        if is_control_plane_only(series) {
            continue;
        }
        let previous = before.0.get(series).copied().unwrap_or_default();
        let grown = (value - previous).max(0.0).round() as u64;
        if grown > 0 {
            counts.add(&series.verb, grown);
        }
    }
    for (verb, mine) in &own.0 {
        if let Some(count) = counts.0.get_mut(verb) {
            *count = count.saturating_sub(*mine);
        }
    }
    counts.0.retain(|_, count| *count > 0);
    counts
}

/// Reads the API server's `/metrics` with the client's (admin) credentials.
pub async fn scrape(client: &kube::Client) -> anyhow::Result<MetricsSnapshot> {
    let request = http::Request::get("/metrics").body(Vec::new())?;
    let text = client
        .request_text(request)
        .await
        .context("cannot read kube-apiserver's /metrics")?;
    parse_metrics(&text)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BEFORE: &str = r#"# HELP apiserver_request_total [STABLE] Counter of apiserver requests
# TYPE apiserver_request_total counter
apiserver_request_total{code="200",component="apiserver",dry_run="",group="kustomize.toolkit.fluxcd.io",resource="kustomizations",scope="namespace",subresource="status",verb="PATCH",version="v1"} 10
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="configmaps",scope="namespace",subresource="",verb="APPLY",version="v1"} 4
apiserver_request_total{code="200",component="apiserver",dry_run="",group="coordination.k8s.io",resource="leases",scope="namespace",subresource="",verb="PUT",version="v1"} 100
apiserver_request_duration_seconds_bucket{verb="GET",le="0.1"} 7
"#;

    const AFTER: &str = r#"apiserver_request_total{code="200",component="apiserver",dry_run="",group="kustomize.toolkit.fluxcd.io",resource="kustomizations",scope="namespace",subresource="status",verb="PATCH",version="v1"} 25
apiserver_request_total{code="200",component="apiserver",dry_run="",group="",resource="configmaps",scope="namespace",subresource="",verb="APPLY",version="v1"} 8
apiserver_request_total{code="409",component="apiserver",dry_run="",group="",resource="configmaps",scope="namespace",subresource="",verb="APPLY",version="v1"} 1
apiserver_request_total{code="200",component="apiserver",dry_run="",group="coordination.k8s.io",resource="leases",scope="namespace",subresource="",verb="PUT",version="v1"} 160
apiserver_request_total{code="200",component="apiserver",dry_run="",group="apps",resource="deployments",scope="namespace",subresource="status",verb="PUT",version="v1"} 30
apiserver_request_total{code="200",component="apiserver",dry_run="",group="kustomize.toolkit.fluxcd.io",resource="kustomizations",scope="namespace",subresource="",verb="LIST",version="v1"} 3
"#;

    #[test]
    fn keeps_only_the_request_counter_and_sums_by_labels() {
        let snapshot = parse_metrics(BEFORE).unwrap();
        assert_eq!(snapshot.0.len(), 3);
        let leases = snapshot
            .0
            .iter()
            .find(|(series, _)| series.resource == "leases")
            .unwrap();
        assert_eq!((leases.0.verb.as_str(), *leases.1), ("PUT", 100.0));
    }

    #[test]
    fn counts_growth_by_verb_without_control_plane_traffic_or_the_bench() {
        let before = parse_metrics(BEFORE).unwrap();
        let after = parse_metrics(AFTER).unwrap();
        let mut own = RequestCounts::default();
        own.add("LIST", 2);
        let counts = requests_between(&before, &after, &own);
        assert_eq!(counts.get("PATCH"), 15);
        assert_eq!(counts.get("APPLY"), 5, "both response codes count");
        assert_eq!(
            counts.get("LIST"),
            1,
            "the bench's own lists are not the fleet's"
        );
        assert_eq!(
            counts.get("PUT"),
            0,
            "leases and Deployment status are the control plane's"
        );
        assert_eq!(counts.total(), 21);
    }

    #[test]
    fn own_requests_never_make_a_count_negative() {
        let before = MetricsSnapshot::default();
        let after = parse_metrics(AFTER).unwrap();
        let mut own = RequestCounts::default();
        own.add("LIST", 50);
        own.add("GET", 5);
        let counts = requests_between(&before, &after, &own);
        assert_eq!(counts.get("LIST"), 0);
        assert!(!counts.0.contains_key("LIST"));
    }

    #[test]
    fn label_values_may_hold_escaped_quotes_and_commas() {
        let labels = parse_labels(r#"a="x\"y,z",b="",c="plain""#);
        assert_eq!(labels["a"], "x\"y,z");
        assert_eq!(labels["b"], "");
        assert_eq!(labels["c"], "plain");
    }

    #[test]
    fn a_line_without_a_value_is_an_error() {
        let error = parse_metrics("apiserver_request_total{verb=\"GET\"}\n").unwrap_err();
        assert!(error.to_string().contains("no value"), "{error}");
    }
}
