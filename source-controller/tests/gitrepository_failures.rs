//! Bad input against real servers: every case ends as `Ready=False` with Flux's reason, a
//! message naming the cause, an event, retries, and (where there was one) the previous artifact
//! still served.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod gitrepository_support;

use std::time::Duration;

use eddy_api::source::GitRepository;
use eddy_test_support::git_server::{GitHttpServer, HttpServerOptions, RepoRoot, SshServer};
use eddy_test_support::{TestNamespace, install_crds, wait_for};
use gitrepository_support::*;
use kube::api::Api;

const USER: &str = "flux";
const PASSWORD: &str = "right-pass";
/// `--git-max-size` of the controller under test.
const SIZE_LIMIT: u64 = 100_000;

/// Bytes that do not compress, so the size limit is really exceeded on the wire.
fn incompressible(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect()
}

async fn assert_failure(
    client: &kube::Client,
    api: &Api<GitRepository>,
    ns: &str,
    name: &str,
    reason: &str,
    message_part: &str,
) -> GitRepository {
    let object = wait_not_ready(api, name, reason).await.unwrap();
    let (_, _, message) = condition(&object, "Ready").unwrap();
    assert!(
        message.contains(message_part),
        "{name}: '{message}' lacks '{message_part}'"
    );
    // kstatus: a negative-polarity condition is only ever present as True.
    for negative in [
        "FetchFailed",
        "StorageOperationFailed",
        "IncludeUnavailable",
        "Stalled",
    ] {
        if let Some((status, _, _)) = condition(&object, negative) {
            assert_eq!(status, "True", "{name}: {negative} present as {status}");
        }
    }
    wait_for(
        format!("a {reason} event for {name}"),
        Duration::from_secs(30),
        async || {
            let events = events_for(client, ns, name).await?;
            Ok(events
                .iter()
                .any(|e| e.0 == reason && e.1.contains(message_part))
                .then_some(()))
        },
    )
    .await
    .unwrap();
    object
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_input_is_reported_with_flux_reasons() {
    let client = eddy_test_support::client().await.unwrap();
    install_crds(&client).await.unwrap();
    let namespace = TestNamespace::new(&client, "gitrepo-bad").await.unwrap();
    let ns = namespace.name().to_owned();

    let root = RepoRoot::new().unwrap();
    let app = root.create("app").unwrap();
    app.write("app.yaml", "kind: ConfigMap\n").unwrap();
    app.commit_all("app").unwrap();
    app.tag("v1.0.0", false).unwrap();
    app.push("master").unwrap();
    let big = root.create("big").unwrap();
    big.write("blob.bin", incompressible(3 * SIZE_LIMIT as usize))
        .unwrap();
    big.commit_all("big").unwrap();
    big.push("master").unwrap();
    let server = GitHttpServer::start(
        root.path(),
        HttpServerOptions {
            basic_auth: Some((USER.into(), PASSWORD.into())),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let ssh = SshServer::start().unwrap();
    let stranger = SshServer::start().unwrap();

    create_secret(
        &client,
        &ns,
        "creds",
        &[("username", USER), ("password", PASSWORD)],
    )
    .await
    .unwrap();
    create_secret(
        &client,
        &ns,
        "auth-creds",
        &[("username", USER), ("password", PASSWORD)],
    )
    .await
    .unwrap();
    create_secret(&client, &ns, "half", &[("password", PASSWORD)])
        .await
        .unwrap();
    create_secret(
        &client,
        &ns,
        "wrong-host",
        &[
            ("identity", ssh.client_identity()),
            ("known_hosts", stranger.known_hosts()),
        ],
    )
    .await
    .unwrap();

    let storage = tempfile::tempdir().unwrap();
    let shard = shard("bad");
    let limit = SIZE_LIMIT.to_string();
    let controller =
        RunningController::start(&client, storage.path(), &shard, &["--git-max-size", &limit])
            .await
            .unwrap();
    let api: Api<GitRepository> = Api::namespaced(client.clone(), &ns);
    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let with_creds = |url: String, extra: serde_json::Value| {
        let mut spec =
            serde_json::json!({"url": url, "interval": "10m", "secretRef": {"name": "creds"}});
        for (key, value) in extra.as_object().unwrap() {
            spec[key] = value.clone();
        }
        spec
    };
    let cases = [
        (
            "auth",
            with_creds(
                server.url("app"),
                serde_json::json!({"secretRef": {"name": "auth-creds"}}),
            ),
        ),
        (
            "no-branch",
            with_creds(
                server.url("app"),
                serde_json::json!({"ref": {"branch": "nope"}}),
            ),
        ),
        (
            "no-tag",
            with_creds(
                server.url("app"),
                serde_json::json!({"ref": {"tag": "v9.9.9"}}),
            ),
        ),
        (
            "no-semver",
            with_creds(
                server.url("app"),
                serde_json::json!({"ref": {"semver": ">=5.0.0"}}),
            ),
        ),
        (
            "unreachable",
            with_creds(
                format!("http://127.0.0.1:{closed_port}/app"),
                serde_json::json!({"timeout": "10s"}),
            ),
        ),
        (
            "bad-url",
            with_creds("ssh:///app.git".into(), serde_json::json!({})),
        ),
        (
            "too-big",
            with_creds(server.url("big"), serde_json::json!({})),
        ),
        (
            "missing-keys",
            with_creds(
                server.url("app"),
                serde_json::json!({"secretRef": {"name": "half"}}),
            ),
        ),
        (
            "host-key",
            serde_json::json!({"url": ssh.url(&app.bare), "interval": "10m", "secretRef": {"name": "wrong-host"}}),
        ),
        (
            "provider",
            with_creds(server.url("app"), serde_json::json!({"provider": "github"})),
        ),
    ];
    for (name, spec) in cases {
        create_repository(&api, name, &shard, spec).await.unwrap();
    }

    // A scheme other than http, https and ssh never gets past the API server.
    let refused = create_repository(
        &api,
        "ftp",
        &shard,
        serde_json::json!({"url": "ftp://host/x", "interval": "1m"}),
    )
    .await;
    assert!(refused.is_err(), "the CRD accepted an ftp:// URL");

    // A working object whose credentials break later keeps serving its artifact.
    let good = wait_ready(&api, "auth").await.unwrap();
    create_secret(
        &client,
        &ns,
        "auth-creds",
        &[("username", USER), ("password", "wrong")],
    )
    .await
    .unwrap();
    request_reconcile(&api, "auth", "after-password-change")
        .await
        .unwrap();
    let failed = assert_failure(
        &client,
        &api,
        &ns,
        "auth",
        "AuthenticationFailed",
        "authentication failed",
    )
    .await;
    assert_eq!(
        condition(&failed, "FetchFailed").unwrap().1,
        "AuthenticationFailed"
    );
    assert_eq!(
        condition(&failed, "Reconciling").unwrap().1,
        "ProgressingWithRetry"
    );
    assert_eq!(
        failed
            .status
            .as_ref()
            .unwrap()
            .last_handled_reconcile_at
            .as_deref(),
        Some("after-password-change")
    );
    assert_eq!(revision(&failed), revision(&good));
    assert_eq!(condition(&failed, "ArtifactInStorage").unwrap().0, "True");
    download_artifact(&failed).await.unwrap();
    // Retried with backoff: the same failure event is counted again.
    wait_for(
        "the authentication failure to be retried",
        Duration::from_secs(30),
        async || {
            let events = events_for(&client, &ns, "auth").await?;
            Ok(events
                .iter()
                .any(|e| e.0 == "AuthenticationFailed" && e.2 >= 2)
                .then_some(()))
        },
    )
    .await
    .unwrap();

    assert_failure(
        &client,
        &api,
        &ns,
        "no-branch",
        "GitOperationFailed",
        "nope",
    )
    .await;
    assert_failure(&client, &api, &ns, "no-tag", "GitOperationFailed", "v9.9.9").await;
    assert_failure(
        &client,
        &api,
        &ns,
        "no-semver",
        "GitOperationFailed",
        ">=5.0.0",
    )
    .await;
    assert_failure(
        &client,
        &api,
        &ns,
        "unreachable",
        "GitOperationFailed",
        &format!("127.0.0.1:{closed_port}"),
    )
    .await;
    let stalled = assert_failure(&client, &api, &ns, "bad-url", "URLInvalid", "no host").await;
    assert_eq!(condition(&stalled, "Stalled").unwrap().1, "URLInvalid");
    assert!(condition(&stalled, "Reconciling").is_none());
    assert_failure(
        &client,
        &api,
        &ns,
        "too-big",
        "GitOperationFailed",
        "size limit",
    )
    .await;
    assert_failure(
        &client,
        &api,
        &ns,
        "missing-keys",
        "AuthenticationFailed",
        "username",
    )
    .await;
    assert_failure(
        &client,
        &api,
        &ns,
        "host-key",
        "GitOperationFailed",
        "host key",
    )
    .await;
    let provider = assert_failure(
        &client,
        &api,
        &ns,
        "provider",
        "InvalidProviderConfiguration",
        "github",
    )
    .await;
    assert_eq!(condition(&provider, "Stalled").unwrap().0, "True");

    controller.stop().await;
    namespace.cleanup().await.unwrap();
}
