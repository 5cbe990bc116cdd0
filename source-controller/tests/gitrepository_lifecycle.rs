//! The GitRepository reconciler end to end: a real API server, a real Git server, the
//! controller running in-process.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod gitrepository_support;

use std::time::Duration;

use eddy_api::source::GitRepository;
use eddy_test_support::git_server::{GitHttpServer, HttpServerOptions, RepoRoot};
use eddy_test_support::{TestNamespace, install_crds, wait_for};
use gitrepository_support::*;
use kube::api::{Api, Patch, PatchParams};

const USER: &str = "flux";
const PASSWORD: &str = "lifecycle-pass";

#[tokio::test(flavor = "multi_thread")]
async fn fetch_update_request_suspend_restart_and_delete() {
    let client = eddy_test_support::client().await.unwrap();
    install_crds(&client).await.unwrap();
    let namespace = TestNamespace::new(&client, "gitrepo-life").await.unwrap();
    let ns = namespace.name().to_owned();

    let root = RepoRoot::new().unwrap();
    let repo = root.create("app").unwrap();
    repo.write("deploy/app.yaml", "kind: ConfigMap\n").unwrap();
    repo.write("docs/guide.md", "ignored by .sourceignore\n")
        .unwrap();
    repo.write(".sourceignore", "docs/\n").unwrap();
    repo.write("logo.png", "default exclusion\n").unwrap();
    let first = repo.commit_all("first commit").unwrap();
    repo.push("master").unwrap();
    let server = GitHttpServer::start(
        root.path(),
        HttpServerOptions {
            basic_auth: Some((USER.into(), PASSWORD.into())),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    create_secret(
        &client,
        &ns,
        "creds",
        &[("username", USER), ("password", PASSWORD)],
    )
    .await
    .unwrap();

    let storage = tempfile::tempdir().unwrap();
    let shard = shard("life");
    let controller = RunningController::start(&client, storage.path(), &shard, &[])
        .await
        .unwrap();
    let api: Api<GitRepository> = Api::namespaced(client.clone(), &ns);
    create_repository(
        &api,
        "app",
        &shard,
        serde_json::json!({
            "url": server.url("app"), "interval": "10m",
            "ref": {"branch": "master"}, "secretRef": {"name": "creds"},
        }),
    )
    .await
    .unwrap();

    // First artifact: revision, layout, digest, contents, ignore rules, finalizer, event.
    let ready = wait_ready(&api, "app").await.unwrap();
    assert_eq!(revision(&ready), format!("master@sha1:{first}"));
    let artifact = ready.status.as_ref().unwrap().artifact.clone().unwrap();
    assert_eq!(
        artifact.path,
        format!("gitrepository/{ns}/app/{first}.tar.gz")
    );
    assert!(storage.path().join(&artifact.path).is_file());
    let files = download_artifact(&ready).await.unwrap();
    assert_eq!(
        files.get("deploy/app.yaml").map(String::as_str),
        Some("kind: ConfigMap\n")
    );
    assert!(!files.contains_key("docs/guide.md"), "{files:?}");
    assert!(!files.contains_key("logo.png"), "{files:?}");
    assert!(
        ready
            .metadata
            .finalizers
            .as_ref()
            .unwrap()
            .contains(&"finalizers.fluxcd.io".to_owned())
    );
    let (_, reason, message) = condition(&ready, "ArtifactInStorage").unwrap();
    assert_eq!(reason, "Succeeded");
    assert!(message.contains(&first), "{message}");
    assert!(condition(&ready, "Reconciling").is_none());
    let status = ready.status.as_ref().unwrap();
    assert_eq!(status.observed_recurse_submodules, Some(false));
    let events = wait_for("a NewArtifact event", Duration::from_secs(20), async || {
        let events = events_for(&client, &ns, "app").await?;
        Ok(events
            .iter()
            .any(|e| e.0 == "NewArtifact")
            .then_some(events))
    })
    .await
    .unwrap();
    assert!(
        events
            .iter()
            .any(|e| e.1 == "stored artifact for commit 'first commit'"),
        "{events:?}"
    );

    // A new commit plus a reconcile request: new revision, request echoed.
    repo.write("deploy/app.yaml", "kind: ConfigMap\nversion: 2\n")
        .unwrap();
    let second = repo.commit_all("second commit").unwrap();
    repo.push("master").unwrap();
    request_reconcile(&api, "app", "first-request")
        .await
        .unwrap();
    let updated = wait_for("the new revision", Duration::from_secs(60), async || {
        let object = api.get("app").await?;
        Ok((revision(&object) == format!("master@sha1:{second}")).then_some(object))
    })
    .await
    .unwrap();
    assert_eq!(
        updated
            .status
            .as_ref()
            .unwrap()
            .last_handled_reconcile_at
            .as_deref(),
        Some("first-request")
    );
    let files = download_artifact(&updated).await.unwrap();
    assert!(files["deploy/app.yaml"].contains("version: 2"));

    // No new commit: the request is handled, the artifact stays (no-op path).
    request_reconcile(&api, "app", "noop-request")
        .await
        .unwrap();
    let same = wait_for(
        "the no-op request to be handled",
        Duration::from_secs(60),
        async || {
            let object = api.get("app").await?;
            let handled = object
                .status
                .as_ref()
                .and_then(|s| s.last_handled_reconcile_at.clone());
            Ok((handled.as_deref() == Some("noop-request")).then_some(object))
        },
    )
    .await
    .unwrap();
    assert_eq!(
        same.status
            .as_ref()
            .unwrap()
            .artifact
            .as_ref()
            .unwrap()
            .digest,
        updated
            .status
            .as_ref()
            .unwrap()
            .artifact
            .as_ref()
            .unwrap()
            .digest
    );

    // Suspended: requests are ignored and nothing is fetched.
    api.patch(
        "app",
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"spec": {"suspend": true}})),
    )
    .await
    .unwrap();
    repo.write("deploy/app.yaml", "kind: ConfigMap\nversion: 3\n")
        .unwrap();
    let third = repo.commit_all("third commit").unwrap();
    repo.push("master").unwrap();
    request_reconcile(&api, "app", "while-suspended")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(4)).await;
    let suspended = api.get("app").await.unwrap();
    assert_eq!(revision(&suspended), format!("master@sha1:{second}"));
    assert_ne!(
        suspended
            .status
            .as_ref()
            .unwrap()
            .last_handled_reconcile_at
            .as_deref(),
        Some("while-suspended")
    );
    api.patch(
        "app",
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({"spec": {"suspend": false}})),
    )
    .await
    .unwrap();
    wait_for("the resumed fetch", Duration::from_secs(60), async || {
        let object = api.get("app").await?;
        Ok((revision(&object) == format!("master@sha1:{third}")).then_some(()))
    })
    .await
    .unwrap();

    // Restart with empty storage: the artifact is fetched again.
    controller.stop().await;
    std::fs::remove_dir_all(storage.path().join("gitrepository")).unwrap();
    let controller = RunningController::start(&client, storage.path(), &shard, &[])
        .await
        .unwrap();
    request_reconcile(&api, "app", "after-restart")
        .await
        .unwrap();
    let refetched = wait_for(
        "the re-fetched artifact",
        Duration::from_secs(60),
        async || {
            let object = api.get("app").await?;
            let path = object
                .status
                .as_ref()
                .and_then(|s| s.artifact.as_ref())
                .map(|a| a.path.clone());
            Ok(path
                .filter(|path| storage.path().join(path).is_file())
                .map(|_| object))
        },
    )
    .await
    .unwrap();
    assert_eq!(revision(&refetched), format!("master@sha1:{third}"));
    download_artifact(&refetched).await.unwrap();

    // Deletion removes the artifacts and the finalizer.
    delete(&api, "app").await.unwrap();
    wait_for(
        "the object to be gone",
        Duration::from_secs(60),
        async || Ok(api.get_opt("app").await?.is_none().then_some(())),
    )
    .await
    .unwrap();
    assert!(
        !storage
            .path()
            .join(format!("gitrepository/{ns}/app"))
            .exists()
    );

    controller.stop().await;
    namespace.cleanup().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn tags_semver_include_and_an_older_api_version() {
    let client = eddy_test_support::client().await.unwrap();
    install_crds(&client).await.unwrap();
    let namespace = TestNamespace::new(&client, "gitrepo-refs").await.unwrap();
    let ns = namespace.name().to_owned();

    let root = RepoRoot::new().unwrap();
    let repo = root.create("app").unwrap();
    repo.write("app.yaml", "v: 1.0.0\n").unwrap();
    let v1 = repo.commit_all("one").unwrap();
    repo.tag("v1.0.0", true).unwrap();
    repo.write("app.yaml", "v: 1.2.0\n").unwrap();
    let v12 = repo.commit_all("one two").unwrap();
    repo.tag("v1.2.0", false).unwrap();
    repo.tag("stable", false).unwrap();
    repo.write("app.yaml", "v: 2.0.0\n").unwrap();
    repo.commit_all("two").unwrap();
    repo.tag("v2.0.0", false).unwrap();
    repo.push("master").unwrap();
    let lib = root.create("lib").unwrap();
    lib.write("base/lib.yaml", "lib: true\n").unwrap();
    lib.commit_all("lib").unwrap();
    lib.push("master").unwrap();
    let server = GitHttpServer::start(root.path(), HttpServerOptions::default())
        .await
        .unwrap();

    let storage = tempfile::tempdir().unwrap();
    let shard = shard("refs");
    let controller = RunningController::start(&client, storage.path(), &shard, &[])
        .await
        .unwrap();
    let api: Api<GitRepository> = Api::namespaced(client.clone(), &ns);
    let url = server.url("app");
    create_repository(
        &api,
        "semver",
        &shard,
        serde_json::json!({
            "url": url, "interval": "10m", "ref": {"semver": ">=1.0.0 <2.0.0", "tag": "v2.0.0"},
        }),
    )
    .await
    .unwrap();
    create_repository(
        &api,
        "annotated",
        &shard,
        serde_json::json!({
            "url": url, "interval": "10m", "ref": {"tag": "v1.0.0"},
        }),
    )
    .await
    .unwrap();
    create_repository(
        &api,
        "pinned",
        &shard,
        serde_json::json!({
            "url": url, "interval": "10m", "ref": {"commit": v1},
        }),
    )
    .await
    .unwrap();
    create_repository(&api, "with-lib", &shard, serde_json::json!({
        "url": url, "interval": "10m", "ref": {"tag": "stable"},
        "include": [{"repository": {"name": "lib"}, "fromPath": "base", "toPath": "vendor/lib"}],
    }))
    .await
    .unwrap();

    assert_eq!(
        revision(&wait_ready(&api, "semver").await.unwrap()),
        format!("v1.2.0@sha1:{v12}")
    );
    assert_eq!(
        revision(&wait_ready(&api, "annotated").await.unwrap()),
        format!("v1.0.0@sha1:{v1}")
    );
    assert_eq!(
        revision(&wait_ready(&api, "pinned").await.unwrap()),
        format!("sha1:{v1}")
    );

    // The include waits for its dependency.
    let waiting = wait_not_ready(&api, "with-lib", "NotFound").await.unwrap();
    assert_eq!(condition(&waiting, "IncludeUnavailable").unwrap().0, "True");

    // v1beta2, as older manifests write it (the seed's shape), served through the v1 reconciler.
    let dynamic: Api<kube::api::DynamicObject> = Api::namespaced_with(
        client.clone(),
        &ns,
        &kube::api::ApiResource::from_gvk(&kube::api::GroupVersionKind::gvk(
            "source.toolkit.fluxcd.io",
            "v1beta2",
            "GitRepository",
        )),
    );
    let old: kube::api::DynamicObject = serde_json::from_value(serde_json::json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1beta2",
        "kind": "GitRepository",
        "metadata": {"name": "lib", "labels": {SHARD_LABEL: shard}},
        "spec": {"interval": "1m", "url": server.url("lib"), "ref": {"branch": "master"}},
    }))
    .unwrap();
    dynamic.create(&Default::default(), &old).await.unwrap();
    let lib_ready = wait_ready(&api, "lib").await.unwrap();
    assert!(revision(&lib_ready).starts_with("master@sha1:"));

    let included = wait_ready(&api, "with-lib").await.unwrap();
    let files = download_artifact(&included).await.unwrap();
    assert_eq!(
        files.get("vendor/lib/lib.yaml").map(String::as_str),
        Some("lib: true\n")
    );
    assert_eq!(
        files.get("app.yaml").map(String::as_str),
        Some("v: 1.2.0\n")
    );
    let status = included.status.as_ref().unwrap();
    assert_eq!(
        status.included_artifacts.as_ref().unwrap()[0].revision,
        revision(&lib_ready)
    );
    assert_eq!(status.observed_include.as_ref().unwrap().len(), 1);

    // A new commit in the included repository rebuilds the includer without a request to it.
    lib.write("base/lib.yaml", "lib: 2\n").unwrap();
    let lib_second = lib.commit_all("lib two").unwrap();
    lib.push("master").unwrap();
    request_reconcile(&api, "lib", "lib-moved").await.unwrap();
    let rebuilt = wait_for(
        "the includer to pick up the new lib",
        Duration::from_secs(60),
        async || {
            let object = api.get("with-lib").await?;
            let included = object
                .status
                .as_ref()
                .and_then(|s| s.included_artifacts.as_ref())
                .and_then(|list| list.first())
                .map(|a| a.revision.clone());
            Ok((included == Some(format!("master@sha1:{lib_second}"))).then_some(object))
        },
    )
    .await
    .unwrap();
    let files = download_artifact(&rebuilt).await.unwrap();
    assert_eq!(
        files.get("vendor/lib/lib.yaml").map(String::as_str),
        Some("lib: 2\n")
    );

    controller.stop().await;
    namespace.cleanup().await.unwrap();
}
