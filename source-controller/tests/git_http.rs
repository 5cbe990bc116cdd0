//! Fetching over smart HTTP(S) from a real `git http-backend`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

mod common;

use common::*;
use eddy_test_support::git_server::{GitHttpServer, HttpServerOptions, RepoRoot};
use source_controller::git::{FetchOutcome, GitAuth, GitError, GitReference, RefFields};

const USER: &str = "flux";
const PASSWORD: &str = "s3cr3t-pass";

async fn basic_server(root: &RepoRoot) -> GitHttpServer {
    GitHttpServer::start(
        root.path(),
        HttpServerOptions {
            basic_auth: Some((USER.into(), PASSWORD.into())),
            ..Default::default()
        },
    )
    .await
    .unwrap()
}

fn basic() -> GitAuth {
    http_auth(&[("username", USER), ("password", PASSWORD)])
}

#[tokio::test(flavor = "multi_thread")]
async fn branch_over_http_with_basic_auth() {
    let root = RepoRoot::new().unwrap();
    let app = app_repo(&root).unwrap();
    let server = basic_server(&root).await;
    let dest = tempfile::tempdir().unwrap();
    let commit = fetched(request(
        &server.url("app"),
        branch("master"),
        basic(),
        dest.path(),
    ))
    .await;
    assert_eq!(commit.revision, format!("master@sha1:{}", app.master_head));
    assert_eq!(commit.subject, "release 1.1");
    assert_eq!(
        std::fs::read_to_string(dest.path().join("deploy/app.yaml")).unwrap(),
        "kind: ConfigMap\nversion: 1.1\n"
    );
    assert!(!dest.path().join("dev.txt").exists());
    // Shallow: only the tip commit is present locally.
    let repo = git2::Repository::open(dest.path()).unwrap();
    assert!(repo.is_shallow());
    assert!(
        repo.find_commit(git2::Oid::from_str(&app.first_commit).unwrap())
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn tag_semver_name_and_commit_refs() {
    let root = RepoRoot::new().unwrap();
    let app = app_repo(&root).unwrap();
    let server = basic_server(&root).await;
    let url = server.url("app");
    let fields = |f: RefFields| GitReference::from_fields(&f);

    let dest = tempfile::tempdir().unwrap();
    let annotated = fields(RefFields {
        tag: Some("v1.0.0".into()),
        ..Default::default()
    });
    let commit = fetched(request(&url, annotated, basic(), dest.path())).await;
    assert_eq!(commit.revision, format!("v1.0.0@sha1:{}", app.v1_0_0));

    let dest = tempfile::tempdir().unwrap();
    let semver = fields(RefFields {
        semver: Some(">=1.0.0 <2.0.0".into()),
        tag: Some("v2.0.0".into()),
        ..Default::default()
    });
    let commit = fetched(request(&url, semver, basic(), dest.path())).await;
    assert_eq!(commit.revision, format!("v1.1.0@sha1:{}", app.v1_1_0));

    let dest = tempfile::tempdir().unwrap();
    let caret = fields(RefFields {
        semver: Some("^2".into()),
        ..Default::default()
    });
    let commit = fetched(request(&url, caret, basic(), dest.path())).await;
    assert_eq!(commit.revision, format!("v2.0.0@sha1:{}", app.v2_0_0));
    assert!(dest.path().join("v2.txt").exists());

    let dest = tempfile::tempdir().unwrap();
    let name = fields(RefFields {
        name: Some("refs/pull/1/head".into()),
        ..Default::default()
    });
    let commit = fetched(request(&url, name, basic(), dest.path())).await;
    assert_eq!(
        commit.revision,
        format!("refs/pull/1/head@sha1:{}", app.pull_head)
    );
    assert!(dest.path().join("pr.txt").exists());

    let dest = tempfile::tempdir().unwrap();
    let commit_only = fields(RefFields {
        commit: Some(app.dev_head.clone()),
        ..Default::default()
    });
    let commit = fetched(request(&url, commit_only, basic(), dest.path())).await;
    assert_eq!(commit.revision, format!("sha1:{}", app.dev_head));
    assert!(dest.path().join("dev.txt").exists());

    let dest = tempfile::tempdir().unwrap();
    let commit_on_branch = fields(RefFields {
        commit: Some(app.first_commit.clone()),
        branch: Some("master".into()),
        ..Default::default()
    });
    let commit = fetched(request(&url, commit_on_branch, basic(), dest.path())).await;
    assert_eq!(commit.revision, format!("master@sha1:{}", app.first_commit));
    assert_eq!(
        std::fs::read_to_string(dest.path().join("deploy/app.yaml")).unwrap(),
        "kind: ConfigMap\n"
    );

    // A commit that exists, but not on the given branch.
    let dest = tempfile::tempdir().unwrap();
    let wrong_branch = fields(RefFields {
        commit: Some(app.dev_head.clone()),
        branch: Some("master".into()),
        ..Default::default()
    });
    let err = fetch(request(&url, wrong_branch, basic(), dest.path()))
        .await
        .unwrap_err();
    assert!(matches!(err, GitError::CommitNotFound { .. }), "{err}");
    assert!(err.to_string().contains("on branch 'master'"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn unchanged_remote_is_not_cloned() {
    let root = RepoRoot::new().unwrap();
    let app = app_repo(&root).unwrap();
    let server = basic_server(&root).await;
    let url = server.url("app");
    let dest = tempfile::tempdir().unwrap();
    let mut req = request(&url, branch("master"), basic(), dest.path());
    req.last_revision = Some(format!("master@sha1:{}", app.master_head));
    let outcome = fetch(req.clone()).await.unwrap();
    assert_eq!(
        outcome,
        FetchOutcome::Unchanged {
            revision: format!("master@sha1:{}", app.master_head)
        }
    );
    // Nothing was checked out, nor even downloaded.
    assert!(!dest.path().join("README.md").exists());
    let packs = dest.path().join(".git/objects/pack");
    let downloaded = std::fs::read_dir(&packs).map_or(0, |entries| entries.count());
    assert_eq!(downloaded, 0, "ls-remote must not download objects");

    // A new commit upstream makes the same request fetch.
    app.repo.write("new.txt", "new").unwrap();
    let new_head = app.repo.commit_all("new upstream commit").unwrap();
    app.repo.push("master").unwrap();
    let dest = tempfile::tempdir().unwrap();
    req.destination = dest.path().to_path_buf();
    let commit = fetched(req).await;
    assert_eq!(commit.revision, format!("master@sha1:{new_head}"));
    assert_eq!(
        commit.new_artifact_message(),
        "stored artifact for commit 'new upstream commit'"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bearer_token() {
    let root = RepoRoot::new().unwrap();
    let app = app_repo(&root).unwrap();
    let server = GitHttpServer::start(
        root.path(),
        HttpServerOptions {
            bearer_token: Some("tok-123".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let dest = tempfile::tempdir().unwrap();
    let auth = http_auth(&[("bearerToken", "tok-123")]);
    let commit = fetched(request(
        &server.url("app"),
        branch("dev"),
        auth,
        dest.path(),
    ))
    .await;
    assert_eq!(commit.revision, format!("dev@sha1:{}", app.dev_head));

    let dest = tempfile::tempdir().unwrap();
    let wrong = http_auth(&[("bearerToken", "nope")]);
    let err = fetch(request(
        &server.url("app"),
        branch("dev"),
        wrong,
        dest.path(),
    ))
    .await
    .unwrap_err();
    assert_eq!(err.reason(), "AuthenticationFailed", "{err}");
    assert!(!err.to_string().contains("nope"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn https_with_custom_ca() {
    let root = RepoRoot::new().unwrap();
    let app = app_repo(&root).unwrap();
    let server = GitHttpServer::start(
        root.path(),
        HttpServerOptions {
            tls: true,
            basic_auth: Some((USER.into(), PASSWORD.into())),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let url = server.url("app");
    assert!(url.starts_with("https://"));
    let ca = server.ca_pem().unwrap().to_string();
    let dest = tempfile::tempdir().unwrap();
    let auth = http_auth(&[("username", USER), ("password", PASSWORD), ("ca.crt", &ca)]);
    let commit = fetched(request(&url, branch("master"), auth, dest.path())).await;
    assert_eq!(commit.revision, format!("master@sha1:{}", app.master_head));

    // Without the CA the server certificate is not trusted.
    let dest = tempfile::tempdir().unwrap();
    let err = fetch(request(&url, branch("master"), basic(), dest.path()))
        .await
        .unwrap_err();
    assert_eq!(err.reason(), "GitOperationFailed", "{err}");
    assert!(
        err.to_string().to_lowercase().contains("certificate"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wrong_password_is_an_authentication_failure() {
    let root = RepoRoot::new().unwrap();
    app_repo(&root).unwrap();
    let server = basic_server(&root).await;
    let dest = tempfile::tempdir().unwrap();
    let auth = http_auth(&[("username", USER), ("password", "wrong-password")]);
    let err = fetch(request(
        &server.url("app"),
        branch("master"),
        auth,
        dest.path(),
    ))
    .await
    .unwrap_err();
    assert_eq!(err.reason(), "AuthenticationFailed", "{err}");
    assert!(!err.to_string().contains("wrong-password"), "{err}");

    // No credentials at all against a protected server.
    let dest = tempfile::tempdir().unwrap();
    let err = fetch(request(
        &server.url("app"),
        branch("master"),
        GitAuth::None,
        dest.path(),
    ))
    .await
    .unwrap_err();
    assert_eq!(err.reason(), "AuthenticationFailed", "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_refs_are_named() {
    let root = RepoRoot::new().unwrap();
    app_repo(&root).unwrap();
    let server = basic_server(&root).await;
    let url = server.url("app");
    let cases = [
        (branch("no-such-branch"), "branch 'no-such-branch'"),
        (GitReference::Tag("v9.9.9".into()), "tag 'v9.9.9'"),
        (
            GitReference::Name("refs/pull/42/head".into()),
            "ref 'refs/pull/42/head'",
        ),
    ];
    for (reference, expected) in cases {
        let dest = tempfile::tempdir().unwrap();
        let err = fetch(request(&url, reference, basic(), dest.path()))
            .await
            .unwrap_err();
        assert!(matches!(err, GitError::RefNotFound { .. }), "{err}");
        assert!(err.to_string().contains(expected), "{err}");
        assert_eq!(err.reason(), "GitOperationFailed");
    }
    let dest = tempfile::tempdir().unwrap();
    let err = fetch(request(
        &url,
        GitReference::Commit {
            commit: "0123456789abcdef0123456789abcdef01234567".into(),
            branch: Some("no-such-branch".into()),
        },
        basic(),
        dest.path(),
    ))
    .await
    .unwrap_err();
    assert!(err.to_string().contains("branch 'no-such-branch'"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn semver_without_match_is_clear() {
    let root = RepoRoot::new().unwrap();
    app_repo(&root).unwrap();
    let server = basic_server(&root).await;
    let dest = tempfile::tempdir().unwrap();
    let err = fetch(request(
        &server.url("app"),
        GitReference::Semver(">=5.0.0".into()),
        basic(),
        dest.path(),
    ))
    .await
    .unwrap_err();
    assert!(matches!(err, GitError::NoMatchingTag { .. }), "{err}");
    assert!(err.to_string().contains(">=5.0.0"), "{err}");

    let err = fetch(request(
        &server.url("app"),
        GitReference::Semver("not a range".into()),
        basic(),
        dest.path(),
    ))
    .await
    .unwrap_err();
    assert!(matches!(err, GitError::InvalidSemver { .. }), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn closed_port_fails_fast_with_an_error() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let dest = tempfile::tempdir().unwrap();
    let mut req = request(
        &format!("http://127.0.0.1:{port}/app.git"),
        branch("master"),
        GitAuth::None,
        dest.path(),
    );
    req.options.timeout = std::time::Duration::from_secs(5);
    let started = std::time::Instant::now();
    let err = fetch(req).await.unwrap_err();
    assert!(started.elapsed() < std::time::Duration::from_secs(7));
    assert_eq!(err.reason(), "GitOperationFailed", "{err}");
    assert!(
        err.to_string().contains(&format!("127.0.0.1:{port}")),
        "{err}"
    );

    // Credentials embedded in the URL never reach the message.
    let dest = tempfile::tempdir().unwrap();
    let req = request(
        &format!("http://bob:url-secret@127.0.0.1:{port}/app.git"),
        branch("master"),
        GitAuth::None,
        dest.path(),
    );
    let err = fetch(req).await.unwrap_err();
    assert!(!err.to_string().contains("url-secret"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn silent_server_times_out() {
    // Accepts connections but never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let holder = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            open.push(stream);
        }
    });
    let dest = tempfile::tempdir().unwrap();
    let mut req = request(
        &format!("http://{addr}/app.git"),
        branch("master"),
        GitAuth::None,
        dest.path(),
    );
    req.options.timeout = std::time::Duration::from_secs(2);
    let started = std::time::Instant::now();
    let err = fetch(req).await.unwrap_err();
    assert!(matches!(err, GitError::Timeout { .. }), "{err}");
    assert!(err.to_string().contains("timed out after 2s"), "{err}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // Closing the connections lets the blocked libgit2 thread finish.
    holder.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn invalid_urls_are_rejected_before_any_io() {
    for url in [
        "git@github.com:org/repo.git",
        "file:///tmp/repo",
        "git://host/repo",
    ] {
        let dest = tempfile::tempdir().unwrap();
        let err = fetch(request(url, branch("master"), GitAuth::None, dest.path()))
            .await
            .unwrap_err();
        assert_eq!(err.reason(), "URLInvalid", "{url}: {err}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn size_limit_is_enforced() {
    let root = RepoRoot::new().unwrap();
    let repo = root.create("big").unwrap();
    // Incompressible content so the pack is as large as the files.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let noise: Vec<u8> = (0..200_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    repo.write("blob.bin", &noise).unwrap();
    repo.commit_all("big blob").unwrap();
    repo.push("master").unwrap();
    let server = basic_server(&root).await;
    let dest = tempfile::tempdir().unwrap();
    let mut req = request(&server.url("big"), branch("master"), basic(), dest.path());
    req.options.max_size_bytes = Some(50_000);
    let err = fetch(req.clone()).await.unwrap_err();
    assert!(matches!(err, GitError::SizeLimitExceeded { .. }), "{err}");
    assert!(err.to_string().contains("50000"), "{err}");

    let dest = tempfile::tempdir().unwrap();
    req.destination = dest.path().to_path_buf();
    req.options.max_size_bytes = Some(1_000_000);
    fetched(req).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn submodules_are_checked_out_when_asked() {
    let root = RepoRoot::new().unwrap();
    let server = basic_server(&root).await;
    let library = root.create("library").unwrap();
    library.write("lib.yaml", "library: true\n").unwrap();
    library.commit_all("library").unwrap();
    library.push("master").unwrap();
    let parent = root.create("parent").unwrap();
    parent.write("main.yaml", "main: true\n").unwrap();
    parent.commit_all("parent").unwrap();
    parent
        .add_submodule(&library, "vendor/library", "../library.git")
        .unwrap();
    parent.push("master").unwrap();

    let dest = tempfile::tempdir().unwrap();
    let mut req = request(
        &server.url("parent"),
        branch("master"),
        basic(),
        dest.path(),
    );
    fetched(req.clone()).await;
    assert!(!dest.path().join("vendor/library/lib.yaml").exists());

    let dest = tempfile::tempdir().unwrap();
    req.destination = dest.path().to_path_buf();
    req.options.recurse_submodules = true;
    fetched(req).await;
    assert_eq!(
        std::fs::read_to_string(dest.path().join("vendor/library/lib.yaml")).unwrap(),
        "library: true\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn sparse_checkout_keeps_only_the_listed_dirs() {
    let root = RepoRoot::new().unwrap();
    let repo = root.create("mono").unwrap();
    repo.write("apps/a.yaml", "a").unwrap();
    repo.write("apps/nested/b.yaml", "b").unwrap();
    repo.write("infra/c.yaml", "c").unwrap();
    repo.write("top.yaml", "top").unwrap();
    repo.commit_all("mono").unwrap();
    repo.push("master").unwrap();
    let server = basic_server(&root).await;

    let dest = tempfile::tempdir().unwrap();
    let mut req = request(&server.url("mono"), branch("master"), basic(), dest.path());
    req.options.sparse_checkout = vec!["./apps/".into()];
    fetched(req.clone()).await;
    assert!(dest.path().join("apps/a.yaml").exists());
    assert!(dest.path().join("apps/nested/b.yaml").exists());
    assert!(!dest.path().join("infra").exists());
    assert!(!dest.path().join("top.yaml").exists());

    let dest = tempfile::tempdir().unwrap();
    req.destination = dest.path().to_path_buf();
    req.options.sparse_checkout = vec!["missing".into()];
    let err = fetch(req).await.unwrap_err();
    assert!(
        matches!(err, GitError::InvalidSparseCheckout { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("missing"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn pinned_commit_already_stored_needs_no_remote() {
    // The remote is unreachable: only the fast path can succeed.
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let hash = "363a6a8fe6a7f13e05d34c163b0ef02a777da20a";
    let dest = tempfile::tempdir().unwrap();
    let mut req = request(
        &format!("http://127.0.0.1:{port}/app.git"),
        GitReference::Commit {
            commit: "363a6a8fe6".into(),
            branch: Some("main".into()),
        },
        GitAuth::None,
        dest.path(),
    );
    req.last_revision = Some(format!("main@sha1:{hash}"));
    let outcome = fetch(req.clone()).await.unwrap();
    assert_eq!(
        outcome,
        FetchOutcome::Unchanged {
            revision: format!("main@sha1:{hash}")
        }
    );
    // A different stored commit means a real fetch, which fails against the closed port.
    req.last_revision = Some("main@sha1:0000000000000000000000000000000000000000".into());
    assert!(fetch(req).await.is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn https_with_client_certificate() {
    let root = RepoRoot::new().unwrap();
    let app = app_repo(&root).unwrap();
    let server = GitHttpServer::start(
        root.path(),
        HttpServerOptions {
            tls: true,
            client_auth: true,
            basic_auth: Some((USER.into(), PASSWORD.into())),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let url = server.url("app");
    let ca = server.ca_pem().unwrap().to_string();
    let identity = server.client_identity().unwrap().clone();
    let auth = http_auth(&[
        ("username", USER),
        ("password", PASSWORD),
        ("ca.crt", &ca),
        ("tls.crt", &identity.cert_pem),
        ("tls.key", &identity.key_pem),
    ]);

    let dest = tempfile::tempdir().unwrap();
    let commit = fetched(request(&url, branch("dev"), auth.clone(), dest.path())).await;
    assert_eq!(commit.revision, format!("dev@sha1:{}", app.dev_head));
    assert!(dest.path().join("dev.txt").exists());

    // The no-op check goes through the bridge as well.
    let dest = tempfile::tempdir().unwrap();
    let mut req = request(&url, branch("dev"), auth.clone(), dest.path());
    req.last_revision = Some(commit.revision.clone());
    assert!(matches!(
        fetch(req).await.unwrap(),
        FetchOutcome::Unchanged { .. }
    ));

    // The synchronous API cannot run the bridge and says so.
    let dest = tempfile::tempdir().unwrap();
    let err = source_controller::git::fetch(&request(&url, branch("dev"), auth, dest.path()))
        .unwrap_err();
    assert!(err.to_string().contains("fetch_async"), "{err}");

    // Without a client certificate the server refuses the connection.
    let dest = tempfile::tempdir().unwrap();
    let no_cert = http_auth(&[("username", USER), ("password", PASSWORD), ("ca.crt", &ca)]);
    let err = fetch(request(&url, branch("dev"), no_cert, dest.path()))
        .await
        .unwrap_err();
    assert_eq!(err.reason(), "GitOperationFailed", "{err}");

    // A wrong password still surfaces as an authentication failure through the bridge.
    let identity = server.client_identity().unwrap().clone();
    let wrong = http_auth(&[
        ("username", USER),
        ("password", "wrong"),
        ("ca.crt", &ca),
        ("tls.crt", &identity.cert_pem),
        ("tls.key", &identity.key_pem),
    ]);
    let dest = tempfile::tempdir().unwrap();
    let err = fetch(request(&url, branch("dev"), wrong, dest.path()))
        .await
        .unwrap_err();
    assert_eq!(err.reason(), "AuthenticationFailed", "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn mtls_with_untrusted_server_certificate_names_the_cause() {
    let root = RepoRoot::new().unwrap();
    app_repo(&root).unwrap();
    let server = GitHttpServer::start(
        root.path(),
        HttpServerOptions {
            tls: true,
            client_auth: true,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let identity = server.client_identity().unwrap().clone();
    // No ca.crt: the test CA is not among the system roots.
    let auth = http_auth(&[
        ("tls.crt", &identity.cert_pem),
        ("tls.key", &identity.key_pem),
    ]);
    let dest = tempfile::tempdir().unwrap();
    let err = fetch(request(
        &server.url("app"),
        branch("master"),
        auth,
        dest.path(),
    ))
    .await
    .unwrap_err();
    assert_eq!(err.reason(), "GitOperationFailed", "{err}");
    let message = err.to_string();
    assert!(message.contains(&server.url("app")), "{message}");
    assert!(message.to_lowercase().contains("certificate"), "{message}");
}
