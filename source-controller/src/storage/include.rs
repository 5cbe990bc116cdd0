//! Unpacking artifacts and copying parts of them into another source's tree (`spec.include`).

use std::path::{Component, Path, PathBuf};

use super::error::StorageError;

/// The most an included artifact may unpack to. Included artifacts come from this controller's
/// own storage, so the limit only guards against a corrupt file.
const MAX_INCLUDED_BYTES: u64 = 4 << 30;

/// Unpacks a tar.gz artifact into `dest` with the workspace's one untar policy: only directories
/// and regular files, nothing outside `dest`, no links.
pub fn unpack_tar_gz(archive: &Path, dest: &Path) -> Result<(), StorageError> {
    let file = std::fs::File::open(archive).map_err(|source| StorageError::Read {
        path: archive.to_path_buf(),
        source,
    })?;
    eddy_artifact::untar::unpack(std::io::BufReader::new(file), dest, MAX_INCLUDED_BYTES).map_err(
        |error| StorageError::Archive {
            path: archive.to_path_buf(),
            detail: error.to_string(),
        },
    )
}

/// Checks that `path` is relative without `..`, returning it cleaned of `.` components.
fn safe_relative(path: &str) -> Result<PathBuf, StorageError> {
    let mut clean = PathBuf::new();
    for component in Path::new(path).components() {
        match component {
            Component::Normal(part) => clean.push(part),
            Component::CurDir => {}
            _ => {
                return Err(StorageError::InvalidPath {
                    path: path.to_string(),
                    detail: "must be relative and must not contain '..'".to_string(),
                });
            }
        }
    }
    Ok(clean)
}

/// Copies `from_path` of the artifact `archive` to `to_path` inside `working_dir`, replacing
/// what was there. An empty `from_path` copies the whole artifact.
pub fn copy_included(
    archive: &Path,
    from_path: &str,
    working_dir: &Path,
    to_path: &str,
) -> Result<(), StorageError> {
    let from = safe_relative(from_path)?;
    let to = safe_relative(to_path)?;
    if to.as_os_str().is_empty() {
        return Err(StorageError::InvalidPath {
            path: to_path.to_string(),
            detail: "the include destination must not be the repository root".to_string(),
        });
    }
    let scratch = tempfile::tempdir().map_err(|source| StorageError::CreateDirectory {
        path: std::env::temp_dir(),
        source,
    })?;
    unpack_tar_gz(archive, scratch.path())?;
    let source = scratch.path().join(&from);
    let metadata = std::fs::symlink_metadata(&source).map_err(|_| StorageError::InvalidPath {
        path: from_path.to_string(),
        detail: "no such path in the included artifact".to_string(),
    })?;
    let destination = working_dir.join(&to);
    let stat_error = |path: &Path| {
        let path = path.to_path_buf();
        move |source| StorageError::Stat { path, source }
    };
    match std::fs::symlink_metadata(&destination) {
        Ok(existing) if existing.is_dir() => {
            std::fs::remove_dir_all(&destination).map_err(stat_error(&destination))?
        }
        Ok(_) => std::fs::remove_file(&destination).map_err(stat_error(&destination))?,
        Err(_) => {}
    }
    if let Some(parent) = destination.parent() {
        std::fs::create_dir_all(parent).map_err(|source| StorageError::CreateDirectory {
            path: parent.to_path_buf(),
            source,
        })?;
    }
    if metadata.is_dir() {
        copy_tree(&source, &destination)
    } else {
        std::fs::copy(&source, &destination)
            .map(drop)
            .map_err(|source| StorageError::Write {
                path: destination.clone(),
                source,
            })
    }
}

fn copy_tree(source: &Path, destination: &Path) -> Result<(), StorageError> {
    std::fs::create_dir_all(destination).map_err(|err| StorageError::CreateDirectory {
        path: destination.to_path_buf(),
        source: err,
    })?;
    let entries = std::fs::read_dir(source).map_err(|err| StorageError::Read {
        path: source.to_path_buf(),
        source: err,
    })?;
    for entry in entries {
        let entry = entry.map_err(|err| StorageError::Read {
            path: source.to_path_buf(),
            source: err,
        })?;
        let from = entry.path();
        let to = destination.join(entry.file_name());
        let kind = entry.file_type().map_err(|err| StorageError::Stat {
            path: from.clone(),
            source: err,
        })?;
        if kind.is_dir() {
            copy_tree(&from, &to)?;
        } else if kind.is_file() {
            std::fs::copy(&from, &to).map_err(|err| StorageError::Write {
                path: to.clone(),
                source: err,
            })?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_escaping_paths() {
        assert!(safe_relative("../x").is_err());
        assert!(safe_relative("/abs").is_err());
        assert_eq!(safe_relative("./a/./b").unwrap(), PathBuf::from("a/b"));
    }
}
