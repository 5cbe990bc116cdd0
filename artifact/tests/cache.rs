//! The artifact cache against a real HTTP server: what is downloaded, what is refused, and what
//! is left on disk.
#![allow(clippy::unwrap_used)]

use eddy_artifact::{ArtifactCache, DownloadError, FetchError, Limits, UnpackError};
use eddy_test_support::artifact_server::{ArtifactServer, repeated, text, write_tarball};

const LIMITS: Limits = Limits {
    max_download: 1 << 20,
    max_unpacked: 1 << 20,
    retries: 0,
};

fn leftovers(cache: &ArtifactCache, dir: &str) -> Vec<String> {
    std::fs::read_dir(cache.root().join(dir))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

#[tokio::test]
async fn unpacks_once_per_digest_and_keeps_no_download() {
    let served = tempfile::tempdir().unwrap();
    let digest = write_tarball(
        &served.path().join("a.tar.gz"),
        vec![(
            "apps/cm.yaml",
            text("kind: ConfigMap\n").0,
            text("kind: ConfigMap\n").1,
        )],
    );
    let server = ArtifactServer::start(served.path()).await;
    let root = tempfile::tempdir().unwrap();
    let cache = ArtifactCache::open(root.path(), LIMITS).unwrap();
    let http = reqwest::Client::new();

    let first = cache
        .get(&http, &server.url("a.tar.gz"), &digest)
        .await
        .unwrap();
    let second = cache
        .get(&http, &server.url("a.tar.gz"), &digest)
        .await
        .unwrap();
    assert_eq!(first.dir, second.dir);
    assert_eq!(
        std::fs::read_to_string(first.dir.join("apps/cm.yaml")).unwrap(),
        "kind: ConfigMap\n"
    );
    assert_eq!(server.requests(), 1);
    assert!(leftovers(&cache, "downloads").is_empty());
}

#[tokio::test]
async fn a_wrong_digest_is_refused_and_not_fetched_again() {
    let served = tempfile::tempdir().unwrap();
    let (size, content) = text("x: 1\n");
    write_tarball(
        &served.path().join("a.tar.gz"),
        vec![("x.yaml", size, content)],
    );
    let server = ArtifactServer::start(served.path()).await;
    let root = tempfile::tempdir().unwrap();
    let cache = ArtifactCache::open(root.path(), LIMITS).unwrap();
    let http = reqwest::Client::new();
    let claimed = format!("sha256:{}", "0".repeat(64));

    let error = cache
        .get(&http, &server.url("a.tar.gz"), &claimed)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            FetchError::Download(DownloadError::DigestMismatch { .. })
        ),
        "{error}"
    );
    let again = cache
        .get(&http, &server.url("a.tar.gz"), &claimed)
        .await
        .unwrap_err();
    assert!(matches!(again, FetchError::Refused { .. }), "{again}");
    assert!(again.to_string().contains("does not match"), "{again}");
    assert_eq!(
        server.requests(),
        1,
        "the bad artifact was downloaded again"
    );
    assert!(leftovers(&cache, "downloads").is_empty());
    assert!(leftovers(&cache, "artifacts").is_empty());
}

