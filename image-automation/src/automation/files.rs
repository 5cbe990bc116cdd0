//! Walking `spec.update.path` of a checked-out repository and applying the setters to each
//! YAML file in it (`*.yaml`, `*.yml`; other files are not YAML and are skipped).
//!
//! The walk stays inside the path: `..` and absolute paths are refused, symbolic links and the
//! `.git` directory are not followed, so a repository cannot make the automation read or write
//! outside its clone.

use std::{
    collections::BTreeMap,
    path::{Component, Path, PathBuf},
};

use eddy_api::image::imageupdateautomation::SetterHold;

use super::setters::{BrokenYaml, Holds, ObjectChanges, PolicyImages, update_text};

/// The changes made under the update path, keyed by file path relative to it.
pub type FileChanges = BTreeMap<String, ObjectChanges>;

/// What the setters did under the update path.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TreeUpdate {
    pub changes: FileChanges,
    pub holds: Vec<SetterHold>,
}

/// Why the files could not be updated.
#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("spec.update.path '{0}' must be a relative path inside the repository")]
    PathOutsideRepository(String),
    #[error("spec.update.path '{0}' does not exist in the repository")]
    PathNotFound(String),
    #[error(transparent)]
    BrokenYaml(#[from] BrokenYaml),
    #[error("cannot {action} '{path}': {source}")]
    Io {
        action: &'static str,
        path: String,
        source: std::io::Error,
    },
}

/// Applies the setters to every YAML file under `update_path` of `root`, rewriting the files
/// that change. Blocking.
pub fn update_files(
    root: &Path,
    update_path: &str,
    images: &PolicyImages,
    holds: Holds<'_>,
) -> Result<TreeUpdate, UpdateError> {
    let base = resolve(root, update_path)?;
    let mut files = Vec::new();
    collect_yaml_files(&base, &mut files)?;
    files.sort();
    let mut update = TreeUpdate::default();
    for file in files {
        let relative = file
            .strip_prefix(&base)
            .unwrap_or(&file)
            .to_string_lossy()
            .into_owned();
        let io_error = |action, source| UpdateError::Io {
            action,
            path: relative.clone(),
            source,
        };
        let bytes = std::fs::read(&file).map_err(|source| io_error("read", source))?;
        // A file that is not UTF-8 is not YAML a setter could mark.
        let Ok(text) = String::from_utf8(bytes) else {
            continue;
        };
        let updated = update_text(&relative, &text, images, holds)?;
        update
            .holds
            .extend(updated.held.into_iter().map(|held| SetterHold {
                file: relative.clone(),
                setter: held.setter,
                value: held.value,
                policy_value: held.policy_value,
            }));
        if updated.changes.is_empty() {
            continue;
        }
        std::fs::write(&file, updated.text).map_err(|source| io_error("write", source))?;
        update.changes.insert(relative, updated.changes);
    }
    Ok(update)
}

fn resolve(root: &Path, update_path: &str) -> Result<PathBuf, UpdateError> {
    let relative = Path::new(update_path);
    let escapes = relative.components().any(|c| {
        matches!(
            c,
            Component::ParentDir | Component::RootDir | Component::Prefix(_)
        )
    });
    if escapes {
        return Err(UpdateError::PathOutsideRepository(update_path.to_owned()));
    }
    let base = root.join(relative);
    match std::fs::symlink_metadata(&base) {
        Ok(metadata) if metadata.is_dir() => Ok(base),
        _ => Err(UpdateError::PathNotFound(update_path.to_owned())),
    }
}

fn collect_yaml_files(dir: &Path, files: &mut Vec<PathBuf>) -> Result<(), UpdateError> {
    let io_error = |source| UpdateError::Io {
        action: "list",
        path: dir.display().to_string(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io_error)? {
        let entry = entry.map_err(io_error)?;
        let file_type = entry.file_type().map_err(io_error)?;
        let path = entry.path();
        if file_type.is_dir() && entry.file_name() != ".git" {
            collect_yaml_files(&path, files)?;
        } else if file_type.is_file() && is_yaml(&path) {
            files.push(path);
        }
    }
    Ok(())
}

fn is_yaml(path: &Path) -> bool {
    path.extension()
        .is_some_and(|extension| extension == "yaml" || extension == "yml")
}

#[cfg(test)]
mod tests {
    use eddy_api::image::ImageRef;

    use super::*;

    fn images() -> PolicyImages {
        let mut images = PolicyImages::new();
        images.insert(
            "ns:app".into(),
            ImageRef {
                name: "app".into(),
                tag: "2".into(),
                digest: None,
            },
        );
        images
    }

    const MARKED: &str = "image: app:1 # {\"$imagepolicy\": \"ns:app\"}\n";

    #[test]
    fn updates_yaml_files_under_the_path_only() {
        let root = tempfile::tempdir().unwrap();
        let write = |path: &str, text: &str| {
            let path = root.path().join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write("apps/a.yaml", MARKED);
        write("apps/deep/b.yml", MARKED);
        write("apps/notes.txt", MARKED);
        write("apps/binary.yaml", "");
        std::fs::write(root.path().join("apps/binary.yaml"), [0xff, 0xfe, 0x00]).unwrap();
        write("other/c.yaml", MARKED);
        let changes = update_files(root.path(), "./apps", &images(), None)
            .unwrap()
            .changes;
        assert_eq!(
            changes.keys().collect::<Vec<_>>(),
            vec!["a.yaml", "deep/b.yml"]
        );
        let read = |path: &str| std::fs::read_to_string(root.path().join(path)).unwrap();
        assert_eq!(
            read("apps/a.yaml"),
            "image: app:2 # {\"$imagepolicy\": \"ns:app\"}\n"
        );
        assert_eq!(read("apps/notes.txt"), MARKED);
        assert_eq!(read("other/c.yaml"), MARKED);
    }

    #[test]
    fn broken_yaml_beside_good_files_fails_naming_the_file() {
        let root = tempfile::tempdir().unwrap();
        std::fs::write(root.path().join("good.yaml"), MARKED).unwrap();
        std::fs::write(root.path().join("bad.yaml"), "a: [\n").unwrap();
        let error = update_files(root.path(), "", &images(), None).unwrap_err();
        assert!(error.to_string().contains("'bad.yaml'"), "{error}");
    }

    #[test]
    fn paths_outside_the_repository_are_refused() {
        let root = tempfile::tempdir().unwrap();
        for path in ["../x", "/etc"] {
            assert!(matches!(
                update_files(root.path(), path, &images(), None),
                Err(UpdateError::PathOutsideRepository(_))
            ));
        }
        assert!(matches!(
            update_files(root.path(), "missing", &images(), None),
            Err(UpdateError::PathNotFound(_))
        ));
    }
}
