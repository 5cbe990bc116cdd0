//! The bootstrap's working copy: one branch of the remote repository checked out in a scratch
//! directory (or started from nothing when the branch does not exist yet), changed, committed
//! only when the files differ, and pushed. The Git work is `eddy-git`'s; this adds the
//! bootstrap's files and its advice on what to fix.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail};
use eddy_git::{
    Author, CloneRequest, CommitRequest, GitAuth, GitError, GitReference, PushRequest, PushTarget,
    WorkTree,
};

use super::plan::Credentials;

/// How long one clone or push may take.
const GIT_TIMEOUT: Duration = Duration::from_secs(120);

pub struct WorkingCopy {
    tree: WorkTree,
    url: String,
    branch: String,
    credentials: Credentials,
}

impl WorkingCopy {
    /// Connects to `url` (this is where a wrong URL or wrong credentials show up), then fetches
    /// `branch` if the remote has it.
    pub fn clone_branch(
        url: &str,
        branch: &str,
        auth: GitAuth,
        credentials: &Credentials,
    ) -> anyhow::Result<Self> {
        let tree = WorkTree::clone(&CloneRequest {
            url: url.to_string(),
            auth,
            reference: GitReference::Branch(branch.to_string()),
            create_missing_branch: true,
            timeout: GIT_TIMEOUT,
        })
        .map_err(|error| anyhow::anyhow!("cannot reach {url}: {}", explain(&error, credentials)))?;
        Ok(Self {
            tree,
            url: url.to_string(),
            branch: branch.to_string(),
            credentials: credentials.clone(),
        })
    }

    /// Whether the remote had the branch already.
    pub fn branch_existed(&self) -> bool {
        self.tree.fetched_commit().is_some()
    }

    /// The checked-out files.
    pub fn root(&self) -> anyhow::Result<&Path> {
        Ok(self.tree.root()?)
    }

    /// Writes `contents` to `relative` (creating directories), replacing what was there.
    pub fn write(&self, relative: &str, contents: &str) -> anyhow::Result<()> {
        let path = self.root()?.join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("cannot create {}", parent.display()))?;
        }
        std::fs::write(&path, contents).with_context(|| format!("cannot write {relative}"))
    }

    /// The contents of `relative` in the checkout, if it exists.
    pub fn read(&self, relative: &str) -> anyhow::Result<Option<String>> {
        let path = self.root()?.join(relative);
        match std::fs::read_to_string(&path) {
            Ok(text) => Ok(Some(text)),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(error) => Err(error).with_context(|| format!("cannot read {relative}")),
        }
    }

    /// Stages `relative` and commits when the tree differs from the branch's head; returns the
    /// new commit, or `None` when there was nothing to commit.
    pub fn commit_if_changed(
        &self,
        relative: &str,
        message: &str,
        author: &Author,
    ) -> anyhow::Result<Option<String>> {
        Ok(self.tree.commit_changes(&CommitRequest {
            author: author.clone(),
            message: message.to_string(),
            paths: vec![relative.to_string()],
            signing: None,
        })?)
    }

    /// The commit the branch points at locally.
    pub fn head(&self) -> anyhow::Result<Option<String>> {
        Ok(self.tree.head_commit()?)
    }

    /// Pushes the branch when it moved since the fetch; returns whether anything was pushed.
    pub fn push_if_ahead(&self) -> anyhow::Result<bool> {
        if !self.tree.has_unpushed_commits()? {
            return Ok(false);
        }
        let pushed = self.tree.push(&PushRequest {
            target: PushTarget::Branch(self.branch.clone()),
            options: Vec::new(),
        });
        match pushed {
            Ok(()) => Ok(true),
            Err(GitError::NonFastForward {
                reference, detail, ..
            }) => bail!(
                "the Git server refused the push ({reference}: {detail}); the branch moved meanwhile, run the bootstrap again"
            ),
            Err(GitError::PushRejected {
                reference, reason, ..
            }) => bail!("the Git server refused the push ({reference}: {reason})"),
            Err(error) => bail!(
                "cannot push {} to {}: {}",
                self.branch,
                self.url,
                explain(&error, &self.credentials)
            ),
        }
    }
}

/// A Git error with what to change on the command line to get past it.
fn explain(error: &GitError, credentials: &Credentials) -> String {
    match error {
        GitError::AuthenticationFailed { detail, .. } => match credentials {
            Credentials::Basic { .. } => format!(
                "the Git server rejected the credentials; check --username and --password ({detail})"
            ),
            Credentials::SshKey { .. } => format!(
                "the Git server rejected the credentials: it does not accept the key from \
                 --private-key-file, or --password is not the key's passphrase ({detail})"
            ),
        },
        GitError::CertificateUntrusted { detail, .. } => format!(
            "the Git server's certificate is not trusted ({detail}); pass the CA with --ca-file"
        ),
        GitError::RepositoryNotFound { detail, .. } => {
            format!("there is no repository at this URL ({detail}); check --url")
        }
        other => other.to_string(),
    }
}
