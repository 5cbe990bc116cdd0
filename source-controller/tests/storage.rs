//! Artifact storage: reproducible archives, ignore rules, atomic writes, GC, include and the
//! file server.

#![allow(clippy::unwrap_used, clippy::expect_used)] // test helpers may panic

use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, SystemTime};

use source_controller::ignore::IgnoreRules;
use source_controller::storage::{
    DigestAlgorithm, ObjectKey, Storage, StorageConfig, copy_included, unpack_tar_gz,
};

fn storage(root: &Path, algorithm: DigestAlgorithm) -> Storage {
    Storage::new(StorageConfig {
        root: root.to_path_buf(),
        advertised_address: "source-controller.flux-system.svc.cluster.local.".into(),
        digest_algorithm: algorithm,
        retention_ttl: Duration::from_secs(60),
        retention_records: 2,
    })
    .unwrap()
}

fn write(root: &Path, path: &str, contents: &str) {
    let full = root.join(path);
    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
    std::fs::write(full, contents).unwrap();
}

fn sample_tree(root: &Path) {
    write(root, "deploy/app.yaml", "kind: ConfigMap\n");
    write(root, "deploy/b/config.yaml", "b: 1\n");
    write(root, "README.md", "# readme\n");
    write(root, "scripts/run.sh", "#!/bin/sh\n");
    std::fs::set_permissions(
        root.join("scripts/run.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
}

fn set_mtime_everywhere(root: &Path, time: SystemTime) {
    for entry in std::fs::read_dir(root).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            set_mtime_everywhere(&entry.path(), time);
        } else {
            let file = std::fs::File::options()
                .write(true)
                .open(entry.path())
                .unwrap();
            file.set_modified(time).unwrap();
        }
    }
}

/// (path, mode, uid, gid, mtime, username) of each entry, in archive order.
fn entries(archive: &Path) -> Vec<(String, u32, u64, u64, u64, String)> {
    let file = std::fs::File::open(archive).unwrap();
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(file));
    tar.entries()
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            let header = entry.header();
            (
                entry.path().unwrap().display().to_string(),
                header.mode().unwrap(),
                header.uid().unwrap(),
                header.gid().unwrap(),
                header.mtime().unwrap(),
                header.username().unwrap().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

fn no_exclusions(_: &Path, _: bool) -> bool {
    false
}

#[test]
fn archives_are_reproducible_and_normalised() {
    let store_dir = tempfile::tempdir().unwrap();
    let store = storage(store_dir.path(), DigestAlgorithm::Sha256);
    let object = ObjectKey::new("GitRepository", "flux-system", "app");

    let first = tempfile::tempdir().unwrap();
    sample_tree(first.path());
    set_mtime_everywhere(
        first.path(),
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000),
    );
    let a = store
        .archive_dir(&object, "a.tar.gz", first.path(), &no_exclusions)
        .unwrap();

    // The same content created separately, with other mtimes.
    let second = tempfile::tempdir().unwrap();
    sample_tree(second.path());
    set_mtime_everywhere(second.path(), SystemTime::now());
    let b = store
        .archive_dir(&object, "b.tar.gz", second.path(), &no_exclusions)
        .unwrap();
    assert_eq!(a.digest, b.digest);
    assert_eq!(a.size, b.size);
    assert!(a.digest.starts_with("sha256:") && a.digest.len() == 7 + 64);
    let bytes = std::fs::read(store_dir.path().join(&a.path)).unwrap();
    assert_eq!(DigestAlgorithm::Sha256.digest_of(&bytes), a.digest);
    assert_eq!(bytes.len() as u64, a.size);

    // A content change changes the digest.
    write(second.path(), "README.md", "# changed\n");
    let c = store
        .archive_dir(&object, "c.tar.gz", second.path(), &no_exclusions)
        .unwrap();
    assert_ne!(a.digest, c.digest);

    let listed = entries(&store_dir.path().join(&a.path));
    let names: Vec<&str> = listed.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "README.md",
            "deploy",
            "deploy/app.yaml",
            "deploy/b",
            "deploy/b/config.yaml",
            "scripts",
            "scripts/run.sh"
        ]
    );
    for (name, mode, uid, gid, mtime, user) in &listed {
        assert_eq!((*uid, *gid, *mtime), (0, 0, 0), "{name}");
        assert!(user.is_empty(), "{name}");
        let expected = match name.as_str() {
            "deploy" | "deploy/b" | "scripts" => 0o750,
            "scripts/run.sh" => 0o700,
            _ => 0o600,
        };
        assert_eq!(*mode, expected, "{name}");
    }
}

