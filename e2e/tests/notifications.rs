//! End-to-end: source-controller and notification-controller in-process against the testenv.
//! A GitRepository's `NewArtifact` event reaches a Slack-like service through an Alert, and a
//! signed GitHub push to a Receiver makes the GitRepository fetch the new commit at once.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use axum::{Router, body::Bytes, extract::State, http::StatusCode};
use clap::Parser;
use eddy_api::{notification::Receiver, source::GitRepository};
use eddy_runtime::{admin::Readiness, metrics::Metrics, process::ControllerProcess};
use eddy_test_support::{
    TestNamespace, client,
    git_server::{GitHttpServer, HttpServerOptions, RepoRoot},
    install_crds, wait_for,
};
use kube::api::{Api, PostParams};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const TIMEOUT: Duration = Duration::from_secs(90);
const SHARD_LABEL: &str = "eddy.test/shard";

type Seen = Arc<Mutex<Vec<Value>>>;

async fn slack_like_service() -> (String, Seen) {
    async fn record(State(seen): State<Seen>, body: Bytes) -> StatusCode {
        seen.lock()
            .unwrap()
            .push(serde_json::from_slice(&body).unwrap_or(Value::Null));
        StatusCode::OK
    }
    let seen: Seen = Arc::default();
    let router = Router::new().fallback(record).with_state(seen.clone());
    let addr = eddy_runtime::admin::spawn_server("127.0.0.1:0".parse().unwrap(), "slack", router)
        .await
        .unwrap();
    (format!("http://{addr}/services/T0/B0/x"), seen)
}

async fn create<K>(client: &kube::Client, ns: &str, object: Value) -> K
where
    K: kube::Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + serde::de::DeserializeOwned
        + serde::Serialize
        + std::fmt::Debug,
{
    let object: K = serde_json::from_value(object).unwrap();
    Api::<K>::namespaced(client.clone(), ns)
        .create(&PostParams::default(), &object)
        .await
        .unwrap()
}

fn revision(repository: &GitRepository) -> Option<String> {
    repository
        .status
        .as_ref()?
        .artifact
        .as_ref()
        .map(|a| a.revision.clone())
}

