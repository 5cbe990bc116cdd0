//! The helm-controller binary starts, connects to the API server, and serves its probes and
//! metrics on the addresses Flux's flags give (the reconciler itself is a later issue).

// Test code: a panic is how a failed expectation is reported.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{
    net::TcpListener,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn get(url: &str) -> Option<(u16, String)> {
    let response = reqwest::get(url).await.ok()?;
    let status = response.status().as_u16();
    Some((status, response.text().await.ok()?))
}

#[tokio::test]
async fn starts_connects_and_serves_probes_and_metrics() {
    eddy_runtime::tls::install_crypto_provider();
    let kubeconfig = tokio::task::spawn_blocking(eddy_testenv::up)
        .await
        .unwrap()
        .unwrap();
    let (health, metrics) = (free_port(), free_port());
    let _controller = Running(
        Command::new(env!("CARGO_BIN_EXE_helm-controller"))
            .args([
                format!("--health-addr=127.0.0.1:{health}"),
                format!("--metrics-addr=127.0.0.1:{metrics}"),
                "--log-encoding=json".to_owned(),
                "--events-addr=http://127.0.0.1:1/".to_owned(),
                "--watch-all-namespaces".to_owned(),
            ])
            .env("KUBECONFIG", &kubeconfig)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some((200, _)) = get(&format!("http://127.0.0.1:{health}/readyz")).await {
            break;
        }
        assert!(Instant::now() < deadline, "/readyz never became 200");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(
        get(&format!("http://127.0.0.1:{health}/healthz"))
            .await
            .unwrap()
            .0,
        200
    );
    let (status, body) = get(&format!("http://127.0.0.1:{metrics}/metrics"))
        .await
        .unwrap();
    assert_eq!(status, 200);
    assert!(body.ends_with("# EOF\n"), "{body}");
}

#[test]
fn flux_install_manifest_flags_are_accepted() {
    // Flux's install manifests pass these; an unknown flag would crash-loop the pod.
    let output = Command::new(env!("CARGO_BIN_EXE_helm-controller"))
        .args([
            "--watch-all-namespaces",
            "--log-level=info",
            "--log-encoding=json",
            "--enable-leader-election",
            "--events-addr=http://notification-controller.flux-system.svc.cluster.local./",
            "--concurrent=4",
            "--requeue-dependency=30s",
            "--graceful-shutdown-timeout=600s",
            "--feature-gates=OOMWatch=true",
            "--help",
        ])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let bad = Command::new(env!("CARGO_BIN_EXE_helm-controller"))
        .arg("--no-such-flag")
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--no-such-flag"));
}