#[test]
fn stored_artifact_layout_mode_url_and_lock() {
    let store_dir = tempfile::tempdir().unwrap();
    let store = storage(store_dir.path(), DigestAlgorithm::Sha512);
    let object = ObjectKey::new("GitRepository", "team-a", "app");
    let tree = tempfile::tempdir().unwrap();
    sample_tree(tree.path());
    let stored = store
        .archive_dir(&object, "abc123.tar.gz", tree.path(), &no_exclusions)
        .unwrap();
    assert_eq!(stored.path, "gitrepository/team-a/app/abc123.tar.gz");
    assert_eq!(
        stored.url,
        "http://source-controller.flux-system.svc.cluster.local./gitrepository/team-a/app/abc123.tar.gz"
    );
    assert!(stored.digest.starts_with("sha512:"));
    let local = store_dir.path().join(&stored.path);
    let mode = std::fs::metadata(&local).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert!(local.with_file_name("abc123.tar.gz.lock").exists());
    // No temp files are left behind.
    let leftovers: Vec<_> = std::fs::read_dir(local.parent().unwrap())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".tmp-"))
        .collect();
    assert!(leftovers.is_empty());

    assert!(store.artifact_exists(&stored.path));
    assert!(!store.artifact_exists("gitrepository/team-a/app/other.tar.gz"));
    assert!(!store.artifact_exists("../../etc/passwd"));
    store.remove_object(&object).unwrap();
    assert!(!store.artifact_exists(&stored.path));
    assert!(!store_dir.path().join("gitrepository/team-a/app").exists());
    // Removing again is not an error.
    store.remove_object(&object).unwrap();
}

#[test]
fn sourceignore_and_defaults_shape_the_archive() {
    let store_dir = tempfile::tempdir().unwrap();
    let store = storage(store_dir.path(), DigestAlgorithm::Sha256);
    let object = ObjectKey::new("GitRepository", "default", "app");
    let tree = tempfile::tempdir().unwrap();
    write(tree.path(), ".git/HEAD", "ref: refs/heads/master\n");
    write(tree.path(), ".github/workflows/ci.yaml", "on: push\n");
    write(tree.path(), "logo.png", "png");
    write(tree.path(), "deploy/app.yaml", "a");
    write(tree.path(), "deploy/.sourceignore", "*.secret.yaml\n");
    write(tree.path(), "deploy/db.secret.yaml", "s");
    write(
        tree.path(),
        "other/db.secret.yaml",
        "kept: outside the .sourceignore's dir",
    );
    let rules = IgnoreRules::load(tree.path(), None).unwrap();
    let stored = store
        .archive_dir(&object, "x.tar.gz", tree.path(), &|path, is_dir| {
            rules.is_excluded(path, is_dir)
        })
        .unwrap();
    let listed = entries(&store_dir.path().join(&stored.path));
    let names: Vec<&str> = listed.iter().map(|e| e.0.as_str()).collect();
    assert_eq!(
        names,
        [
            "deploy",
            "deploy/.sourceignore",
            "deploy/app.yaml",
            "other",
            "other/db.secret.yaml"
        ]
    );

    // spec.ignore replaces the defaults (images come back) but .git stays out.
    let rules = IgnoreRules::load(tree.path(), Some("deploy/\n")).unwrap();
    let stored = store
        .archive_dir(&object, "y.tar.gz", tree.path(), &|path, is_dir| {
            rules.is_excluded(path, is_dir)
        })
        .unwrap();
    let names: Vec<String> = entries(&store_dir.path().join(&stored.path))
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert!(names.contains(&"logo.png".to_string()), "{names:?}");
    assert!(
        names.contains(&".github/workflows/ci.yaml".to_string()),
        "{names:?}"
    );
    assert!(
        !names.iter().any(|n| n.starts_with(".git/") || n == ".git"),
        "{names:?}"
    );
    assert!(!names.iter().any(|n| n.starts_with("deploy")), "{names:?}");
}

#[test]
fn symlinks_are_skipped_and_escapes_reported() {
    let store_dir = tempfile::tempdir().unwrap();
    let store = storage(store_dir.path(), DigestAlgorithm::Sha256);
    let object = ObjectKey::new("GitRepository", "default", "links");
    let outside = tempfile::tempdir().unwrap();
    write(outside.path(), "secret.txt", "do not archive");
    let tree = tempfile::tempdir().unwrap();
    write(tree.path(), "deploy/app.yaml", "a");
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), tree.path().join("leak"))
        .unwrap();
    std::os::unix::fs::symlink("../../etc", tree.path().join("deploy/up")).unwrap();
    std::os::unix::fs::symlink("app.yaml", tree.path().join("deploy/alias.yaml")).unwrap();
    let stored = store
        .archive_dir(&object, "l.tar.gz", tree.path(), &no_exclusions)
        .unwrap();
    let names: Vec<String> = entries(&store_dir.path().join(&stored.path))
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(names, ["deploy", "deploy/app.yaml"]);
    let mut report: Vec<(String, bool)> = stored
        .skipped_symlinks
        .iter()
        .map(|s| (s.path.display().to_string(), s.escapes_root))
        .collect();
    report.sort();
    assert_eq!(
        report,
        [
            ("deploy/alias.yaml".to_string(), false),
            ("deploy/up".to_string(), true),
            ("leak".to_string(), true)
        ]
    );
    // The secret's bytes are nowhere in the archive.
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(store_dir.path().join(&stored.path)).unwrap())
        .read_to_end(&mut raw)
        .unwrap();
    assert!(!String::from_utf8_lossy(&raw).contains("do not archive"));
}

