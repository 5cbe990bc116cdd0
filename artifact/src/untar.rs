//! The one way Eddy unpacks a tar.gz: entry by entry with bounded buffers, never outside the
//! target directory, never a link, and never more bytes than the caller allows.
//!
//! Every crate that unpacks an archive (consumers of source artifacts, source-controller's
//! `include`) goes through [`unpack`], so the rules cannot drift apart.

use std::{
    io::{self, Read, Write},
    path::{Component, Path, PathBuf},
};

/// Why an archive could not be unpacked.
#[derive(Debug, thiserror::Error)]
pub enum UnpackError {
    #[error("entry '{entry}' points outside the target directory")]
    Escapes { entry: String },
    #[error("entry '{entry}' is a link, which artifacts may not contain")]
    Link { entry: String },
    #[error("artifact unpacks to more than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("the archive is not a valid tar.gz: {0}")]
    Corrupt(io::Error),
    #[error("cannot write '{}': {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
}

/// Unpacks the gzip-compressed tarball read from `archive` into `target` (created if missing).
///
/// At most `max_unpacked` bytes of file content are written: the count is of bytes actually
/// decompressed, so a header that lies about its size cannot get past it, and the unpack stops
/// the moment the limit is crossed. On error the caller removes `target`, which may hold a part
/// of the archive.
pub fn unpack(archive: impl Read, target: &Path, max_unpacked: u64) -> Result<(), UnpackError> {
    create_dir(target)?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(archive));
    let mut budget = Budget {
        left: max_unpacked,
        limit: max_unpacked,
    };
    for entry in tar.entries().map_err(UnpackError::Corrupt)? {
        let mut entry = entry.map_err(UnpackError::Corrupt)?;
        let name = entry
            .path()
            .map_err(UnpackError::Corrupt)?
            .to_string_lossy()
            .into_owned();
        let Some(relative) = contained(&name) else {
            return Err(UnpackError::Escapes { entry: name });
        };
        let kind = entry.header().entry_type();
        if kind.is_symlink() || kind.is_hard_link() {
            return Err(UnpackError::Link { entry: name });
        }
        let destination = target.join(relative);
        if kind.is_dir() {
            create_dir(&destination)?;
        } else if kind.is_file() {
            write_file(&mut entry, &destination, &mut budget)?;
        }
        // Anything else (devices, fifos, pax and GNU metadata entries) carries no file content.
    }
    Ok(())
}

/// How many more content bytes may be written.
struct Budget {
    left: u64,
    limit: u64,
}

