//! The hardened HTTP server against misbehaving clients, over real loopback sockets. Every wait
//! is bounded, so a regression fails instead of hanging.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};

use axum::{Router, body::Bytes, routing::post};
use eddy_runtime::http_server::{self, ServerLimits};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
};

/// Longest any test waits for the server to act, well above every limit used here.
const BOUND: Duration = Duration::from_secs(10);

fn router() -> Router {
    Router::new()
        .route(
            "/",
            post(|body: Bytes| async move { format!("{}", body.len()) }),
        )
        .fallback(|| async { "ok" })
}

async fn start(limits: ServerLimits) -> SocketAddr {
    http_server::spawn("127.0.0.1:0".parse().unwrap(), router(), limits)
        .await
        .unwrap()
}

fn limits(header: u64, body: u64, idle: u64, max_connections: usize) -> ServerLimits {
    ServerLimits {
        header_read_timeout: Duration::from_millis(header),
        body_read_timeout: Duration::from_millis(body),
        idle_timeout: Duration::from_millis(idle),
        max_connections,
    }
}

/// Reads until the server closes the connection; returns what arrived and when it closed.
async fn read_until_closed(stream: &mut TcpStream, since: Instant) -> (String, Duration) {
    let mut received = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let read = tokio::time::timeout(BOUND, stream.read(&mut buffer))
            .await
            .expect("the server kept the connection open");
        match read {
            Ok(0) | Err(_) => break,
            Ok(n) => received.extend_from_slice(&buffer[..n]),
        }
    }
    (
        String::from_utf8_lossy(&received).into_owned(),
        since.elapsed(),
    )
}

/// Sends a complete GET on `stream` and reads exactly its response (keeping the connection).
async fn get_keep_alive(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET /probe HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    let mut received = Vec::new();
    let mut buffer = [0u8; 1024];
    while !String::from_utf8_lossy(&received).ends_with("ok") {
        let n = tokio::time::timeout(BOUND, stream.read(&mut buffer))
            .await
            .expect("no response")
            .unwrap();
        assert!(n > 0, "closed before the response was complete");
        received.extend_from_slice(&buffer[..n]);
    }
    String::from_utf8_lossy(&received).into_owned()
}

async fn half_a_header(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"POST / HTTP/1.1\r\nHost: test\r\nContent-Le")
        .await
        .unwrap();
    stream
}

#[tokio::test]
async fn a_client_stalling_in_its_header_is_disconnected_at_the_header_timeout() {
    let addr = start(limits(500, 5_000, 5_000, 16)).await;
    let started = Instant::now();
    let mut half = half_a_header(addr).await;
    let mut silent = TcpStream::connect(addr).await.unwrap();

    let (received, closed_after) = read_until_closed(&mut half, started).await;
    assert!(
        received.is_empty(),
        "no response to half a request: {received}"
    );
    let (_, silent_closed_after) = read_until_closed(&mut silent, started).await;
    println!(
        "header timeout 500ms: half a header closed after {closed_after:?}, a silent connection after {silent_closed_after:?}"
    );
    for elapsed in [closed_after, silent_closed_after] {
        assert!(elapsed >= Duration::from_millis(450), "{elapsed:?}");
        assert!(elapsed < Duration::from_millis(2_500), "{elapsed:?}");
    }
}

