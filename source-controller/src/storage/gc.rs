//! Garbage collection of an object's old artifacts.
//!
//! The current artifact always stays. Of the others, a file is deleted when it is older than the
//! retention TTL, or when it falls beyond the newest `records` files (the current one counts
//! towards `records`). The `.lock` file of every deleted artifact goes with it.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::error::StorageError;

/// At most this many files of one object are looked at per run, bounding the work on a
/// directory that somehow filled up.
const WALK_LIMIT: usize = 1000;

pub(super) fn collect(
    dir: &Path,
    current_file: Option<&str>,
    ttl: Duration,
    records: usize,
) -> Result<Vec<PathBuf>, StorageError> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(StorageError::Read {
                path: dir.to_path_buf(),
                source,
            });
        }
    };
    let stat_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| StorageError::Stat { path, source }
    };
    let now = SystemTime::now();
    let mut current_present = false;
    let mut candidates: Vec<(PathBuf, SystemTime)> = Vec::new();
    for entry in entries.take(WALK_LIMIT) {
        let entry = entry.map_err(stat_error(dir))?;
        let path = entry.path();
        let metadata = entry.metadata().map_err(stat_error(&path))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if !metadata.is_file() || name.ends_with(".lock") {
            continue;
        }
        if Some(name.as_str()) == current_file {
            current_present = true;
            continue;
        }
        let modified = metadata.modified().map_err(stat_error(&path))?;
        candidates.push((path, modified));
    }
    // Newest first; the name breaks ties so runs are repeatable.
    candidates.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let mut keep_budget = records.saturating_sub(usize::from(current_present));
    let mut deleted = Vec::new();
    for (path, modified) in candidates {
        let expired = now.duration_since(modified).unwrap_or_default() > ttl;
        if !expired && keep_budget > 0 {
            keep_budget -= 1;
            continue;
        }
        remove_if_present(&path)?;
        let mut lock = path.clone().into_os_string();
        lock.push(".lock");
        remove_if_present(Path::new(&lock))?;
        deleted.push(path);
    }
    Ok(deleted)
}

fn remove_if_present(path: &Path) -> Result<(), StorageError> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(source) => Err(StorageError::Delete {
            path: path.to_path_buf(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn touch(dir: &Path, name: &str, age: Duration) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, name).unwrap();
        let file = std::fs::File::options().write(true).open(&path).unwrap();
        file.set_modified(SystemTime::now() - age).unwrap();
        path
    }

    fn names(paths: &[PathBuf]) -> Vec<String> {
        let mut names: Vec<String> = paths
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn keeps_current_and_newest_within_ttl() {
        let dir = tempfile::tempdir().unwrap();
        let hour = Duration::from_secs(3600);
        touch(dir.path(), "current.tar.gz", Duration::from_secs(7200));
        touch(dir.path(), "new.tar.gz", Duration::from_secs(1));
        touch(dir.path(), "newer.tar.gz", Duration::ZERO);
        touch(dir.path(), "old.tar.gz", Duration::from_secs(10));
        touch(dir.path(), "old.tar.gz.lock", Duration::from_secs(10));
        touch(dir.path(), "ancient.tar.gz", Duration::from_secs(9000));
        let deleted = collect(dir.path(), Some("current.tar.gz"), hour, 2).unwrap();
        // Budget 2 with the current counted: only `newer` stays besides `current`.
        assert_eq!(
            names(&deleted),
            ["ancient.tar.gz", "new.tar.gz", "old.tar.gz"]
        );
        assert!(dir.path().join("current.tar.gz").exists());
        assert!(dir.path().join("newer.tar.gz").exists());
        assert!(!dir.path().join("old.tar.gz.lock").exists());
    }

    #[test]
    fn ttl_deletes_even_within_record_budget() {
        let dir = tempfile::tempdir().unwrap();
        touch(dir.path(), "current.tar.gz", Duration::ZERO);
        touch(dir.path(), "expired.tar.gz", Duration::from_secs(120));
        let deleted = collect(
            dir.path(),
            Some("current.tar.gz"),
            Duration::from_secs(60),
            5,
        )
        .unwrap();
        assert_eq!(names(&deleted), ["expired.tar.gz"]);
    }

    #[test]
    fn missing_dir_is_fine() {
        let dir = tempfile::tempdir().unwrap();
        assert!(
            collect(&dir.path().join("nope"), None, Duration::ZERO, 2)
                .unwrap()
                .is_empty()
        );
    }
}
