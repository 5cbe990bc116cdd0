//! `spec.timeout` bounds the whole fetch: a Git server that accepts the connection and never
//! answers is reported within a second of the timeout, with a message naming it. The
//! reconciler hands `spec.timeout` to `git::fetch_async`, which these tests call.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::{branch, fetch, request, secret};
use source_controller::git::{GitAuth, GitError, Transport};

/// A listener that accepts every connection and never sends a byte; the connections close when
/// the returned task is aborted.
async fn silent_server() -> (SocketAddr, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let holder = tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((stream, _)) = listener.accept().await {
            open.push(stream);
        }
    });
    (addr, holder)
}

async fn assert_times_out_on_time(url: String, auth: GitAuth, timeout: Duration) {
    let dest = tempfile::tempdir().unwrap();
    let mut req = request(&url, branch("main"), auth, dest.path());
    req.options.timeout = timeout;
    let started = Instant::now();
    let err = fetch(req).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(matches!(err, GitError::Timeout { .. }), "{err}");
    assert!(
        err.to_string()
            .contains(&format!("timed out after {}s", timeout.as_secs())),
        "{err}"
    );
    assert!(
        elapsed >= timeout - Duration::from_secs(1) && elapsed <= timeout + Duration::from_secs(1),
        "{url}: reported after {elapsed:?}, the timeout is {timeout:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn silent_http_server_is_reported_within_a_second_of_the_timeout() {
    let (addr, holder) = silent_server().await;
    for seconds in [2, 5] {
        assert_times_out_on_time(
            format!("http://{addr}/app.git"),
            GitAuth::None,
            Duration::from_secs(seconds),
        )
        .await;
    }
    holder.abort();
}

#[tokio::test(flavor = "multi_thread")]
async fn silent_ssh_server_is_reported_within_a_second_of_the_timeout() {
    let (addr, holder) = silent_server().await;
    // The handshake never starts, so neither key is ever used.
    let auth = GitAuth::from_secret_data(
        Transport::Ssh,
        Some(&secret(&[
            ("identity", "unused"),
            (
                "known_hosts",
                &format!(
                    "[{}]:{} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBL8c3JDbSb/nuTGjkfrXtVUJHdkLshsTfJsNZ9+Y4oE",
                    addr.ip(),
                    addr.port()
                ),
            ),
        ])),
    )
    .unwrap();
    assert_times_out_on_time(
        format!("ssh://git@{addr}/app.git"),
        auth,
        Duration::from_secs(3),
    )
    .await;
    holder.abort();
}