fn write_file(
    entry: &mut impl Read,
    destination: &Path,
    budget: &mut Budget,
) -> Result<(), UnpackError> {
    if let Some(parent) = destination.parent() {
        create_dir(parent)?;
    }
    let write_error = |source| UnpackError::Write {
        path: destination.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::create(destination).map_err(write_error)?;
    let mut buffer = [0u8; 64 * 1024];
    loop {
        let read = entry.read(&mut buffer).map_err(UnpackError::Corrupt)?;
        if read == 0 {
            break;
        }
        let read_bytes = read as u64;
        if read_bytes > budget.left {
            return Err(UnpackError::TooLarge {
                limit: budget.limit,
            });
        }
        budget.left -= read_bytes;
        file.write_all(&buffer[..read]).map_err(write_error)?;
    }
    Ok(())
}

fn create_dir(path: &Path) -> Result<(), UnpackError> {
    std::fs::create_dir_all(path).map_err(|source| UnpackError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// `name` as a relative path without `.` that stays inside the directory it is unpacked into, or
/// `None` when it is absolute or climbs out with `..`.
pub fn contained(name: &str) -> Option<PathBuf> {
    let mut clean = PathBuf::new();
    for component in Path::new(name).components() {
        match component {
            Component::Normal(part) => clean.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                if !clean.pop() {
                    return None;
                }
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(clean)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tarball whose entries are written raw, so tests can produce names and types the safe
    /// builder API refuses.
    fn tarball(entries: &[(&str, tar::EntryType, &[u8])]) -> Vec<u8> {
        let encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let mut builder = tar::Builder::new(encoder);
        for (path, kind, data) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_entry_type(*kind);
            let name: &mut [u8] = header.as_old_mut().name.as_mut();
            name[..path.len()].copy_from_slice(path.as_bytes());
            if kind.is_symlink() {
                header.set_link_name("/etc/passwd").unwrap();
            }
            header.set_cksum();
            builder.append(&header, *data).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap()
    }

    const FILE: tar::EntryType = tar::EntryType::Regular;

    #[test]
    fn unpacks_nested_files_and_directories() {
        let dir = tempfile::tempdir().unwrap();
        let archive = tarball(&[
            ("apps/", tar::EntryType::Directory, b""),
            ("apps/a.yaml", FILE, b"kind: A\n"),
            ("./b/c.yaml", FILE, b"kind: C\n"),
        ]);
        unpack(archive.as_slice(), dir.path(), 1 << 20).unwrap();
        let read = |p: &str| std::fs::read_to_string(dir.path().join(p)).unwrap();
        assert_eq!(read("apps/a.yaml"), "kind: A\n");
        assert_eq!(read("b/c.yaml"), "kind: C\n");
    }

    #[test]
    fn refuses_entries_escaping_the_target() {
        for name in ["a/../../evil", "../evil", "/tmp/evil"] {
            let dir = tempfile::tempdir().unwrap();
            let target = dir.path().join("t");
            let error =
                unpack(tarball(&[(name, FILE, b"x")]).as_slice(), &target, 1 << 20).unwrap_err();
            assert!(
                matches!(error, UnpackError::Escapes { .. }),
                "{name}: {error}"
            );
            assert!(!dir.path().join("evil").exists());
        }
    }

    #[test]
    fn climbing_back_inside_is_allowed() {
        let dir = tempfile::tempdir().unwrap();
        unpack(
            tarball(&[("a/../b.yaml", FILE, b"x")]).as_slice(),
            dir.path(),
            1 << 20,
        )
        .unwrap();
        assert!(dir.path().join("b.yaml").is_file());
    }

    #[test]
    fn refuses_links() {
        for kind in [tar::EntryType::Symlink, tar::EntryType::Link] {
            let dir = tempfile::tempdir().unwrap();
            let error =
                unpack(tarball(&[("l", kind, b"")]).as_slice(), dir.path(), 1 << 20).unwrap_err();
            assert!(matches!(error, UnpackError::Link { .. }), "{error}");
        }
    }

    #[test]
    fn stops_at_the_size_limit() {
        let dir = tempfile::tempdir().unwrap();
        let big = vec![b'a'; 300_000];
        let archive = tarball(&[("a", FILE, &big[..200_000]), ("b", FILE, &big)]);
        let error = unpack(archive.as_slice(), dir.path(), 250_000).unwrap_err();
        assert!(
            matches!(error, UnpackError::TooLarge { limit: 250_000 }),
            "{error}"
        );
        // The second file was cut off where the budget ran out, not written whole.
        let written = std::fs::metadata(dir.path().join("b")).map_or(0, |m| m.len());
        assert!(written <= 50_000, "{written}");
    }

    #[test]
    fn garbage_is_a_corrupt_archive() {
        let dir = tempfile::tempdir().unwrap();
        let error = unpack(&b"not a tarball"[..], dir.path(), 1 << 20).unwrap_err();
        assert!(matches!(error, UnpackError::Corrupt(_)), "{error}");
    }

    #[test]
    fn contained_paths() {
        assert_eq!(contained("./a/./b"), Some(PathBuf::from("a/b")));
        assert_eq!(contained("a/.."), Some(PathBuf::new()));
        assert_eq!(contained("../x"), None);
        assert_eq!(contained("/abs"), None);
    }
}
