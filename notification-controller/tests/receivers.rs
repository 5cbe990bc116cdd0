//! Webhook receivers: real signed calls in GitHub's and GitLab's formats turn into
//! `reconcile.fluxcd.io/requestedAt` annotations; bad calls are refused before anything happens.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

mod common;

use std::time::Duration;

use common::*;
use eddy_api::{notification::Receiver, source::GitRepository};
use hmac::{Hmac, Mac};
use kube::{Api, Client};
use serde_json::json;

const REQUESTED_AT: &str = "reconcile.fluxcd.io/requestedAt";

fn receiver(name: &str, spec: serde_json::Value) -> serde_json::Value {
    json!({"apiVersion": "notification.toolkit.fluxcd.io/v1", "kind": "Receiver", "metadata": {"name": name}, "spec": spec})
}

/// Waits for the Receiver's Ready condition with `status` and returns the Receiver.
async fn wait_ready(client: &Client, ns: &str, name: &str, status: &str) -> Receiver {
    let api: Api<Receiver> = Api::namespaced(client.clone(), ns);
    eddy_test_support::wait_for(
        format!("Receiver {name} Ready={status}"),
        Duration::from_secs(60),
        async || {
            let receiver = api.get(name).await?;
            let ready = receiver
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .and_then(|c| c.iter().find(|c| c.type_ == "Ready").cloned());
            Ok(ready.filter(|c| c.status == status).map(|_| receiver))
        },
    )
    .await
    .unwrap()
}

async fn requested_at(client: &Client, ns: &str, name: &str) -> Option<String> {
    let repository = Api::<GitRepository>::namespaced(client.clone(), ns)
        .get(name)
        .await
        .unwrap();
    repository
        .metadata
        .annotations
        .and_then(|a| a.get(REQUESTED_AT).cloned())
}

