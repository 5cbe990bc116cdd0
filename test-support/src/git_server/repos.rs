//! Bare repositories with a working clone to commit and push from, driven by the `git` CLI.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

/// Runs `git` in `dir` with a fixed identity and no user or system config, returning stdout.
pub fn git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "Eddy Test")
        .env("GIT_AUTHOR_EMAIL", "test@eddy.invalid")
        .env("GIT_COMMITTER_NAME", "Eddy Test")
        .env("GIT_COMMITTER_EMAIL", "test@eddy.invalid")
        // Local-path submodule URLs are refused by default since git 2.38.1.
        .env("GIT_ALLOW_PROTOCOL", "file:http:https:ssh")
        .output()
        .with_context(|| format!("running git {args:?}"))?;
    if !output.status.success() {
        bail!(
            "git {args:?} in {} failed: {}",
            dir.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}

/// A directory of bare repositories (`<name>.git`), the project root the servers export.
pub struct RepoRoot {
    dir: tempfile::TempDir,
}

impl RepoRoot {
    pub fn new() -> anyhow::Result<Self> {
        Ok(RepoRoot {
            dir: tempfile::tempdir().context("creating the repository root")?,
        })
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Creates the bare repository `<name>.git` and a working clone of it with `master` as the
    /// initial branch.
    pub fn create(&self, name: &str) -> anyhow::Result<TestRepo> {
        let bare = self.path().join(format!("{name}.git"));
        let work = self.path().join(format!("work-{name}"));
        std::fs::create_dir_all(&bare)?;
        std::fs::create_dir_all(&work)?;
        git(&bare, &["init", "--bare", "--initial-branch=master"])?;
        // Let clients fetch any commit by hash, as hosted forges do.
        git(&bare, &["config", "uploadpack.allowAnySHA1InWant", "true"])?;
        git(&work, &["init", "--initial-branch=master"])?;
        git(
            &work,
            &[
                "remote",
                "add",
                "origin",
                bare.to_str().context("non-UTF-8 path")?,
            ],
        )?;
        Ok(TestRepo { bare, work })
    }
}

/// A bare repository and the working clone used to change it.
pub struct TestRepo {
    /// `<root>/<name>.git`.
    pub bare: PathBuf,
    /// The working clone.
    pub work: PathBuf,
}

impl TestRepo {
    /// Runs `git` in the working clone.
    pub fn git(&self, args: &[&str]) -> anyhow::Result<String> {
        git(&self.work, args)
    }

    /// Writes `contents` to `path` (relative to the working clone), creating parent dirs.
    pub fn write(&self, path: &str, contents: impl AsRef<[u8]>) -> anyhow::Result<()> {
        let full = self.work.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&full, contents).with_context(|| format!("writing {}", full.display()))
    }

    /// Stages everything and commits; returns the commit hash.
    pub fn commit_all(&self, message: &str) -> anyhow::Result<String> {
        self.git(&["add", "-A"])?;
        self.git(&["commit", "-q", "--allow-empty", "-m", message])?;
        self.head()
    }

    /// The hash of the working clone's HEAD.
    pub fn head(&self) -> anyhow::Result<String> {
        self.git(&["rev-parse", "HEAD"])
    }

    /// Pushes the current branch (or any refspec) to the bare repository.
    pub fn push(&self, refspec: &str) -> anyhow::Result<()> {
        self.git(&["push", "-q", "-f", "origin", refspec]).map(drop)
    }

    /// Creates a branch at HEAD and switches to it.
    pub fn switch_new_branch(&self, branch: &str) -> anyhow::Result<()> {
        self.git(&["switch", "-q", "-c", branch]).map(drop)
    }

    /// Switches to an existing branch.
    pub fn switch(&self, branch: &str) -> anyhow::Result<()> {
        self.git(&["switch", "-q", branch]).map(drop)
    }

    /// Tags HEAD (annotated when `annotated`) and pushes the tag.
    pub fn tag(&self, name: &str, annotated: bool) -> anyhow::Result<()> {
        if annotated {
            self.git(&["tag", "-a", name, "-m", &format!("release {name}")])?;
        } else {
            self.git(&["tag", name])?;
        }
        self.push(&format!("refs/tags/{name}"))
    }

    /// Adds `other` as a submodule at `path`, recorded with `url` in `.gitmodules`, and commits.
    pub fn add_submodule(&self, other: &TestRepo, path: &str, url: &str) -> anyhow::Result<String> {
        let source = other.bare.to_str().context("non-UTF-8 path")?;
        self.git(&[
            "-c",
            "protocol.file.allow=always",
            "submodule",
            "add",
            "-q",
            source,
            path,
        ])?;
        self.git(&[
            "config",
            "-f",
            ".gitmodules",
            &format!("submodule.{path}.url"),
            url,
        ])?;
        self.commit_all(&format!("add submodule {path}"))
    }
}
