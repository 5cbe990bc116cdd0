//! Fetching over SSH from a real OpenSSH `sshd` with host key verification.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

mod common;

use common::*;
use eddy_test_support::git_server::{RepoRoot, SshServer};
use source_controller::git::{GitAuth, GitError, Transport};

fn ssh_auth(identity: &str, known_hosts: &str, password: Option<&str>) -> GitAuth {
    let mut pairs = vec![("identity", identity), ("known_hosts", known_hosts)];
    if let Some(password) = password {
        pairs.push(("password", password));
    }
    GitAuth::from_secret_data(Transport::Ssh, Some(&secret(&pairs))).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn ssh_with_identity_and_known_hosts() {
    let root = RepoRoot::new().unwrap();
    let app = app_repo(&root).unwrap();
    let server = SshServer::start().unwrap();
    let url = server.url(&app.repo.bare);
    let dest = tempfile::tempdir().unwrap();
    let auth = ssh_auth(server.client_identity(), server.known_hosts(), None);
    let commit = fetched(request(&url, branch("dev"), auth, dest.path())).await;
    assert_eq!(commit.revision, format!("dev@sha1:{}", app.dev_head));
    assert!(dest.path().join("dev.txt").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn ssh_key_with_passphrase() {
    let root = RepoRoot::new().unwrap();
    let app = app_repo(&root).unwrap();
    let server = SshServer::start().unwrap();
    let identity = server.generate_key("protected", "key-pass").unwrap();
    server.authorise_key("protected").unwrap();
    let dest = tempfile::tempdir().unwrap();
    let auth = ssh_auth(&identity, server.known_hosts(), Some("key-pass"));
    let commit = fetched(request(
        &server.url(&app.repo.bare),
        branch("master"),
        auth,
        dest.path(),
    ))
    .await;
    assert_eq!(commit.revision, format!("master@sha1:{}", app.master_head));
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_host_key_names_the_host() {
    let root = RepoRoot::new().unwrap();
    let app = app_repo(&root).unwrap();
    let server = SshServer::start().unwrap();
    let other = SshServer::start().unwrap();
    let url = server.url(&app.repo.bare);

    // known_hosts lists a different key for this host:port.
    let wrong_key = other.known_hosts().replace(
        &format!(":{}", other.port()),
        &format!(":{}", server.port()),
    );
    let dest = tempfile::tempdir().unwrap();
    let auth = ssh_auth(server.client_identity(), &wrong_key, None);
    let err = fetch(request(&url, branch("master"), auth, dest.path()))
        .await
        .unwrap_err();
    assert!(matches!(err, GitError::HostKeyVerification { .. }), "{err}");
    assert!(err.to_string().contains("127.0.0.1"), "{err}");
    assert!(err.to_string().contains("does not match"), "{err}");

    // known_hosts does not list this host:port at all.
    let dest = tempfile::tempdir().unwrap();
    let auth = ssh_auth(server.client_identity(), other.known_hosts(), None);
    let err = fetch(request(&url, branch("master"), auth, dest.path()))
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("[127.0.0.1]:{} is not listed", server.port())),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unauthorised_identity_is_an_authentication_failure() {
    let root = RepoRoot::new().unwrap();
    let app = app_repo(&root).unwrap();
    let server = SshServer::start().unwrap();
    let stranger = server.generate_key("stranger", "").unwrap();
    let dest = tempfile::tempdir().unwrap();
    let auth = ssh_auth(&stranger, server.known_hosts(), None);
    let err = fetch(request(
        &server.url(&app.repo.bare),
        branch("master"),
        auth,
        dest.path(),
    ))
    .await
    .unwrap_err();
    assert_eq!(err.reason(), "AuthenticationFailed", "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn ssh_without_secret_is_refused() {
    let err = GitAuth::from_secret_data(Transport::Ssh, None).unwrap_err();
    assert_eq!(err.reason(), "AuthenticationFailed");
    let dest = tempfile::tempdir().unwrap();
    let err = fetch(request(
        "ssh://git@127.0.0.1:1/repo.git",
        branch("master"),
        GitAuth::None,
        dest.path(),
    ))
    .await
    .unwrap_err();
    assert!(err.to_string().contains("known_hosts"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn hashed_known_hosts_from_ssh_keygen() {
    let root = RepoRoot::new().unwrap();
    let app = app_repo(&root).unwrap();
    let server = SshServer::start().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let file = scratch.path().join("known_hosts");
    std::fs::write(&file, server.known_hosts()).unwrap();
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-H", "-f"])
        .arg(&file)
        .status()
        .unwrap();
    assert!(status.success());
    let hashed = std::fs::read_to_string(&file).unwrap();
    assert!(hashed.starts_with("|1|"), "{hashed}");
    assert!(!hashed.contains("127.0.0.1"), "{hashed}");

    let dest = tempfile::tempdir().unwrap();
    let auth = ssh_auth(server.client_identity(), &hashed, None);
    let commit = fetched(request(
        &server.url(&app.repo.bare),
        branch("master"),
        auth,
        dest.path(),
    ))
    .await;
    assert_eq!(commit.revision, format!("master@sha1:{}", app.master_head));
}
