//! Peak memory while fetching a large artifact stays flat (issue: a 200 MB artifact took the
//! controller to 418 MiB). This file holds a single test so `VmHWM` is this test's alone.
#![allow(clippy::unwrap_used)]

use eddy_artifact::{ArtifactCache, Limits};
use eddy_test_support::artifact_server::{ArtifactServer, peak_rss, repeated, write_tarball};

const MIB: u64 = 1 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_large_artifact_is_fetched_in_bounded_memory() {
    let served = tempfile::tempdir().unwrap();
    // 200 MiB of content in a few files, plus a 1 GiB bomb that must be cut off.
    let files = (0..4)
        .map(|i| {
            let (size, reader) = repeated(b'a' + i, 50 * MIB);
            (["a", "b", "c", "d"][usize::from(i)], size, reader)
        })
        .collect();
    let digest = write_tarball(&served.path().join("large.tar.gz"), files);
    let (size, reader) = repeated(0, 1024 * MIB);
    let bomb = write_tarball(
        &served.path().join("bomb.tar.gz"),
        vec![("zeros", size, reader)],
    );
    let server = ArtifactServer::start(served.path()).await;
    let root = tempfile::tempdir().unwrap();
    let limits = Limits {
        max_download: 512 * MIB,
        max_unpacked: 300 * MIB,
        retries: 0,
    };
    let cache = ArtifactCache::open(root.path(), limits).unwrap();
    let http = reqwest::Client::new();
    let before = peak_rss();

    let unpacked = cache
        .get(&http, &server.url("large.tar.gz"), &digest)
        .await
        .unwrap();
    let total: u64 = std::fs::read_dir(&unpacked.dir)
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .sum();
    assert_eq!(total, 200 * MIB);
    let error = cache
        .get(&http, &server.url("bomb.tar.gz"), &bomb)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("more than"), "{error}");

    let peak = peak_rss();
    eprintln!(
        "peak RSS: {:.1} MiB before fetching, {:.1} MiB after a 200 MiB artifact and a 1 GiB bomb",
        before as f64 / MIB as f64,
        peak as f64 / MIB as f64
    );
    assert!(peak < 64 * MIB, "peak RSS {} MiB", peak / MIB);
}
