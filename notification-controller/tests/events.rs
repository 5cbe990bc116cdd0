//! Events in, notifications out: real HTTP servers stand in for Slack, Teams, Discord, GitHub's
//! status API and a generic webhook; the controller runs in-process against the shared testenv.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

mod common;

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use common::*;
use eddy_api::notification::{Alert, Provider};
use eddy_runtime::events::{Event, EventRecorder};
use hmac::{Hmac, Mac};
use kube::ResourceExt;
use serde_json::json;

const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

fn provider(name: &str, spec: serde_json::Value) -> serde_json::Value {
    json!({"apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Provider", "metadata": {"name": name}, "spec": spec})
}

fn alert(name: &str, provider: &str, severity: &str) -> serde_json::Value {
    json!({
        "apiVersion": "notification.toolkit.fluxcd.io/v1beta3", "kind": "Alert",
        "metadata": {"name": name},
        "spec": {
            "providerRef": {"name": provider},
            "eventSeverity": severity,
            "eventSources": [{"kind": "GitRepository", "name": "*"}],
            "eventMetadata": {"cluster": "eu-1"}
        }
    })
}

/// A raw event as the runtime's recorder sends it, for tests that need exact control.
fn raw_event(namespace: &str, message: &str, severity: &str) -> serde_json::Value {
    json!({
        "involvedObject": {"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository", "name": "app", "namespace": namespace},
        "severity": severity,
        "timestamp": "2025-01-01T00:00:00Z",
        "message": message,
        "reason": "NewArtifact",
        "metadata": {"source.toolkit.fluxcd.io/revision": format!("main@sha1:{SHA}")},
        "reportingController": "source-controller",
        "reportingInstance": "test"
    })
}