#[test]
fn garbage_collection_keeps_current_and_recent() {
    let store_dir = tempfile::tempdir().unwrap();
    let store = storage(store_dir.path(), DigestAlgorithm::Sha256);
    let object = ObjectKey::new("GitRepository", "default", "gc");
    for name in ["one.tar.gz", "two.tar.gz", "three.tar.gz", "four.tar.gz"] {
        store.store_bytes(&object, name, name.as_bytes()).unwrap();
    }
    let dir = store.object_dir(&object);
    let age = |name: &str, seconds: u64| {
        let file = std::fs::File::options()
            .write(true)
            .open(dir.join(name))
            .unwrap();
        file.set_modified(SystemTime::now() - Duration::from_secs(seconds))
            .unwrap();
    };
    age("one.tar.gz", 3600);
    age("two.tar.gz", 30);
    age("three.tar.gz", 20);
    age("four.tar.gz", 10);
    // "one" is current although oldest; TTL 60s and 2 records leave room for one more: "four".
    let mut deleted: Vec<String> = store
        .garbage_collect(&object, Some("one.tar.gz"))
        .unwrap()
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    deleted.sort();
    assert_eq!(deleted, ["three.tar.gz", "two.tar.gz"]);
    assert!(dir.join("one.tar.gz").exists());
    assert!(dir.join("four.tar.gz").exists());
    assert!(!dir.join("two.tar.gz.lock").exists());
    assert!(dir.join("one.tar.gz.lock").exists());
}

#[test]
fn include_copies_a_subtree_of_another_artifact() {
    let store_dir = tempfile::tempdir().unwrap();
    let store = storage(store_dir.path(), DigestAlgorithm::Sha256);
    let object = ObjectKey::new("GitRepository", "default", "shared");
    let tree = tempfile::tempdir().unwrap();
    write(tree.path(), "base/config.yaml", "base: true\n");
    write(tree.path(), "base/nested/x.yaml", "x\n");
    write(tree.path(), "other.yaml", "other\n");
    let stored = store
        .archive_dir(&object, "s.tar.gz", tree.path(), &no_exclusions)
        .unwrap();
    let archive = store_dir.path().join(&stored.path);

    let work = tempfile::tempdir().unwrap();
    write(work.path(), "vendor/shared/stale.yaml", "stale");
    copy_included(&archive, "./base", work.path(), "vendor/shared").unwrap();
    assert_eq!(
        std::fs::read_to_string(work.path().join("vendor/shared/config.yaml")).unwrap(),
        "base: true\n"
    );
    assert!(work.path().join("vendor/shared/nested/x.yaml").exists());
    assert!(!work.path().join("vendor/shared/stale.yaml").exists());

    assert!(copy_included(&archive, "../etc", work.path(), "x").is_err());
    assert!(copy_included(&archive, "base", work.path(), "../outside").is_err());
    let err = copy_included(&archive, "missing", work.path(), "x").unwrap_err();
    assert!(err.to_string().contains("missing"), "{err}");

    let unpacked = tempfile::tempdir().unwrap();
    unpack_tar_gz(&archive, unpacked.path()).unwrap();
    assert!(unpacked.path().join("other.yaml").exists());
}

#[test]
fn latest_symlink_is_replaced_atomically_and_survives_gc() {
    let store_dir = tempfile::tempdir().unwrap();
    let store = storage(store_dir.path(), DigestAlgorithm::Sha256);
    let object = ObjectKey::new("Bucket", "default", "b");
    store.store_bytes(&object, "one.tar.gz", b"one").unwrap();
    store.store_bytes(&object, "two.tar.gz", b"two").unwrap();
    let link = store
        .symlink(&object, "one.tar.gz", "latest.tar.gz")
        .unwrap();
    assert_eq!(link, "bucket/default/b/latest.tar.gz");
    let local = store_dir.path().join(&link);
    assert_eq!(std::fs::read(&local).unwrap(), b"one");
    store
        .symlink(&object, "two.tar.gz", "latest.tar.gz")
        .unwrap();
    assert_eq!(std::fs::read(&local).unwrap(), b"two");
    assert_eq!(std::fs::read_link(&local).unwrap(), Path::new("two.tar.gz"));
    assert!(store.symlink(&object, "../x", "latest.tar.gz").is_err());

    let deleted = store.garbage_collect(&object, Some("two.tar.gz")).unwrap();
    assert!(
        deleted.iter().all(|p| !p.ends_with("latest.tar.gz")),
        "{deleted:?}"
    );
    assert!(std::fs::symlink_metadata(&local).is_ok());
}