fn github_signature(token: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(token.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn github_receiver_verifies_signatures_and_requests_a_reconcile() {
    let client = eddy_test_support::client().await.unwrap();
    eddy_test_support::install_crds(&client).await.unwrap();
    let namespace = eddy_test_support::TestNamespace::new(&client, "nc-github")
        .await
        .unwrap();
    let ns = namespace.name().to_owned();
    let controller = start_controller(&client, "5m").await;
    secret(&client, &ns, "webhook-token", &[("token", "gh-secret")]).await;
    git_repository(&client, &ns, "app", json!({})).await;
    create::<Receiver>(
        &client,
        &ns,
        receiver(
            "github",
            json!({
                "type": "github", "events": ["push"], "secretRef": {"name": "webhook-token"},
                "resources": [{"kind": "GitRepository", "name": "app"}]
            }),
        ),
    )
    .await;
    let ready = wait_ready(&client, &ns, "github", "True").await;
    let status = ready.status.unwrap();
    let path = status.webhook_path.clone().unwrap();
    assert_eq!(
        path,
        notification_controller::receivers::webhook_path("gh-secret", "github", &ns)
    );
    let message = status
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "Ready")
        .unwrap()
        .message;
    assert_eq!(message, format!("Receiver initialized for path: {path}"));

    let http = reqwest::Client::new();
    let url = format!("http://{}{path}", controller.receiver_addr);
    let body =
        json!({"ref": "refs/heads/main", "after": "0123456789abcdef0123456789abcdef01234567"})
            .to_string();
    let call = |event: &'static str, signature: Option<String>, body: String| {
        let mut request = http
            .post(&url)
            .header("X-GitHub-Event", event)
            .header("X-GitHub-Delivery", "d-1")
            .body(body);
        if let Some(signature) = signature {
            request = request.header("X-Hub-Signature-256", signature);
        }
        request.send()
    };

    // Refused calls change nothing.
    let wrong = call(
        "push",
        Some(github_signature("not-the-token", body.as_bytes())),
        body.clone(),
    )
    .await
    .unwrap();
    assert_eq!(wrong.status(), 400);
    let missing = call("push", None, body.clone()).await.unwrap();
    assert_eq!(missing.status(), 400);
    let tampered = call(
        "push",
        Some(github_signature("gh-secret", body.as_bytes())),
        body.replace("main", "evil"),
    )
    .await
    .unwrap();
    assert_eq!(tampered.status(), 400);
    let not_allowed = call(
        "issues",
        Some(github_signature("gh-secret", body.as_bytes())),
        body.clone(),
    )
    .await
    .unwrap();
    assert_eq!(not_allowed.status(), 400);
    let ping = call(
        "ping",
        Some(github_signature("gh-secret", body.as_bytes())),
        body.clone(),
    )
    .await
    .unwrap();
    assert_eq!(ping.status(), 200);
    assert_eq!(requested_at(&client, &ns, "app").await, None);
    let unknown = http
        .post(format!(
            "http://{}/hook/{}",
            controller.receiver_addr,
            "0".repeat(64)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
    let oversized = http
        .post(&url)
        .header("X-GitHub-Event", "push")
        .body(vec![b'x'; 4 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(oversized.status(), 413);

    // A genuine push.
    let ok = call(
        "push",
        Some(github_signature("gh-secret", body.as_bytes())),
        body.clone(),
    )
    .await
    .unwrap();
    assert_eq!(ok.status(), 200);
    let first = requested_at(&client, &ns, "app")
        .await
        .expect("annotation set");
    // A replay of the same signed body is a valid call again: a new request time.
    let replay = call(
        "push",
        Some(github_signature("gh-secret", body.as_bytes())),
        body.clone(),
    )
    .await
    .unwrap();
    assert_eq!(replay.status(), 200);
    let second = requested_at(&client, &ns, "app").await.unwrap();
    assert_ne!(first, second);
    namespace.cleanup().await.unwrap();
}

#[tokio::test]
async fn gitlab_receiver_annotates_labelled_repositories_only() {
    let client = eddy_test_support::client().await.unwrap();
    eddy_test_support::install_crds(&client).await.unwrap();
    let namespace = eddy_test_support::TestNamespace::new(&client, "nc-gitlab")
        .await
        .unwrap();
    let ns = namespace.name().to_owned();
    let controller = start_controller(&client, "5m").await;
    secret(&client, &ns, "token", &[("token", "gl-secret")]).await;
    git_repository(&client, &ns, "web", json!({"team": "web"})).await;
    git_repository(
        &client,
        &ns,
        "api",
        json!({"team": "web", "tier": "backend"}),
    )
    .await;
    git_repository(&client, &ns, "db", json!({"team": "data"})).await;
    create::<Receiver>(
        &client,
        &ns,
        receiver("gitlab", json!({
            "type": "gitlab", "secretRef": {"name": "token"},
            "resources": [{"kind": "GitRepository", "name": "*", "matchLabels": {"team": "web"}}],
            "resourceFilter": "!has(res.metadata.labels.tier) && req.object_kind == 'push'"
        })),
    )
    .await;
    let path = wait_ready(&client, &ns, "gitlab", "True")
        .await
        .status
        .unwrap()
        .webhook_path
        .unwrap();
    let http = reqwest::Client::new();
    let url = format!("http://{}{path}", controller.receiver_addr);
    let body = json!({"object_kind": "push", "ref": "refs/heads/main"}).to_string();

    let wrong = http
        .post(&url)
        .header("X-Gitlab-Token", "guess")
        .header("X-Gitlab-Event", "Push Hook")
        .body(body.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 400);
    let ok = http
        .post(&url)
        .header("X-Gitlab-Token", "gl-secret")
        .header("X-Gitlab-Event", "Push Hook")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert!(requested_at(&client, &ns, "web").await.is_some());
    assert_eq!(
        requested_at(&client, &ns, "api").await,
        None,
        "resourceFilter excludes it"
    );
    assert_eq!(
        requested_at(&client, &ns, "db").await,
        None,
        "labels exclude it"
    );
    namespace.cleanup().await.unwrap();
}

#[tokio::test]
async fn receivers_without_token_or_suspended_are_not_served() {
    let client = eddy_test_support::client().await.unwrap();
    eddy_test_support::install_crds(&client).await.unwrap();
    let namespace = eddy_test_support::TestNamespace::new(&client, "nc-recv-bad")
        .await
        .unwrap();
    let ns = namespace.name().to_owned();
    let controller = start_controller(&client, "5m").await;
    create::<Receiver>(
        &client,
        &ns,
        receiver("no-token", json!({"type": "generic", "secretRef": {"name": "absent"}, "resources": [{"kind": "GitRepository", "name": "app"}]})),
    )
    .await;
    let failed = wait_ready(&client, &ns, "no-token", "False").await;
    let ready = failed
        .status
        .unwrap()
        .conditions
        .unwrap()
        .into_iter()
        .find(|c| c.type_ == "Ready")
        .unwrap();
    assert_eq!(ready.reason, "TokenNotFound");
    assert!(ready.message.contains("absent"), "{}", ready.message);

    secret(&client, &ns, "tok", &[("token", "t0ken-value")]).await;
    git_repository(&client, &ns, "app", json!({})).await;
    create::<Receiver>(
        &client,
        &ns,
        receiver("paused", json!({"type": "generic", "suspend": true, "secretRef": {"name": "tok"}, "resources": [{"kind": "GitRepository", "name": "app"}]})),
    )
    .await;
    let path = wait_ready(&client, &ns, "paused", "True")
        .await
        .status
        .unwrap()
        .webhook_path
        .unwrap();
    let response = reqwest::Client::new()
        .post(format!("http://{}{path}", controller.receiver_addr))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(requested_at(&client, &ns, "app").await, None);

    // A missing target is a server-side error, reported as 500.
    create::<Receiver>(
        &client,
        &ns,
        receiver("dangling", json!({"type": "generic", "secretRef": {"name": "tok"}, "resources": [{"kind": "GitRepository", "name": "gone"}]})),
    )
    .await;
    let path = wait_ready(&client, &ns, "dangling", "True")
        .await
        .status
        .unwrap()
        .webhook_path
        .unwrap();
    let response = reqwest::Client::new()
        .post(format!("http://{}{path}", controller.receiver_addr))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 500);
    let text = response.text().await.unwrap();
    assert!(
        text.contains("gone") && !text.contains("t0ken-value"),
        "{text}"
    );
    namespace.cleanup().await.unwrap();
}
