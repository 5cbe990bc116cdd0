//! The demo's Git repository: `examples/config-repo` plus the demo's cluster directory (see
//! [`super::manifests`]) committed to a bare repository that a real `git http-backend` serves
//! with basic auth, plus a working copy the user can edit and push from.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, bail};
use eddy_test_support::git_server::{GitHttpServer, HttpServerOptions};

use crate::workspace;

pub struct DemoRepository {
    server: GitHttpServer,
    working_copy: PathBuf,
}

impl DemoRepository {
    /// Recreates the repository from `examples/config-repo` (each demo starts from the tutorial's
    /// state) with the demo's cluster directory, whose Provider posts to `webhook_url`, and
    /// starts serving it.
    pub async fn create(demo_dir: &Path, webhook_url: &str) -> anyhow::Result<Self> {
        let bare_root = demo_dir.join("git");
        let bare = bare_root.join("config-repo.git");
        let working_copy = demo_dir.join("config-repo");
        for dir in [&bare, &working_copy] {
            if dir.exists() {
                std::fs::remove_dir_all(dir)
                    .with_context(|| format!("cannot remove {}", dir.display()))?;
            }
        }
        std::fs::create_dir_all(&bare_root)?;
        git(
            &bare_root,
            &[
                "init",
                "--quiet",
                "--bare",
                "--initial-branch=main",
                "config-repo.git",
            ],
        )?;
        git(
            demo_dir,
            &[
                "clone",
                "--quiet",
                bare.to_str().context("non-UTF-8 path")?,
                "config-repo",
            ],
        )?;
        copy_tree(
            &workspace::root().join("examples/config-repo"),
            &working_copy,
        )?;
        for (path, contents) in super::manifests::repository_files(webhook_url) {
            let target = working_copy.join(&path);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&target, contents)
                .with_context(|| format!("cannot write {}", target.display()))?;
        }
        git(&working_copy, &["checkout", "--quiet", "-B", "main"])?;
        git(&working_copy, &["add", "--all"])?;
        git(
            &working_copy,
            &[
                "-c",
                "user.name=Eddy demo",
                "-c",
                "user.email=demo@eddy.invalid",
                "commit",
                "--quiet",
                "-m",
                "Add myapp from the tutorial, a staging overlay and the demo cluster",
            ],
        )?;
        git(&working_copy, &["push", "--quiet", "origin", "main"])?;
        // Pushes from the working copy carry an identity, so later `git commit`s there just work.
        git(&working_copy, &["config", "user.name", "Eddy demo"])?;
        git(
            &working_copy,
            &["config", "user.email", "demo@eddy.invalid"],
        )?;
        let options = HttpServerOptions {
            basic_auth: Some((
                super::manifests::GIT_USERNAME.to_owned(),
                super::manifests::GIT_PASSWORD.to_owned(),
            )),
            ..HttpServerOptions::default()
        };
        let server = GitHttpServer::start(&bare_root, options).await?;
        Ok(Self {
            server,
            working_copy,
        })
    }

    pub fn url(&self) -> String {
        self.server.url("config-repo")
    }

    pub fn working_copy(&self) -> &Path {
        &self.working_copy
    }
}

fn git(dir: &Path, args: &[&str]) -> anyhow::Result<()> {
    let output = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .with_context(|| format!("cannot run git {}", args.join(" ")))?;
    if !output.status.success() {
        bail!(
            "git {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(())
}

fn copy_tree(from: &Path, to: &Path) -> anyhow::Result<()> {
    for entry in
        std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))?
    {
        let entry = entry?;
        let target = to.join(entry.file_name());
        if entry.file_type()?.is_dir() {
            std::fs::create_dir_all(&target)?;
            copy_tree(&entry.path(), &target)?;
        } else {
            std::fs::copy(entry.path(), &target)?;
        }
    }
    Ok(())
}