#[tokio::test]
async fn a_download_over_the_limit_is_refused() {
    let served = tempfile::tempdir().unwrap();
    // Pseudo-random bytes do not compress, so the archive stays above the limit.
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let noise: Vec<u8> = (0..400_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    let (size, content): (u64, Box<dyn std::io::Read>) =
        (noise.len() as u64, Box::new(std::io::Cursor::new(noise)));
    let digest = write_tarball(
        &served.path().join("big.tar.gz"),
        vec![("n", size, content)],
    );
    let server = ArtifactServer::start(served.path()).await;
    let root = tempfile::tempdir().unwrap();
    let limits = Limits {
        max_download: 64 * 1024,
        ..LIMITS
    };
    let cache = ArtifactCache::open(root.path(), limits).unwrap();
    let error = cache
        .get(&reqwest::Client::new(), &server.url("big.tar.gz"), &digest)
        .await
        .unwrap_err();
    assert!(
        matches!(
            error,
            FetchError::Download(DownloadError::TooLarge { limit: 65536, .. })
        ),
        "{error}"
    );
    assert!(error.to_string().contains("--artifact-max-size"), "{error}");
    assert!(leftovers(&cache, "downloads").is_empty());
}

#[tokio::test]
async fn a_decompression_bomb_leaves_nothing_behind() {
    let served = tempfile::tempdir().unwrap();
    let (size, content) = repeated(0, 64 << 20);
    let digest = write_tarball(
        &served.path().join("bomb.tar.gz"),
        vec![("zeros", size, content)],
    );
    assert!(
        std::fs::metadata(served.path().join("bomb.tar.gz"))
            .unwrap()
            .len()
            < 1 << 20
    );
    let server = ArtifactServer::start(served.path()).await;
    let root = tempfile::tempdir().unwrap();
    let cache = ArtifactCache::open(root.path(), LIMITS).unwrap();
    let http = reqwest::Client::new();

    let error = cache
        .get(&http, &server.url("bomb.tar.gz"), &digest)
        .await
        .unwrap_err();
    assert!(
        matches!(error, FetchError::Unpack(UnpackError::TooLarge { .. })),
        "{error}"
    );
    assert!(
        leftovers(&cache, "artifacts").is_empty(),
        "partial unpack kept"
    );
    assert!(leftovers(&cache, "downloads").is_empty());
    let again = cache
        .get(&http, &server.url("bomb.tar.gz"), &digest)
        .await
        .unwrap_err();
    assert!(matches!(again, FetchError::Refused { .. }), "{again}");
    assert_eq!(server.requests(), 1);
}

#[tokio::test]
async fn not_found_is_retried_later_not_remembered() {
    let served = tempfile::tempdir().unwrap();
    let server = ArtifactServer::start(served.path()).await;
    let root = tempfile::tempdir().unwrap();
    let cache = ArtifactCache::open(root.path(), LIMITS).unwrap();
    let http = reqwest::Client::new();
    let digest = format!("sha256:{}", "1".repeat(64));
    for _ in 0..2 {
        let error = cache
            .get(&http, &server.url("gone.tar.gz"), &digest)
            .await
            .unwrap_err();
        assert!(error.is_not_found(), "{error}");
    }
    assert_eq!(server.requests(), 2);
}

#[test]
fn opening_removes_what_a_killed_process_left() {
    let root = tempfile::tempdir().unwrap();
    let stale = root.path().join("artifacts/sha256-old/file");
    std::fs::create_dir_all(stale.parent().unwrap()).unwrap();
    std::fs::write(&stale, "x").unwrap();
    std::fs::create_dir_all(root.path().join("downloads")).unwrap();
    std::fs::write(root.path().join("downloads/half.tar.gz"), "x").unwrap();
    let unrelated = root.path().join("not-ours");
    std::fs::write(&unrelated, "keep").unwrap();

    let cache = ArtifactCache::open(root.path(), LIMITS).unwrap();
    assert!(leftovers(&cache, "artifacts").is_empty());
    assert!(leftovers(&cache, "downloads").is_empty());
    assert!(
        unrelated.exists(),
        "files the cache does not own are left alone"
    );
}

#[test]
fn one_directory_serves_one_cache_at_a_time() {
    let root = tempfile::tempdir().unwrap();
    let first = ArtifactCache::open(root.path(), LIMITS).unwrap();
    let Err(error) = ArtifactCache::open(root.path(), LIMITS) else {
        panic!("a second cache opened the same directory");
    };
    assert!(
        error.to_string().contains("--artifact-cache-path"),
        "{error}"
    );
    drop(first);
    ArtifactCache::open(root.path(), LIMITS).unwrap();
}
