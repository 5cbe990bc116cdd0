//! Which files of a source end up in its artifact: Flux's default exclusions, `.sourceignore`
//! files (gitignore syntax, in any directory, scoped to it) and `spec.ignore`.
//!
//! Rules are evaluated in layers, later layers overriding earlier ones (a `!pattern` re-includes):
//! 1. version-control files (`.git`, `.gitignore`, `.gitmodules`, `.gitattributes`), always;
//! 2. the remaining default exclusions (CI configs, images, archives, …), unless `spec.ignore`
//!    is set, which replaces them;
//! 3. `.sourceignore` files, shallower directories first;
//! 4. `spec.ignore`, anchored at the root.
//!
//! Deviation from the letter of Flux's list: `.git` is excluded as a file too, because
//! submodule checkouts contain a `.git` file that points into the controller's temp dirs.

use std::path::{Path, PathBuf};

use ignore::gitignore::{Gitignore, GitignoreBuilder};

/// Version-control metadata, never part of an artifact.
const VCS_PATTERNS: &[&str] = &[".git", ".gitignore", ".gitmodules", ".gitattributes"];

/// Flux's default exclusions besides version control (flux-contract §3.1).
const DEFAULT_PATTERNS: &[&str] = &[
    "*.jpg",
    "*.jpeg",
    "*.gif",
    "*.png",
    "*.wmv",
    "*.flv",
    "*.tar.gz",
    "*.zip",
    ".github/",
    ".circleci/",
    ".travis.yml",
    ".gitlab-ci.yml",
    "appveyor.yml",
    ".drone.yml",
    "cloudbuild.yaml",
    "codeship-services.yml",
    "codeship-steps.yml",
    ".goreleaser.yml",
    ".sops.yaml",
    ".flux.yaml",
];

/// The name of per-directory ignore files.
pub const SOURCEIGNORE_FILE: &str = ".sourceignore";

/// A bad pattern or an unreadable `.sourceignore`.
#[derive(Debug, thiserror::Error)]
pub enum IgnoreError {
    #[error("invalid ignore pattern '{pattern}' in {origin}: {detail}")]
    Pattern {
        pattern: String,
        origin: String,
        detail: String,
    },
    #[error("failed to read '{path}': {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
}

struct Layer {
    /// Directory (relative to the root) the layer's patterns are anchored at.
    dir: PathBuf,
    matcher: Gitignore,
}

/// The exclusion rules for one source tree.
pub struct IgnoreRules {
    root: PathBuf,
    layers: Vec<Layer>,
}

impl IgnoreRules {
    /// Builds the rules for the tree at `root`, reading every `.sourceignore` below it.
    /// `spec_ignore` is the object's `spec.ignore`.
    pub fn load(root: &Path, spec_ignore: Option<&str>) -> Result<Self, IgnoreError> {
        let mut layers = vec![layer(
            root,
            Path::new(""),
            VCS_PATTERNS.iter().copied(),
            "defaults",
        )?];
        if spec_ignore.is_none() {
            layers.push(layer(
                root,
                Path::new(""),
                DEFAULT_PATTERNS.iter().copied(),
                "defaults",
            )?);
        }
        let mut found = Vec::new();
        find_sourceignore_files(root, Path::new(""), &mut found)?;
        found.sort_by_key(|dir| dir.components().count());
        for dir in found {
            let file = root.join(&dir).join(SOURCEIGNORE_FILE);
            let text = std::fs::read_to_string(&file).map_err(|source| IgnoreError::Read {
                path: file.clone(),
                source,
            })?;
            let origin = dir.join(SOURCEIGNORE_FILE).display().to_string();
            layers.push(layer(root, &dir, text.lines(), &origin)?);
        }
        if let Some(spec) = spec_ignore {
            layers.push(layer(root, Path::new(""), spec.lines(), "spec.ignore")?);
        }
        Ok(IgnoreRules {
            root: root.to_path_buf(),
            layers,
        })
    }

    /// Whether `relative` (a path below the root) is left out of the artifact.
    pub fn is_excluded(&self, relative: &Path, is_dir: bool) -> bool {
        let absolute = self.root.join(relative);
        let mut excluded = false;
        for layer in &self.layers {
            if !relative.starts_with(&layer.dir) {
                continue;
            }
            let verdict = layer.matcher.matched_path_or_any_parents(&absolute, is_dir);
            if verdict.is_ignore() {
                excluded = true;
            } else if verdict.is_whitelist() {
                excluded = false;
            }
        }
        excluded
    }
}

