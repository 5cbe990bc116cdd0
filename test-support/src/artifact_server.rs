//! A local artifact server: serves a directory of tarballs over HTTP, as source-controller serves
//! its storage, and counts requests; tests publish artifacts there and name them in a source's
//! status. Also the tarball and memory helpers the artifact tests use.
#![allow(clippy::unwrap_used)] // test tooling: a failure here is a failed test

use std::{
    net::SocketAddr,
    path::Path,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
};

use sha2::{Digest, Sha256};

pub struct ArtifactServer {
    pub addr: SocketAddr,
    requests: Arc<AtomicUsize>,
}

impl ArtifactServer {
    pub async fn start(dir: &Path) -> ArtifactServer {
        // reqwest is built without a default TLS provider; the binaries install ring.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let requests = Arc::new(AtomicUsize::new(0));
        let counter = requests.clone();
        let app = axum::Router::new()
            .fallback_service(tower_http::services::ServeDir::new(dir))
            .layer(axum::middleware::from_fn(
                move |request: axum::extract::Request, next: axum::middleware::Next| {
                    counter.fetch_add(1, Ordering::SeqCst);
                    next.run(request)
                },
            ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        ArtifactServer { addr, requests }
    }

    pub fn url(&self, file: &str) -> String {
        format!("http://{}/{file}", self.addr)
    }

    pub fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// Writes a tar.gz of `files` (streamed from each reader) and returns its `sha256:` digest.
pub fn write_tarball(path: &Path, files: Vec<(&str, u64, Box<dyn std::io::Read>)>) -> String {
    let file = std::fs::File::create(path).unwrap();
    let encoder = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
    let mut builder = tar::Builder::new(encoder);
    for (name, size, reader) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(size);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        builder.append_data(&mut header, name, reader).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap();
    digest_of(path)
}

pub fn digest_of(path: &Path) -> String {
    let mut hasher = Sha256::new();
    std::io::copy(&mut std::fs::File::open(path).unwrap(), &mut hasher).unwrap();
    format!("sha256:{}", hex::encode(hasher.finalize()))
}

pub fn text(content: &str) -> (u64, Box<dyn std::io::Read>) {
    (
        content.len() as u64,
        Box::new(std::io::Cursor::new(content.as_bytes().to_vec())),
    )
}

/// `size` bytes of one repeated byte, produced without holding them in memory.
pub fn repeated(byte: u8, size: u64) -> (u64, Box<dyn std::io::Read>) {
    (size, Box::new(std::io::repeat(byte).take_bytes(size)))
}

trait TakeBytes: std::io::Read + Sized {
    fn take_bytes(self, size: u64) -> std::io::Take<Self> {
        std::io::Read::take(self, size)
    }
}
impl<R: std::io::Read> TakeBytes for R {}

/// A tar.gz of small text files at `path`; returns its digest and size.
pub fn write_text_tarball(path: &Path, files: &[(&str, &str)]) -> (String, u64) {
    let entries = files
        .iter()
        .map(|(name, content)| {
            let (size, reader) = text(content);
            (*name, size, reader)
        })
        .collect();
    let digest = write_tarball(path, entries);
    (digest, std::fs::metadata(path).unwrap().len())
}

/// Peak resident memory of this process (`VmHWM`), in bytes.
pub fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line
        .trim_start_matches("VmHWM:")
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kib * 1024
}
