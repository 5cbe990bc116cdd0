//! End-to-end (issue #7): source-controller, kustomize-controller and notification-controller
//! in-process against the testenv. A commit to the seed's config repository becomes a new
//! artifact and an applied revision; an Alert forwards both controllers' events to a Slack-like
//! service; a GitHub Receiver called with a signed push payload makes the GitRepository fetch at
//! once, which is measured; calls with a wrong or missing signature change nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use eddy_e2e as common;

use std::time::{Duration, Instant};

use common::{
    ConfigRepo, REQUESTED_AT, Recordings, TIMEOUT, TestEnv, artifact_revision,
    last_applied_revision, ready_condition, slack_like_service, start_controllers, string_at,
};
use eddy_api::notification::{Alert, Provider, Receiver};
use eddy_test_support::wait_for;
use hmac::{Hmac, Mac};
use k8s_openapi::api::{apps::v1::Deployment, core::v1::Secret};
use kube::api::{Api, DynamicObject};
use serde_json::{Value, json};
use sha2::Sha256;

const OVERLAY: &str = "apps/myapp/overlays/production/kustomization.yaml";
const WEBHOOK_TOKEN: &str = "e2e-github-webhook-token";
/// Pushes measured through the Receiver.
const MEASURED_PUSHES: usize = 5;
/// Bound on one commit → applied latency; the sources and Kustomization poll only hourly.
const LATENCY_BOUND: Duration = Duration::from_secs(60);