#[tokio::test(flavor = "multi_thread")]
async fn new_artifact_reaches_slack_and_a_github_push_triggers_a_fetch() {
    eddy_runtime::tls::install_crypto_provider();
    let client = client().await.unwrap();
    install_crds(&client).await.unwrap();
    let namespace = TestNamespace::new(&client, "e2e-notify").await.unwrap();
    let ns = namespace.name().to_owned();
    let shard = format!("notify-{}", std::process::id());

    // notification-controller, in-process.
    let nc_args = notification_controller::Args::try_parse_from([
        "notification-controller",
        "--events-addr=127.0.0.1:0",
        "--receiverAddr=127.0.0.1:0",
        "--metrics-addr=127.0.0.1:0",
        "--health-addr=127.0.0.1:0",
    ])
    .unwrap();
    let process = Arc::new(ControllerProcess {
        name: notification_controller::NAME,
        client: client.clone(),
        metrics: Metrics::new(),
        readiness: Readiness::default(),
    });
    let nc = notification_controller::start(process, nc_args, CancellationToken::new())
        .await
        .unwrap();

    // source-controller, in-process, sending its events to notification-controller.
    let storage = tempfile::tempdir().unwrap();
    let sc_args = source_controller::args::Args::try_parse_from([
        "source-controller".to_owned(),
        "--storage-addr=127.0.0.1:0".into(),
        "--metrics-addr=127.0.0.1:0".into(),
        "--health-addr=127.0.0.1:0".into(),
        format!("--events-addr=http://{}/", nc.events_addr),
        format!("--watch-label-selector={SHARD_LABEL}={shard}"),
        format!("--storage-path={}", storage.path().display()),
    ])
    .unwrap();
    let source_controller = tokio::spawn(source_controller::run_with_client(
        sc_args,
        Some(client.clone()),
    ));

    // A Git repository, an Alert to a Slack-like service, and a GitHub Receiver.
    let root = RepoRoot::new().unwrap();
    let repo = root.create("app").unwrap();
    repo.write("deploy/app.yaml", "kind: ConfigMap\n").unwrap();
    let first = repo.commit_all("first").unwrap();
    repo.push("master").unwrap();
    let git = GitHttpServer::start(root.path(), HttpServerOptions::default())
        .await
        .unwrap();
    let (slack_url, slack) = slack_like_service().await;
    create::<eddy_api::notification::Provider>(
        &client,
        &ns,
        json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Provider",
            "metadata": {"name": "slack"}, "spec": {"type": "slack", "address": slack_url}
        }),
    )
    .await;
    create::<eddy_api::notification::Alert>(&client, &ns, json!({
        "apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Alert",
        "metadata": {"name": "sources"},
        "spec": {"providerRef": {"name": "slack"}, "eventSources": [{"kind": "GitRepository", "name": "*"}]}
    }))
    .await;
    let secrets: Api<k8s_openapi::api::core::v1::Secret> = Api::namespaced(client.clone(), &ns);
    secrets
        .create(&PostParams::default(), &serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Secret", "metadata": {"name": "webhook"}, "stringData": {"token": "push-secret"}
        })).unwrap())
        .await
        .unwrap();
    create::<Receiver>(
        &client,
        &ns,
        json!({
            "apiVersion": "notification.toolkit.fluxcd.io/v1", "kind": "Receiver",
            "metadata": {"name": "github"},
            "spec": {"type": "github", "events": ["push"], "secretRef": {"name": "webhook"},
                     "resources": [{"kind": "GitRepository", "name": "app"}]}
        }),
    )
    .await;
    create::<GitRepository>(
        &client,
        &ns,
        json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": "app", "labels": {SHARD_LABEL: shard}},
            "spec": {"url": git.url("app"), "interval": "1h", "ref": {"branch": "master"}}
        }),
    )
    .await;

    // The NewArtifact event arrives at the Slack-like service.
    let message = wait_for(
        "a Slack message about the first artifact",
        TIMEOUT,
        async || {
            let seen = slack.lock().unwrap().clone();
            Ok(seen.into_iter().find(|body| {
                body["attachments"][0]["fields"]
                    .as_array()
                    .is_some_and(|fields| {
                        fields
                            .iter()
                            .any(|f| f["value"] == format!("master@sha1:{first}"))
                    })
            }))
        },
    )
    .await
    .unwrap();
    let attachment = &message["attachments"][0];
    assert_eq!(attachment["author_name"], format!("GitRepository/app.{ns}"));
    assert!(
        attachment["text"]
            .as_str()
            .unwrap()
            .contains("stored artifact"),
        "{attachment}"
    );

    // A push: the GitRepository's interval is an hour, so only the webhook can make it fetch now.
    repo.write("deploy/app.yaml", "kind: ConfigMap\nmetadata: {name: v2}\n")
        .unwrap();
    let second = repo.commit_all("second").unwrap();
    repo.push("master").unwrap();
    let receivers: Api<Receiver> = Api::namespaced(client.clone(), &ns);
    let path = wait_for("the Receiver's webhook path", TIMEOUT, async || {
        Ok(receivers
            .get("github")
            .await?
            .status
            .and_then(|s| s.webhook_path))
    })
    .await
    .unwrap();
    let body = json!({"ref": "refs/heads/master", "after": second}).to_string();
    let signature = format!(
        "sha256={}",
        notification_controller::providers::generic::hmac_sha256_hex(
            b"push-secret",
            body.as_bytes()
        )
    );
    let response = reqwest::Client::new()
        .post(format!("http://{}{path}", nc.receiver_addr))
        .header("X-GitHub-Event", "push")
        .header("X-Hub-Signature-256", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);

    let repositories: Api<GitRepository> = Api::namespaced(client.clone(), &ns);
    let fetched = wait_for("the pushed commit to be fetched", TIMEOUT, async || {
        let repository = repositories.get("app").await?;
        Ok((revision(&repository) == Some(format!("master@sha1:{second}"))).then_some(repository))
    })
    .await
    .unwrap();
    let requested =
        fetched.metadata.annotations.as_ref().unwrap()["reconcile.fluxcd.io/requestedAt"].clone();
    let handled = wait_for(
        "lastHandledReconcileAt to echo the request",
        TIMEOUT,
        async || {
            let repository = repositories.get("app").await?;
            Ok(repository
                .status
                .and_then(|s| s.last_handled_reconcile_at)
                .filter(|h| *h == requested))
        },
    )
    .await;
    assert!(handled.is_ok(), "{handled:?}");

    source_controller.abort();
    namespace.cleanup().await.unwrap();
}
