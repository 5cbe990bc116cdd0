//! Reproducible tar.gz archives of a directory: the same tree always gives the same bytes, so
//! the artifact digest changes only when content does.
//!
//! Only directories and regular files are archived. Entries are visited in byte order of their
//! names; headers carry relative paths, uid/gid 0, no user or group names, mtime 0 and modes
//! 0o750 (dirs), 0o600 (files) or 0o700 (files with any exec bit). Symlinks are never followed
//! nor archived, as in Flux; each one not excluded is reported, flagged when it points outside
//! the tree, so the caller can warn about what the artifact lacks.

use std::io::Write;
use std::path::{Component, Path, PathBuf};

use flate2::{Compression, GzBuilder};

/// A symlink left out of an archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedSymlink {
    /// Path relative to the archived directory.
    pub path: PathBuf,
    /// The link target as stored in the link.
    pub target: PathBuf,
    /// Whether the target resolves outside the archived directory (or is absolute).
    pub escapes_root: bool,
}

/// Decides whether a path (relative to the archived dir) is left out. `is_dir` tells whether it
/// is a directory; an excluded directory is skipped with everything below it.
pub type ExcludeFilter<'a> = dyn Fn(&Path, bool) -> bool + 'a;

/// Writes a gzip'd tar of `root` to `out` and returns the symlinks it skipped.
pub fn write_tar_gz<W: Write>(
    root: &Path,
    exclude: &ExcludeFilter<'_>,
    out: W,
) -> std::io::Result<(W, Vec<SkippedSymlink>)> {
    // No file name and mtime 0 in the gzip header keep the output byte-for-byte stable.
    let gzip = GzBuilder::new().mtime(0).write(out, Compression::default());
    let mut builder = tar::Builder::new(gzip);
    let mut skipped = Vec::new();
    append_dir(&mut builder, root, Path::new(""), exclude, &mut skipped)?;
    let gzip = builder.into_inner()?;
    Ok((gzip.finish()?, skipped))
}

fn append_dir<W: Write>(
    builder: &mut tar::Builder<W>,
    root: &Path,
    relative_dir: &Path,
    exclude: &ExcludeFilter<'_>,
    skipped: &mut Vec<SkippedSymlink>,
) -> std::io::Result<()> {
    let mut entries = std::fs::read_dir(root.join(relative_dir))?
        .map(|entry| entry.map(|entry| entry.file_name()))
        .collect::<Result<Vec<_>, _>>()?;
    entries.sort_by(|a, b| a.as_encoded_bytes().cmp(b.as_encoded_bytes()));
    for name in entries {
        let relative = relative_dir.join(&name);
        let full = root.join(&relative);
        let metadata = std::fs::symlink_metadata(&full)?;
        let kind = metadata.file_type();
        if kind.is_symlink() {
            if exclude(&relative, false) {
                continue;
            }
            let target = std::fs::read_link(&full)?;
            skipped.push(SkippedSymlink {
                escapes_root: escapes(relative_dir, &target),
                path: relative,
                target,
            });
        } else if kind.is_dir() {
            if exclude(&relative, true) {
                continue;
            }
            let mut header = normalised_header(tar::EntryType::Directory, 0o750, 0);
            builder.append_data(&mut header, &relative, std::io::empty())?;
            append_dir(builder, root, &relative, exclude, skipped)?;
        } else if kind.is_file() {
            if exclude(&relative, false) {
                continue;
            }
            let mode = if is_executable(&metadata) {
                0o700
            } else {
                0o600
            };
            let mut header = normalised_header(tar::EntryType::Regular, mode, metadata.len());
            let file = std::fs::File::open(&full)?;
            builder.append_data(&mut header, &relative, file)?;
        }
        // Sockets, FIFOs and devices have no place in an artifact.
    }
    Ok(())
}

fn normalised_header(kind: tar::EntryType, mode: u32, size: u64) -> tar::Header {
    let mut header = tar::Header::new_gnu();
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_uid(0);
    header.set_gid(0);
    header.set_mtime(0);
    header
}

#[cfg(unix)]
fn is_executable(metadata: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    metadata.permissions().mode() & 0o111 != 0
}

#[cfg(not(unix))]
fn is_executable(_metadata: &std::fs::Metadata) -> bool {
    false
}

/// Whether a link in `link_dir` (relative to the root) pointing at `target` leaves the root,
/// judged lexically: the target is never touched.
fn escapes(link_dir: &Path, target: &Path) -> bool {
    if target.is_absolute() {
        return true;
    }
    let mut depth: i64 = link_dir.components().count() as i64;
    for component in target.components() {
        match component {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::RootDir | Component::Prefix(_) => return true,
        }
        if depth < 0 {
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_detection_is_lexical() {
        assert!(escapes(Path::new(""), Path::new("../x")));
        assert!(escapes(Path::new("a"), Path::new("../../x")));
        assert!(!escapes(Path::new("a"), Path::new("../b/file")));
        assert!(escapes(Path::new("a"), Path::new("/etc/passwd")));
        assert!(escapes(Path::new(""), Path::new("b/../../x")));
        assert!(!escapes(Path::new("a/b"), Path::new("./c")));
    }
}