#[tokio::test(flavor = "multi_thread")]
async fn commit_reaches_slack_and_a_github_push_applies_at_once() {
    let env = TestEnv::new("e2e-notify").await;
    let ns = env.ns.clone();
    let controllers = start_controllers(&env.client, &ns, true).await;
    let receiver_addr = controllers.notifications.unwrap().receiver_addr;
    let config = ConfigRepo::seed("master").await;

    // An Alert for both kinds to a Slack-like service, and a GitHub Receiver for the source.
    let (slack_url, slack) = slack_like_service().await;
    common::create::<Provider>(
        &env.client,
        &ns,
        json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Provider",
            "metadata": {"name": "slack"}, "spec": {"type": "slack", "address": slack_url},
        }),
    )
    .await;
    let (generic_url, generic) = slack_like_service().await;
    common::create::<Provider>(
        &env.client,
        &ns,
        json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Provider",
            "metadata": {"name": "generic"}, "spec": {"type": "generic", "address": generic_url},
        }),
    )
    .await;
    common::create::<Alert>(
        &env.client,
        &ns,
        json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Alert",
            "metadata": {"name": "applied"},
            "spec": {"providerRef": {"name": "generic"},
                     "eventSources": [{"kind": "Kustomization", "name": "myapp"}]},
        }),
    )
    .await;
    common::create::<Alert>(
        &env.client,
        &ns,
        json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Alert",
            "metadata": {"name": "gitops"},
            "spec": {"providerRef": {"name": "slack"}, "eventSeverity": "info",
                     "eventSources": [{"kind": "GitRepository", "name": "*"},
                                      {"kind": "Kustomization", "name": "*"}]},
        }),
    )
    .await;
    common::create::<Secret>(
        &env.client,
        &ns,
        json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "github-webhook"},
               "stringData": {"token": WEBHOOK_TOKEN}}),
    )
    .await;
    common::create::<Receiver>(
        &env.client,
        &ns,
        json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1", "kind": "Receiver",
            "metadata": {"name": "github"},
            "spec": {"type": "github", "events": ["ping", "push"],
                     "secretRef": {"name": "github-webhook"},
                     "resources": [{"kind": "GitRepository", "name": "config"}]},
        }),
    )
    .await;

    // The sources and the Kustomization poll hourly: every fetch and apply within the test is
    // explained by the Receiver (or, for the first commit, by the objects' creation).
    env.create_git_repository("config", &config.url(), "master")
        .await;
    env.create_kustomization(json!({
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "myapp"},
        "spec": {
            "interval": "1h", "path": "./apps/myapp/overlays/production", "prune": true,
            "targetNamespace": ns,
            "sourceRef": {"kind": "GitRepository", "name": "config"},
        },
    }))
    .await;
    let first = config.revision();
    env.wait_applied("myapp", &first).await;
    wait_for_slack_messages(&slack, &ns, &first).await;
    wait_for_succeeded_event(&generic, &first).await;

    let repositories = env.git_repositories();
    let kustomizations = env.kustomizations();
    let repository = repositories.get("config").await.unwrap();
    assert_eq!(
        string_at(&repository, "/spec/interval").as_deref(),
        Some("1h")
    );
    let ks = kustomizations.get("myapp").await.unwrap();
    assert_eq!(string_at(&ks, "/spec/interval").as_deref(), Some("1h"));

    let webhook = format!(
        "http://{receiver_addr}{}",
        webhook_path(&env.api::<Receiver>()).await
    );
    let http = reqwest::Client::new();

    // GitHub pings a new webhook first.
    let ping = json!({"zen": "Keep it logically awesome.", "hook_id": 1}).to_string();
    let response = github_call(&http, &webhook, "ping", &ping, Some(WEBHOOK_TOKEN)).await;
    assert_eq!(response, 200);

    // Commit → push → Receiver → fetch → apply, measured several times.
    let mut latencies = Vec::new();
    let mut stored_latencies = Vec::new();
    let mut replicas = 5;
    let mut before = first;
    for round in 0..MEASURED_PUSHES {
        let next_replicas = if replicas > 2 { replicas - 1 } else { 4 };
        config.edit(OVERLAY, |text| {
            text.replace(
                &format!("count: {replicas}"),
                &format!("count: {next_replicas}"),
            )
        });
        let started = Instant::now();
        let revision = config.commit(&format!("production: {next_replicas} replicas"));
        let payload = push_payload(&config, &before, &revision);
        let status = github_call(&http, &webhook, "push", &payload, Some(WEBHOOK_TOKEN)).await;
        assert_eq!(status, 200, "round {round}");
        let timing = time_push(started, &repositories, &kustomizations, &revision).await;
        latencies.push(timing.applied);
        stored_latencies.push(timing.stored);
        assert!(
            timing.applied < LATENCY_BOUND,
            "round {round}: {:?} from push to applied",
            timing.applied
        );
        assert_eq!(
            last_applied_revision(&timing.kustomization).as_deref(),
            Some(&*revision)
        );

        // The fetch was the Receiver's doing: it wrote the request the source then handled.
        let repository = repositories.get("config").await.unwrap();
        let requested = annotation(&repository).expect("the Receiver annotated the GitRepository");
        wait_for(
            "the source to echo the Receiver's request",
            TIMEOUT,
            async || {
                let repository = repositories.get("config").await?;
                Ok(
                    (string_at(&repository, "/status/lastHandledReconcileAt").as_deref()
                        == Some(&*requested))
                    .then_some(()),
                )
            },
        )
        .await
        .unwrap();
        let deployment = env.api::<Deployment>().get("myapp").await.unwrap();
        assert_eq!(deployment.spec.unwrap().replicas, Some(next_replicas));
        if round == 0 {
            wait_for_slack_messages(&slack, &ns, &revision).await;
            wait_for_succeeded_event(&generic, &revision).await;
        }
        replicas = next_replicas;
        before = revision;
    }
    eprintln!(
        "commit → applied through the GitHub Receiver ({MEASURED_PUSHES} pushes, intervals 1h): {}",
        summary(&mut latencies)
    );
    eprintln!(
        "  of which push → artifact stored by source-controller: {}",
        summary(&mut stored_latencies)
    );

    // A pushed commit announced with a wrong or missing signature changes nothing.
    config.edit(OVERLAY, |text| {
        text.replace(&format!("count: {replicas}"), "count: 5")
    });
    let pending = config.commit("production: 5 replicas");
    let payload = push_payload(&config, &before, &pending);
    let requested_before = annotation(&repositories.get("config").await.unwrap());
    for (what, token) in [
        ("a wrong signature", Some("not-the-token")),
        ("no signature", None),
    ] {
        let status = github_call(&http, &webhook, "push", &payload, token).await;
        assert!((400..500).contains(&status), "{what}: HTTP {status}");
        let repository = repositories.get("config").await.unwrap();
        assert_eq!(annotation(&repository), requested_before, "{what}");
    }
    // Nothing happens afterwards either (a bounded observation window, not a sleep-and-hope:
    // every probe must see the old state).
    let watch_until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < watch_until {
        let repository = repositories.get("config").await.unwrap();
        assert_eq!(artifact_revision(&repository).as_deref(), Some(&*before));
        assert_eq!(annotation(&repository), requested_before);
        let ks = kustomizations.get("myapp").await.unwrap();
        assert_eq!(last_applied_revision(&ks).as_deref(), Some(&*before));
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    // The same payload, signed correctly, is what makes the commit arrive.
    let status = github_call(&http, &webhook, "push", &payload, Some(WEBHOOK_TOKEN)).await;
    assert_eq!(status, 200);
    env.wait_applied("myapp", &pending).await;

    // Before the controllers stop: they release their finalizers.
    env.cleanup().await;
    drop(controllers);
}

