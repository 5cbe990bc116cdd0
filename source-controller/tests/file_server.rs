//! The artifact file server over a real socket.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Sends a raw HTTP/1.0 request (so the path reaches the server unnormalised) and returns the
/// status code and body.
async fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(format!("GET {path} HTTP/1.0\r\nHost: test\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await.unwrap();
    let text = String::from_utf8_lossy(&response).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap();
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    (status, body)
}

#[tokio::test]
async fn serves_artifacts_and_nothing_else() {
    let parent = tempfile::tempdir().unwrap();
    std::fs::write(parent.path().join("outside.txt"), "outside").unwrap();
    let root = parent.path().join("data");
    std::fs::create_dir_all(root.join("gitrepository/ns/app")).unwrap();
    std::fs::write(
        root.join("gitrepository/ns/app/abc.tar.gz"),
        "artifact-bytes",
    )
    .unwrap();

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(source_controller::server::serve(root, listener, async {
        let _ = stopped.await;
    }));

    assert_eq!(get(addr, "/").await.0, 200);
    assert_eq!(
        get(addr, "/gitrepository/ns/app/abc.tar.gz").await,
        (200, "artifact-bytes".to_string())
    );
    assert_eq!(
        get(addr, "/gitrepository/ns/app/missing.tar.gz").await.0,
        404
    );
    // No directory listings.
    let (status, body) = get(addr, "/gitrepository/ns/app/").await;
    assert_eq!(status, 404);
    assert!(!body.contains("abc.tar.gz"));
    // No escaping the storage root.
    for path in [
        "/../outside.txt",
        "/gitrepository/../../outside.txt",
        "/%2e%2e/outside.txt",
    ] {
        let (status, body) = get(addr, path).await;
        assert_ne!(status, 200, "{path}");
        assert!(!body.contains("outside"), "{path}: {body}");
    }

    stop.send(()).unwrap();
    server.await.unwrap().unwrap();
}

/// Issue #12: a client that sends half a request, or stops reading a download, is disconnected
/// instead of holding its connection for ever.
#[tokio::test]
async fn stalled_clients_are_disconnected() {
    use std::time::{Duration, Instant};

    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("gitrepository/ns/app")).unwrap();
    // Far more than loopback socket buffers hold, so an unread download really stalls.
    let artifact = vec![b'x'; 32 * 1024 * 1024];
    std::fs::write(
        root.path().join("gitrepository/ns/app/big.tar.gz"),
        &artifact,
    )
    .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let limits = eddy_runtime::http_server::ServerLimits {
        header_read_timeout: Duration::from_millis(500),
        body_read_timeout: Duration::from_millis(500),
        idle_timeout: Duration::from_millis(800),
        max_connections: 8,
    };
    tokio::spawn(source_controller::server::serve_with(
        root.path().to_owned(),
        listener,
        limits,
        std::future::pending(),
    ));

    let started = Instant::now();
    let mut half = tokio::net::TcpStream::connect(addr).await.unwrap();
    half.write_all(b"GET /gitrepository/ns/app/big.tar.gz HTTP/1.1\r\nHo")
        .await
        .unwrap();
    let mut received = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), half.read_to_end(&mut received))
        .await
        .expect("half a request held the connection")
        .ok();
    let closed_after = started.elapsed();
    assert!(received.is_empty());
    assert!(closed_after < Duration::from_secs(3), "{closed_after:?}");

    let mut reader = tokio::net::TcpStream::connect(addr).await.unwrap();
    reader
        .write_all(b"GET /gitrepository/ns/app/big.tar.gz HTTP/1.1\r\nHost: test\r\n\r\n")
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let mut received = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), reader.read_to_end(&mut received))
        .await
        .expect("an unread download held the connection")
        .ok();
    assert!(received.starts_with(b"HTTP/1.1 200"));
    assert!(
        received.len() < artifact.len(),
        "the whole artifact was sent"
    );

    // A good client is still served.
    assert_eq!(get(addr, "/").await.0, 200);
}