#[tokio::test]
async fn a_body_sent_in_a_trickle_is_cut_off_at_the_body_timeout() {
    let addr = start(limits(5_000, 800, 5_000, 16)).await;
    let started = Instant::now();
    let stream = TcpStream::connect(addr).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    writer
        .write_all(b"POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 1000\r\n\r\n")
        .await
        .unwrap();
    // One byte every 100 ms: always some progress, never the whole body.
    let trickle = tokio::spawn(async move {
        for _ in 0..100 {
            if writer.write_all(b"x").await.is_err() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    });

    let mut received = Vec::new();
    let closed_after = tokio::time::timeout(BOUND, reader.read_to_end(&mut received))
        .await
        .map(|_| started.elapsed())
        .expect("the trickling client was never cut off");
    trickle.abort();
    let received = String::from_utf8_lossy(&received);
    println!("body timeout 800ms: trickling client cut off after {closed_after:?}");
    assert!(received.starts_with("HTTP/1.1 400"), "{received}");
    assert!(
        closed_after >= Duration::from_millis(750),
        "{closed_after:?}"
    );
    assert!(
        closed_after < Duration::from_millis(3_000),
        "{closed_after:?}"
    );
}

#[tokio::test]
async fn a_complete_body_within_the_timeout_is_served() {
    let addr = start(limits(2_000, 2_000, 5_000, 16)).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(
            b"POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 5\r\nConnection: close\r\n\r\n",
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    stream.write_all(b"hello").await.unwrap();
    let (received, _) = read_until_closed(&mut stream, Instant::now()).await;
    assert!(received.starts_with("HTTP/1.1 200"), "{received}");
    assert!(received.ends_with("\r\n\r\n5"), "{received}");
}

#[tokio::test]
async fn a_kept_alive_connection_waits_for_the_idle_timeout_not_the_header_timeout() {
    let addr = start(limits(300, 5_000, 1_500, 16)).await;
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let first = get_keep_alive(&mut stream).await;
    assert!(first.starts_with("HTTP/1.1 200"), "{first}");
    // Longer than the header timeout: the connection must still be there.
    tokio::time::sleep(Duration::from_millis(700)).await;
    let second = get_keep_alive(&mut stream).await;
    assert!(second.starts_with("HTTP/1.1 200"), "{second}");

    let idle_from = Instant::now();
    let (received, closed_after) = read_until_closed(&mut stream, idle_from).await;
    println!("idle timeout 1.5s: kept-alive connection closed after {closed_after:?} idle");
    assert!(received.is_empty(), "{received}");
    assert!(
        closed_after >= Duration::from_millis(1_400),
        "{closed_after:?}"
    );
    assert!(
        closed_after < Duration::from_millis(4_000),
        "{closed_after:?}"
    );
}

#[tokio::test]
async fn connections_beyond_the_limit_wait_and_a_good_client_is_still_answered() {
    let addr = start(limits(600, 5_000, 5_000, 2)).await;
    let started = Instant::now();
    let _stalled = [half_a_header(addr).await, half_a_header(addr).await];
    tokio::time::sleep(Duration::from_millis(100)).await;

    // Both slots are held by stalled clients: the good one waits until they are closed.
    let mut good = TcpStream::connect(addr).await.unwrap();
    let response = get_keep_alive(&mut good).await;
    let answered_after = started.elapsed();
    println!("limit 2, header timeout 600ms: good client answered after {answered_after:?}");
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(
        answered_after >= Duration::from_millis(550),
        "answered while the limit was taken: {answered_after:?}"
    );
    assert!(
        answered_after < Duration::from_millis(3_000),
        "{answered_after:?}"
    );
}

#[tokio::test]
async fn a_crowd_of_stalled_clients_is_cleared_and_good_clients_are_served() {
    // The scenario, scaled down: 60 half-sent requests against a limit of 8.
    let addr = start(limits(400, 5_000, 5_000, 8)).await;
    let started = Instant::now();
    let mut stalled = Vec::new();
    for _ in 0..60 {
        stalled.push(half_a_header(addr).await);
    }
    let mut good = TcpStream::connect(addr).await.unwrap();
    let response = get_keep_alive(&mut good).await;
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    let mut latest = Duration::ZERO;
    for stream in &mut stalled {
        let (received, closed_after) = read_until_closed(stream, started).await;
        assert!(received.is_empty(), "{received}");
        latest = latest.max(closed_after);
    }
    println!(
        "60 stalled clients, limit 8, header timeout 400ms: good client answered, all stalled closed after {latest:?}"
    );
    // Eight at a time, 400 ms each: about 3 s for all 60.
    assert!(latest < Duration::from_millis(8_000), "{latest:?}");
}

#[tokio::test]
async fn shutting_down_stops_accepting_and_returns() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(http_server::serve(
        listener,
        router(),
        limits(500, 500, 5_000, 4),
        async {
            let _ = stopped.await;
        },
    ));
    let mut kept = TcpStream::connect(addr).await.unwrap();
    assert!(get_keep_alive(&mut kept).await.starts_with("HTTP/1.1 200"));
    stop.send(()).unwrap();
    tokio::time::timeout(BOUND, server)
        .await
        .expect("serve did not return after shutdown")
        .unwrap();
    assert!(TcpStream::connect(addr).await.is_err());
}

#[tokio::test]
async fn a_client_that_stops_reading_its_response_is_disconnected_at_the_idle_timeout() {
    const SIZE: usize = 32 * 1024 * 1024; // far more than loopback socket buffers hold
    let router = Router::new().fallback(|| async { vec![b'x'; SIZE] });
    let limits = limits(2_000, 2_000, 800, 4);
    let addr = http_server::spawn("127.0.0.1:0".parse().unwrap(), router, limits)
        .await
        .unwrap();
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /artifact.tar.gz HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let mut received = Vec::new();
    tokio::time::timeout(BOUND, stream.read_to_end(&mut received))
        .await
        .expect("the server kept a stalled download open")
        .ok();
    println!(
        "idle timeout 800ms: stalled download closed after {} of {SIZE} bytes",
        received.len()
    );
    assert!(received.starts_with(b"HTTP/1.1 200"));
    assert!(received.len() < SIZE, "the whole response was sent");
}