fn layer<'a>(
    root: &Path,
    dir: &Path,
    lines: impl Iterator<Item = &'a str>,
    origin: &str,
) -> Result<Layer, IgnoreError> {
    let mut builder = GitignoreBuilder::new(root.join(dir));
    for line in lines {
        builder
            .add_line(None, line)
            .map_err(|err| IgnoreError::Pattern {
                pattern: line.to_string(),
                origin: origin.to_string(),
                detail: err.to_string(),
            })?;
    }
    let matcher = builder.build().map_err(|err| IgnoreError::Pattern {
        pattern: String::new(),
        origin: origin.to_string(),
        detail: err.to_string(),
    })?;
    Ok(Layer {
        dir: dir.to_path_buf(),
        matcher,
    })
}

/// Collects directories (relative) holding a `.sourceignore`, without following symlinks and
/// without descending into `.git`.
fn find_sourceignore_files(
    root: &Path,
    relative: &Path,
    found: &mut Vec<PathBuf>,
) -> Result<(), IgnoreError> {
    let dir = root.join(relative);
    let read_error = |source| IgnoreError::Read {
        path: dir.clone(),
        source,
    };
    for entry in std::fs::read_dir(&dir).map_err(read_error)? {
        let entry = entry.map_err(read_error)?;
        let kind = entry.file_type().map_err(read_error)?;
        let name = entry.file_name();
        if kind.is_dir() && name != ".git" {
            find_sourceignore_files(root, &relative.join(&name), found)?;
        } else if kind.is_file() && name == SOURCEIGNORE_FILE {
            found.push(relative.to_path_buf());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (path, contents) in files {
            let full = dir.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, contents).unwrap();
        }
        dir
    }

    #[test]
    fn defaults_exclude_vcs_ci_and_binaries() {
        let dir = tree(&[]);
        let rules = IgnoreRules::load(dir.path(), None).unwrap();
        assert!(rules.is_excluded(Path::new(".git"), true));
        assert!(rules.is_excluded(Path::new("sub/.git"), false));
        assert!(rules.is_excluded(Path::new(".github"), true));
        assert!(rules.is_excluded(Path::new("docs/logo.png"), false));
        assert!(rules.is_excluded(Path::new("a/b/release.tar.gz"), false));
        assert!(rules.is_excluded(Path::new(".sops.yaml"), false));
        assert!(!rules.is_excluded(Path::new("deploy/app.yaml"), false));
    }

    #[test]
    fn spec_ignore_replaces_defaults_but_not_vcs() {
        let dir = tree(&[]);
        let rules = IgnoreRules::load(dir.path(), Some("*.md\n")).unwrap();
        assert!(!rules.is_excluded(Path::new("logo.png"), false));
        assert!(rules.is_excluded(Path::new("README.md"), false));
        assert!(rules.is_excluded(Path::new(".git"), true));
    }

    #[test]
    fn sourceignore_is_scoped_to_its_directory() {
        let dir = tree(&[
            ("apps/.sourceignore", "secret.yaml\n/local-only/\n"),
            ("apps/secret.yaml", ""),
            ("infra/secret.yaml", ""),
        ]);
        let rules = IgnoreRules::load(dir.path(), None).unwrap();
        assert!(rules.is_excluded(Path::new("apps/secret.yaml"), false));
        assert!(rules.is_excluded(Path::new("apps/x/secret.yaml"), false));
        assert!(!rules.is_excluded(Path::new("infra/secret.yaml"), false));
        assert!(rules.is_excluded(Path::new("apps/local-only"), true));
        assert!(!rules.is_excluded(Path::new("local-only"), true));
    }

    #[test]
    fn later_layers_can_reinclude() {
        let dir = tree(&[(".sourceignore", "!keep.png\n")]);
        let rules = IgnoreRules::load(dir.path(), None).unwrap();
        assert!(!rules.is_excluded(Path::new("keep.png"), false));
        assert!(rules.is_excluded(Path::new("drop.png"), false));
        let spec = IgnoreRules::load(dir.path(), Some("keep.png")).unwrap();
        assert!(spec.is_excluded(Path::new("keep.png"), false));
    }
}