/// `min …, median …, max …; all: […]` of the figures (sorted in place).
fn summary(figures: &mut [Duration]) -> String {
    figures.sort();
    format!(
        "min {:?}, median {:?}, max {:?}; all: {:?}",
        figures[0],
        figures[figures.len() / 2],
        figures[figures.len() - 1],
        figures
    )
}

/// The reconcile request written on `object`, if any.
fn annotation(object: &DynamicObject) -> Option<String> {
    object
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(REQUESTED_AT).cloned())
}

async fn webhook_path(receivers: &Api<Receiver>) -> String {
    wait_for("the Receiver's webhook path", TIMEOUT, async || {
        let receiver = receivers.get("github").await?;
        let ready = receiver
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
        Ok(receiver
            .status
            .and_then(|s| s.webhook_path)
            .filter(|_| ready))
    })
    .await
    .unwrap()
}

/// When a pushed revision was stored by source-controller and applied by
/// kustomize-controller, counted from the push.
struct PushTiming {
    stored: Duration,
    applied: Duration,
    kustomization: DynamicObject,
}

/// Polls both objects faster than `wait_for` so the measured latency is not rounded up by the
/// poll.
async fn time_push(
    started: Instant,
    repositories: &Api<DynamicObject>,
    kustomizations: &Api<DynamicObject>,
    revision: &str,
) -> PushTiming {
    let mut stored = None;
    loop {
        if stored.is_none()
            && let Ok(object) = repositories.get("config").await
            && artifact_revision(&object).as_deref() == Some(revision)
        {
            stored = Some(started.elapsed());
        }
        if let Ok(object) = kustomizations.get("myapp").await {
            let ready = ready_condition(&object).is_some_and(|r| r.status == "True");
            if ready && last_applied_revision(&object).as_deref() == Some(revision) {
                let applied = started.elapsed();
                return PushTiming {
                    // Applying needs the artifact, so it was stored by then at the latest.
                    stored: stored.unwrap_or(applied),
                    applied,
                    kustomization: object,
                };
            }
        }
        assert!(
            started.elapsed() < TIMEOUT,
            "{revision} was not applied within {TIMEOUT:?}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A push event body as GitHub sends it (the fields a receiver or a human would look at).
fn push_payload(config: &ConfigRepo, before: &str, after: &str) -> String {
    let sha = |revision: &str| revision.rsplit(':').next().unwrap().to_owned();
    let (before, after) = (sha(before), sha(after));
    let message = config.repo.git(&["log", "-1", "--format=%s"]).unwrap();
    let timestamp = config.repo.git(&["log", "-1", "--format=%cI"]).unwrap();
    let author = json!({"name": "Eddy Test", "email": "test@eddy.invalid", "username": "eddy"});
    json!({
        "ref": "refs/heads/master",
        "before": before,
        "after": after,
        "created": false, "deleted": false, "forced": false,
        "compare": format!("https://github.example/eddy/config/compare/{}...{}", &before[..12], &after[..12]),
        "commits": [{"id": after, "message": message, "timestamp": timestamp,
                     "author": author, "committer": author, "distinct": true,
                     "modified": [OVERLAY], "added": [], "removed": []}],
        "head_commit": {"id": after, "message": message, "timestamp": timestamp,
                        "author": author, "committer": author},
        "repository": {"id": 1, "name": "config", "full_name": "eddy/config",
                       "clone_url": config.url(), "default_branch": "master",
                       "owner": {"login": "eddy", "name": "eddy"}},
        "pusher": {"name": "eddy", "email": "test@eddy.invalid"},
        "sender": {"login": "eddy", "type": "User"},
    })
    .to_string()
}

/// Calls the webhook as GitHub does: `X-Hub-Signature-256: sha256=<HMAC-SHA256 of the body
/// keyed with the token>` (computed here with the `hmac` crate, independently of the
/// controller's own code). Returns the HTTP status.
async fn github_call(
    http: &reqwest::Client,
    url: &str,
    event: &str,
    body: &str,
    token: Option<&str>,
) -> u16 {
    let mut request = http
        .post(url)
        .header("Content-Type", "application/json")
        .header("User-Agent", "GitHub-Hookshot/e2e")
        .header("X-GitHub-Event", event)
        .header("X-GitHub-Delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958")
        .body(body.to_owned());
    if let Some(token) = token {
        let mut mac = Hmac::<Sha256>::new_from_slice(token.as_bytes()).unwrap();
        mac.update(body.as_bytes());
        let signature = hex::encode(mac.finalize().into_bytes());
        request = request.header("X-Hub-Signature-256", format!("sha256={signature}"));
    }
    request.send().await.unwrap().status().as_u16()
}

/// Waits until the Slack-like service has received, for `revision`, the GitRepository's
/// new-artifact message and the Kustomization's change set (Flux's chat providers drop the
/// `commit_status: update` success event, so the change set is what a Slack channel sees).
async fn wait_for_slack_messages(slack: &Recordings, ns: &str, revision: &str) {
    let about = |author: String, text: String| {
        move |body: &Value| {
            let attachment = &body["attachments"][0];
            attachment["author_name"] == author.as_str()
                && attachment["text"]
                    .as_str()
                    .is_some_and(|t| t.contains(&text))
                && attachment["fields"].as_array().is_some_and(|fields| {
                    fields.iter().any(|f| f["value"].as_str() == Some(revision))
                })
        }
    };
    let source = about(
        format!("GitRepository/config.{ns}"),
        "stored artifact".to_owned(),
    );
    let applied = about(
        format!("Kustomization/myapp.{ns}"),
        format!("Deployment/{ns}/myapp "),
    );
    let seen = wait_for_recorded(
        slack,
        format!("Slack messages about {revision} from both controllers"),
        |bodies| bodies.iter().any(&source) && bodies.iter().any(&applied),
    )
    .await;
    for recorded in seen {
        assert_eq!(recorded.path, "/services/T0/B0/x");
        assert_eq!(
            recorded
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .map(|v| v.starts_with("application/json")),
            Some(true)
        );
    }
}

/// Waits until the generic webhook has received the Kustomization's
/// `ReconciliationSucceeded` event for `revision` (with the `commit_status: update` metadata
/// that keeps it away from chat providers).
async fn wait_for_succeeded_event(generic: &Recordings, revision: &str) {
    wait_for_recorded(
        generic,
        format!("a ReconciliationSucceeded event about {revision}"),
        |bodies| {
            bodies.iter().any(|event| {
                event["involvedObject"]["kind"] == "Kustomization"
                    && event["reason"] == "ReconciliationSucceeded"
                    && event["message"]
                        .as_str()
                        .is_some_and(|m| m.starts_with("Reconciliation finished"))
                    && event["metadata"].as_object().is_some_and(|metadata| {
                        metadata.values().any(|v| v.as_str() == Some(revision))
                            && metadata.iter().any(|(key, value)| {
                                key.ends_with("commit_status") && value == "update"
                            })
                    })
            })
        },
    )
    .await;
}

async fn wait_for_recorded(
    recordings: &Recordings,
    what: String,
    done: impl Fn(&[Value]) -> bool,
) -> Vec<common::Recorded> {
    let found = wait_for(&what, TIMEOUT, async || {
        let seen = recordings.lock().unwrap().clone();
        let bodies: Vec<Value> = seen.iter().map(|r| r.body.clone()).collect();
        Ok(done(&bodies).then_some(seen))
    })
    .await;
    match found {
        Ok(seen) => seen,
        Err(error) => {
            let bodies: Vec<Value> = recordings
                .lock()
                .unwrap()
                .iter()
                .map(|r| r.body.clone())
                .collect();
            panic!("{error}; received: {bodies:#?}");
        }
    }
}
