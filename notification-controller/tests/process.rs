//! The whole controller through its binary entry point (`run_with_client`): probes come up, the
//! event server answers, and the Receiver reconciler runs.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests may panic

mod common;

use std::time::Duration;

use clap::Parser;
use common::*;
use eddy_api::notification::Receiver;
use kube::Api;
use serde_json::json;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn run_with_client_serves_probes_events_and_reconciles_receivers() {
    let client = eddy_test_support::client().await.unwrap();
    eddy_test_support::install_crds(&client).await.unwrap();
    let namespace = eddy_test_support::TestNamespace::new(&client, "nc-process")
        .await
        .unwrap();
    let ns = namespace.name().to_owned();
    let (events, receiver, health, metrics) = (free_port(), free_port(), free_port(), free_port());
    let args = notification_controller::Args::try_parse_from([
        "notification-controller".to_owned(),
        format!("--events-addr=127.0.0.1:{events}"),
        format!("--receiverAddr=127.0.0.1:{receiver}"),
        format!("--health-addr=127.0.0.1:{health}"),
        format!("--metrics-addr=127.0.0.1:{metrics}"),
    ])
    .unwrap();
    let controller = tokio::spawn(notification_controller::run_with_client(
        args,
        Some(client.clone()),
    ));
    let http = reqwest::Client::new();
    eddy_test_support::wait_for("readyz", Duration::from_secs(30), async || {
        let response = http
            .get(format!("http://127.0.0.1:{health}/readyz"))
            .send()
            .await;
        Ok(response.ok().filter(|r| r.status() == 200).map(|_| ()))
    })
    .await
    .unwrap();
    let refused = http
        .post(format!("http://127.0.0.1:{events}/"))
        .body("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 400);

    secret(&client, &ns, "token", &[("token", "t")]).await;
    create::<Receiver>(
        &client,
        &ns,
        json!({"apiVersion": "notification.toolkit.fluxcd.io/v1", "kind": "Receiver", "metadata": {"name": "r"},
               "spec": {"type": "generic", "secretRef": {"name": "token"}, "resources": [{"kind": "GitRepository", "name": "app"}]}}),
    )
    .await;
    let receivers: Api<Receiver> = Api::namespaced(client.clone(), &ns);
    let path =
        eddy_test_support::wait_for("the webhook path", Duration::from_secs(60), async || {
            Ok(receivers
                .get("r")
                .await?
                .status
                .and_then(|s| s.webhook_path))
        })
        .await
        .unwrap();
    // The target does not exist: the call is genuine, the annotation fails.
    let call = http
        .post(format!("http://127.0.0.1:{receiver}{path}"))
        .send()
        .await
        .unwrap();
    assert_eq!(call.status(), 500);
    controller.abort();
    namespace.cleanup().await.unwrap();
}
