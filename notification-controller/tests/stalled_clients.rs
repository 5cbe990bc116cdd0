//! Issue #12: the event and receiver servers disconnect clients that send half a request or
//! trickle a body, and stay available to good clients. Needs no API server: the servers answer
//! (or time out) before any request would reach it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::{
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};

use clap::Parser;
use eddy_runtime::{admin::Readiness, metrics::Metrics, process::ControllerProcess};
use notification_controller::Args;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};
use tokio_util::sync::CancellationToken;

const BOUND: Duration = Duration::from_secs(10);

async fn start() -> notification_controller::Running {
    eddy_runtime::tls::install_crypto_provider();
    let args = Args::try_parse_from([
        "notification-controller",
        "--events-addr=127.0.0.1:0",
        "--receiverAddr=127.0.0.1:0",
        "--http-read-header-timeout=500ms",
        "--http-read-body-timeout=700ms",
        "--http-max-connections=4",
    ])
    .unwrap();
    // Nothing listens there: the Receiver reconciler just keeps retrying in the background.
    let config = kube::Config::new("http://127.0.0.1:9".parse().unwrap());
    let process = Arc::new(ControllerProcess {
        name: notification_controller::NAME,
        client: kube::Client::try_from(config).unwrap(),
        metrics: Metrics::new(),
        readiness: Readiness::default(),
    });
    notification_controller::start(process, args, CancellationToken::new())
        .await
        .unwrap()
}

/// Sends `request`, then reads until the server closes; returns the answer and when it closed.
async fn send_and_wait(addr: SocketAddr, request: &[u8]) -> (String, Duration) {
    let started = Instant::now();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut received = Vec::new();
    tokio::time::timeout(BOUND, stream.read_to_end(&mut received))
        .await
        .expect("the server held a stalled connection")
        .ok();
    (
        String::from_utf8_lossy(&received).into_owned(),
        started.elapsed(),
    )
}

#[tokio::test]
async fn half_a_header_and_a_trickled_body_are_cut_off_on_both_servers() {
    let running = start().await;
    for addr in [running.events_addr, running.receiver_addr] {
        // More stalled clients than the connection limit, all at once.
        let stalled: Vec<_> = (0..10)
            .map(|_| tokio::spawn(send_and_wait(addr, b"POST /hook/abc HTTP/1.1\r\nHost: t")))
            .collect();
        let mut latest = Duration::ZERO;
        for client in stalled {
            let (received, closed_after) = client.await.unwrap();
            assert!(received.is_empty(), "{addr}: {received}");
            latest = latest.max(closed_after);
        }
        // Four at a time, 500 ms each.
        assert!(latest < Duration::from_secs(5), "{addr}: {latest:?}");

        let started = Instant::now();
        let mut stream = TcpStream::connect(addr).await.unwrap();
        stream
            .write_all(b"POST /hook/abc HTTP/1.1\r\nHost: t\r\nContent-Length: 500\r\n\r\n{")
            .await
            .unwrap();
        let (mut reader, mut writer) = stream.into_split();
        let trickle = tokio::spawn(async move {
            while writer.write_all(b" ").await.is_ok() {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        });
        let mut received = Vec::new();
        tokio::time::timeout(BOUND, reader.read_to_end(&mut received))
            .await
            .expect("a trickled body held the connection")
            .ok();
        trickle.abort();
        let closed_after = started.elapsed();
        println!(
            "{addr}: 10 stalled headers closed by {latest:?}; trickled body cut off after {closed_after:?}"
        );
        assert!(
            closed_after < Duration::from_secs(3),
            "{addr}: {closed_after:?}"
        );
        let received = String::from_utf8_lossy(&received);
        assert!(received.starts_with("HTTP/1.1 4"), "{addr}: {received}");
    }

    // Good clients are still answered (an invalid event: 400, without needing the API).
    let (received, _) = send_and_wait(
        running.events_addr,
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
    )
    .await;
    assert!(received.starts_with("HTTP/1.1 400"), "{received}");
}