#[tokio::test]
async fn events_reach_slack_hmac_webhook_teams_discord_and_github_status() {
    let client = eddy_test_support::client().await.unwrap();
    eddy_test_support::install_crds(&client).await.unwrap();
    let namespace = eddy_test_support::TestNamespace::new(&client, "nc-dispatch")
        .await
        .unwrap();
    let ns = namespace.name().to_owned();
    let controller = start_controller(&client, "5m").await;
    let service = FakeService::start().await;

    secret(
        &client,
        &ns,
        "slack-url",
        &[("address", &service.url("/services/T0/B0/secret"))],
    )
    .await;
    secret(
        &client,
        &ns,
        "hmac",
        &[("token", "hmac-key"), ("headers", "X-Team: web\n")],
    )
    .await;
    secret(&client, &ns, "github", &[("token", "ghp-token")]).await;
    create::<Provider>(
        &client,
        &ns,
        provider(
            "slack",
            json!({"type": "slack", "channel": "ops", "secretRef": {"name": "slack-url"}}),
        ),
    )
    .await;
    create::<Provider>(&client, &ns, provider("webhook", json!({"type": "generic-hmac", "address": service.url("/webhook"), "secretRef": {"name": "hmac"}}))).await;
    create::<Provider>(
        &client,
        &ns,
        provider(
            "teams",
            json!({"type": "msteams", "address": service.url("/teams")}),
        ),
    )
    .await;
    create::<Provider>(
        &client,
        &ns,
        provider(
            "discord",
            json!({"type": "discord", "address": service.url("/api/webhooks/1/abc")}),
        ),
    )
    .await;
    let github = create::<Provider>(
        &client,
        &ns,
        provider("github", json!({"type": "github", "address": service.url("/org/app"), "secretRef": {"name": "github"}})),
    )
    .await;
    for name in ["slack", "webhook", "teams", "discord", "github"] {
        create::<Alert>(&client, &ns, alert(name, name, "info")).await;
    }
    let repository = git_repository(&client, &ns, "app", json!({})).await;

    // The same recorder every controller uses sends the event.
    let recorder = EventRecorder::new(
        client.clone(),
        "source-controller",
        &format!("http://{}/", controller.events_addr),
    )
    .unwrap();
    recorder
        .publish(
            &repository,
            Event::error(
                "GitOperationFailed",
                "failed to checkout and determine revision",
            )
            .with("revision", format!("main@sha1:{SHA}")),
        )
        .await;

    let requests = service.wait_for_requests(5).await;
    let by_path = |prefix: &str| {
        requests
            .iter()
            .find(|r| r.path.starts_with(prefix))
            .unwrap_or_else(|| panic!("no request to {prefix}: {requests:?}"))
    };

    let slack = by_path("/services/T0/B0/secret");
    assert_eq!(slack.method, "POST");
    let body = slack.json();
    assert_eq!(body["channel"], "ops");
    let attachment = &body["attachments"][0];
    assert_eq!(attachment["color"], "danger");
    assert_eq!(attachment["author_name"], format!("GitRepository/app.{ns}"));
    assert_eq!(
        attachment["text"],
        "failed to checkout and determine revision"
    );
    let fields: Vec<(String, String)> = attachment["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["title"].as_str().unwrap().to_owned(),
                f["value"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert!(
        fields.contains(&("revision".into(), format!("main@sha1:{SHA}"))),
        "{fields:?}"
    );
    assert!(
        fields.contains(&("cluster".into(), "eu-1".into())),
        "alert eventMetadata is merged: {fields:?}"
    );

    let webhook = by_path("/webhook");
    assert_eq!(
        webhook.header("Gotk-Component").as_deref(),
        Some("source-controller")
    );
    assert_eq!(webhook.header("X-Team").as_deref(), Some("web"));
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(b"hmac-key").unwrap();
    mac.update(&webhook.body);
    let expected = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
    assert_eq!(webhook.header("X-Signature"), Some(expected));
    let event = webhook.json();
    assert_eq!(event["involvedObject"]["name"], "app");
    assert_eq!(event["reason"], "GitOperationFailed");
    assert_eq!(event["metadata"]["revision"], format!("main@sha1:{SHA}"));

    let teams = by_path("/teams").json();
    assert_eq!(
        teams["attachments"][0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(
        teams["attachments"][0]["content"]["body"][0]["text"],
        format!("GitRepository/app.{ns}")
    );

    let discord = by_path("/api/webhooks/1/abc");
    assert_eq!(discord.path, "/api/webhooks/1/abc/slack");
    assert_eq!(
        discord.json()["attachments"][0]["author_name"],
        format!("GitRepository/app.{ns}")
    );

    let status = by_path("/api/v3/repos/org/app/statuses/");
    assert_eq!(status.path, format!("/api/v3/repos/org/app/statuses/{SHA}"));
    assert_eq!(
        status.header("Authorization").as_deref(),
        Some("Bearer ghp-token")
    );
    let uid_head = github.uid().unwrap().split('-').next().unwrap().to_owned();
    let body = status.json();
    assert_eq!(body["state"], "failure");
    assert_eq!(body["context"], format!("gitrepository/app/{uid_head}"));
    namespace.cleanup().await.unwrap();
}

#[tokio::test]
async fn rate_limiting_keeps_a_flapping_source_from_flooding_slack() {
    let client = eddy_test_support::client().await.unwrap();
    eddy_test_support::install_crds(&client).await.unwrap();
    let namespace = eddy_test_support::TestNamespace::new(&client, "nc-ratelimit")
        .await
        .unwrap();
    let ns = namespace.name().to_owned();
    let controller = start_controller(&client, "1m").await;
    let service = FakeService::start().await;
    create::<Provider>(
        &client,
        &ns,
        provider(
            "slack",
            json!({"type": "slack", "address": service.url("/slack")}),
        ),
    )
    .await;
    create::<Alert>(&client, &ns, alert("slack", "slack", "info")).await;

    let http = reqwest::Client::new();
    let url = format!("http://{}/", controller.events_addr);
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let response = http
            .post(&url)
            .json(&raw_event(&ns, "flap", "error"))
            .send()
            .await
            .unwrap();
        statuses.push(response.status().as_u16());
    }
    assert_eq!(statuses, [202, 429, 429, 429, 429]);
    // A different message is a different event.
    let other = http
        .post(&url)
        .json(&raw_event(&ns, "recovered", "info"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::ACCEPTED);
    let requests = service.wait_for_requests(2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(service.requests().len(), 2, "{requests:?}");
    namespace.cleanup().await.unwrap();
}

#[tokio::test]
async fn bad_input_is_refused_or_reported_without_leaking_secrets() {
    capture_logs();
    let client = eddy_test_support::client().await.unwrap();
    eddy_test_support::install_crds(&client).await.unwrap();
    let namespace = eddy_test_support::TestNamespace::new(&client, "nc-bad")
        .await
        .unwrap();
    let ns = namespace.name().to_owned();
    let controller = start_controller(&client, "5m").await;
    let http = reqwest::Client::new();
    let url = format!("http://{}/", controller.events_addr);

    // Malformed and oversized bodies.
    let malformed = http
        .post(&url)
        .body("{\"involvedObject\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(malformed.status(), StatusCode::BAD_REQUEST);
    let huge = http
        .post(&url)
        .body(vec![b' '; 4 * 1024 * 1024])
        .send()
        .await
        .unwrap();
    assert_eq!(huge.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // The CRD refuses an unknown provider type.
    let api: kube::Api<kube::api::DynamicObject> = kube::Api::namespaced_with(
        client.clone(),
        &ns,
        &kube::api::ApiResource::from_gvk(&kube::api::GroupVersionKind::gvk(
            "notification.toolkit.fluxcd.io",
            "v1beta3",
            "Provider",
        )),
    );
    let pigeon: kube::api::DynamicObject =
        serde_json::from_value(provider("pigeon", json!({"type": "carrier-pigeon"}))).unwrap();
    let refused = api.create(&Default::default(), &pigeon).await.unwrap_err();
    assert!(refused.to_string().contains("carrier-pigeon"), "{refused}");

    // A Secret without the address: reported on the Alert.
    secret(&client, &ns, "empty", &[("username", "bot")]).await;
    create::<Provider>(
        &client,
        &ns,
        provider(
            "no-address",
            json!({"type": "slack", "secretRef": {"name": "empty"}, "channel": ""}),
        ),
    )
    .await;
    create::<Alert>(&client, &ns, alert("no-address", "no-address", "info")).await;

    // A failing endpoint whose URL and token are secrets.
    let failing = FakeService::start_with(Behaviour {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        delay: Duration::ZERO,
        body: "",
    })
    .await;
    secret(
        &client,
        &ns,
        "leaky",
        &[
            ("address", &failing.url("/hooks/very-secret-path")),
            ("token", "super-secret-token"),
        ],
    )
    .await;
    create::<Provider>(
        &client,
        &ns,
        provider(
            "failing",
            json!({"type": "generic-hmac", "secretRef": {"name": "leaky"}}),
        ),
    )
    .await;
    create::<Alert>(&client, &ns, alert("failing", "failing", "info")).await;

    // A slow endpoint with a short provider timeout.
    let slow = FakeService::start_with(Behaviour {
        status: StatusCode::OK,
        delay: Duration::from_secs(10),
        body: "",
    })
    .await;
    create::<Provider>(
        &client,
        &ns,
        provider(
            "slow",
            json!({"type": "generic", "address": slow.url("/slow"), "timeout": "1s"}),
        ),
    )
    .await;
    create::<Alert>(&client, &ns, alert("slow", "slow", "info")).await;

    let started = Instant::now();
    let response = http
        .post(&url)
        .json(&raw_event(&ns, "boom", "error"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "dispatch must not wait for slow providers: {:?}",
        started.elapsed()
    );

    let missing = wait_for_warning(&client, &ns, "no-address", "NotificationDispatchFailed").await;
    assert!(missing.contains("no address"), "{missing}");
    let failed = wait_for_warning(&client, &ns, "failing", "NotificationDispatchFailed").await;
    assert!(failed.contains("500"), "{failed}");
    assert!(
        !failed.contains("super-secret-token") && !failed.contains("very-secret-path"),
        "{failed}"
    );
    assert_eq!(failing.requests().len(), 3, "5xx answers are retried");
    let timed_out = wait_for_warning(&client, &ns, "slow", "NotificationDispatchFailed").await;
    assert!(timed_out.contains("timed out"), "{timed_out}");
    let logs = captured_logs();
    assert!(
        logs.contains("failed to send notification"),
        "logs are captured: {logs}"
    );
    for secret in ["super-secret-token", "very-secret-path"] {
        assert!(!logs.contains(secret), "{secret} leaked into the logs");
    }
    namespace.cleanup().await.unwrap();
}

#[tokio::test]
async fn slack_token_mode_sends_a_bearer_token_and_reports_api_errors() {
    let client = eddy_test_support::client().await.unwrap();
    eddy_test_support::install_crds(&client).await.unwrap();
    let namespace = eddy_test_support::TestNamespace::new(&client, "nc-slack-api")
        .await
        .unwrap();
    let ns = namespace.name().to_owned();
    let controller = start_controller(&client, "5m").await;
    // Slack's chat API answers 200 with `ok: false` on errors.
    let slack_api = FakeService::start_with(Behaviour {
        status: StatusCode::OK,
        delay: Duration::ZERO,
        body: r#"{"ok":false,"error":"channel_not_found"}"#,
    })
    .await;
    secret(&client, &ns, "bot", &[("token", "xoxb-secret-bot-token")]).await;
    create::<Provider>(
        &client,
        &ns,
        provider("slack", json!({"type": "slack", "channel": "C0FLUX", "address": slack_api.url("/api/chat.postMessage"), "secretRef": {"name": "bot"}})),
    )
    .await;
    create::<Alert>(&client, &ns, alert("slack", "slack", "info")).await;
    let response = reqwest::Client::new()
        .post(format!("http://{}/", controller.events_addr))
        .json(&raw_event(
            &ns,
            "stored artifact for commit 'Add app'",
            "info",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    let requests = slack_api.wait_for_requests(1).await;
    assert_eq!(requests[0].path, "/api/chat.postMessage");
    assert_eq!(
        requests[0].header("Authorization").as_deref(),
        Some("Bearer xoxb-secret-bot-token")
    );
    assert_eq!(requests[0].json()["channel"], "C0FLUX");
    let warning = wait_for_warning(&client, &ns, "slack", "NotificationDispatchFailed").await;
    assert!(warning.contains("channel_not_found"), "{warning}");
    assert!(!warning.contains("xoxb-secret-bot-token"), "{warning}");
    namespace.cleanup().await.unwrap();
}

#[tokio::test]
async fn providers_use_their_proxy_and_tls_secrets() {
    let client = eddy_test_support::client().await.unwrap();
    eddy_test_support::install_crds(&client).await.unwrap();
    let namespace = eddy_test_support::TestNamespace::new(&client, "nc-transport")
        .await
        .unwrap();
    let ns = namespace.name().to_owned();
    let controller = start_controller(&client, "5m").await;

    // proxySecretRef: the request goes to the proxy, with its credentials.
    let proxy = FakeService::start().await;
    secret(
        &client,
        &ns,
        "proxy",
        &[
            ("address", &proxy.url("")),
            ("username", "proxy-user"),
            ("password", "proxy-pass"),
        ],
    )
    .await;
    create::<Provider>(
        &client,
        &ns,
        provider("proxied", json!({"type": "generic", "address": "http://hooks.example.invalid/flux", "proxySecretRef": {"name": "proxy"}})),
    )
    .await;
    create::<Alert>(&client, &ns, alert("proxied", "proxied", "info")).await;

    // certSecretRef: an HTTPS endpoint with a private CA that requires a client certificate.
    let root = eddy_test_support::git_server::RepoRoot::new().unwrap();
    let tls_server = eddy_test_support::git_server::GitHttpServer::start(
        root.path(),
        eddy_test_support::git_server::HttpServerOptions {
            tls: true,
            client_auth: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let identity = tls_server.client_identity().unwrap().clone();
    secret(
        &client,
        &ns,
        "tls",
        &[
            ("ca.crt", tls_server.ca_pem().unwrap()),
            ("tls.crt", &identity.cert_pem),
            ("tls.key", &identity.key_pem),
        ],
    )
    .await;
    let https = format!(
        "https://127.0.0.1:{}/not-a-repo/hook",
        tls_server.addr().port()
    );
    create::<Provider>(
        &client,
        &ns,
        provider(
            "with-tls",
            json!({"type": "generic", "address": https, "certSecretRef": {"name": "tls"}}),
        ),
    )
    .await;
    create::<Provider>(
        &client,
        &ns,
        provider("without-tls", json!({"type": "generic", "address": https})),
    )
    .await;
    create::<Alert>(&client, &ns, alert("with-tls", "with-tls", "info")).await;
    create::<Alert>(&client, &ns, alert("without-tls", "without-tls", "info")).await;

    let response = reqwest::Client::new()
        .post(format!("http://{}/", controller.events_addr))
        .json(&raw_event(&ns, "stored artifact", "info"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);

    let through_proxy = proxy.wait_for_requests(1).await;
    assert_eq!(through_proxy[0].path, "/flux");
    assert_eq!(
        through_proxy[0].header("Proxy-Authorization").as_deref(),
        Some(format!("Basic {}", base64_of("proxy-user:proxy-pass")).as_str())
    );
    // With the CA and client certificate the TLS handshake succeeds and the server's HTTP answer
    // is what fails; without them the connection itself fails.
    let with_tls = wait_for_warning(&client, &ns, "with-tls", "NotificationDispatchFailed").await;
    assert!(with_tls.contains("answered"), "{with_tls}");
    let without_tls =
        wait_for_warning(&client, &ns, "without-tls", "NotificationDispatchFailed").await;
    assert!(!without_tls.contains("answered"), "{without_tls}");
    namespace.cleanup().await.unwrap();
}

fn base64_of(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(text)
}
