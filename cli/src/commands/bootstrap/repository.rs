//! The bootstrap's working copy: one branch of the remote repository checked out in a scratch
//! directory (or started from nothing when the branch does not exist yet), changed, committed
//! only when the files differ, and pushed.

use std::path::Path;

use anyhow::{Context, bail};
use git2::{Direction, IndexAddOption, Oid, PushOptions, Repository, Signature};

use super::transport::Transport;

const REMOTE: &str = "origin";

pub struct WorkingCopy {
    // Kept so the scratch directory lives as long as the repository that points into it.
    _dir: tempfile::TempDir,
    repo: Repository,
    branch: String,
    /// The branch's commit on the remote when we fetched it (`None`: the branch is new).
    fetched: Option<Oid>,
}

/// The author of the bootstrap's commits.
pub struct Author {
    pub name: String,
    pub email: String,
}

impl WorkingCopy {
    /// Connects to `url` (this is where a wrong URL or wrong credentials show up), then fetches
    /// `branch` if the remote has it.
    pub fn clone_branch(url: &str, branch: &str, transport: &Transport) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir().context("cannot create a scratch directory")?;
        let repo = Repository::init(dir.path()).context("cannot create a scratch repository")?;
        let mut remote = repo
            .remote(REMOTE, url)
            .with_context(|| format!("{url:?} is not a Git URL"))?;
        let branch_ref = format!("refs/heads/{branch}");
        let remote_head = {
            let connection = remote
                .connect_auth(Direction::Fetch, Some(transport.callbacks()), None)
                .map_err(|error| {
                    anyhow::anyhow!("cannot reach {url}: {}", transport.explain(&error))
                })?;
            let heads = connection
                .list()
                .map_err(|error| anyhow::anyhow!("cannot list the branches of {url}: {error}"))?;
            heads
                .iter()
                .find(|head| head.name() == branch_ref)
                .map(|head| head.oid())
        };
        let fetched = match remote_head {
            Some(oid) => {
                let mut options = git2::FetchOptions::new();
                options.remote_callbacks(transport.callbacks());
                let refspec = format!("+{branch_ref}:refs/remotes/{REMOTE}/{branch}");
                remote
                    .fetch(&[refspec.as_str()], Some(&mut options), None)
                    .map_err(|error| {
                        anyhow::anyhow!(
                            "cannot fetch {branch} from {url}: {}",
                            transport.explain(&error)
                        )
                    })?;
                let commit = repo
                    .find_commit(oid)
                    .with_context(|| format!("the fetch of {branch} did not bring commit {oid}"))?;
                repo.branch(branch, &commit, true)
                    .with_context(|| format!("cannot create the local branch {branch}"))?;
                Some(oid)
            }
            None => None,
        };
        drop(remote);
        // An unborn HEAD on the branch makes the first commit start it.
        repo.set_head(&branch_ref)
            .with_context(|| format!("cannot switch to {branch}"))?;
        if fetched.is_some() {
            repo.checkout_head(Some(git2::build::CheckoutBuilder::new().force()))
                .with_context(|| format!("cannot check out {branch}"))?;
        }
        Ok(Self {
            _dir: dir,
            repo,
            branch: branch.to_string(),
            fetched,
        })
    }

    /// Whether the remote had the branch already.
    pub fn branch_existed(&self) -> bool {
        self.fetched.is_some()
    }

    /// The checked-out files.
    pub fn root(&self) -> anyhow::Result<&Path> {
        self.repo
            .workdir()
            .context("the scratch repository has no working directory")
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
    ) -> anyhow::Result<Option<Oid>> {
        let mut index = self.repo.index().context("cannot open the index")?;
        index
            .add_all([relative], IndexAddOption::DEFAULT, None)
            .with_context(|| format!("cannot stage {relative}"))?;
        index.write().context("cannot write the index")?;
        let tree_id = index.write_tree().context("cannot write the tree")?;
        let parent = self.head_commit()?;
        if parent
            .as_ref()
            .is_some_and(|commit| commit.tree_id() == tree_id)
        {
            return Ok(None);
        }
        let tree = self.repo.find_tree(tree_id)?;
        let signature = Signature::now(&author.name, &author.email)
            .context("the commit author's name or email is not usable")?;
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        let oid = self
            .repo
            .commit(
                Some("HEAD"),
                &signature,
                &signature,
                message,
                &tree,
                &parents,
            )
            .context("cannot commit")?;
        Ok(Some(oid))
    }

    /// The commit the branch points at locally.
    pub fn head(&self) -> anyhow::Result<Option<Oid>> {
        Ok(self.head_commit()?.map(|commit| commit.id()))
    }

    fn head_commit(&self) -> anyhow::Result<Option<git2::Commit<'_>>> {
        match self.repo.head() {
            Ok(head) => Ok(Some(head.peel_to_commit().context("HEAD is not a commit")?)),
            Err(error) if error.code() == git2::ErrorCode::UnbornBranch => Ok(None),
            Err(error) => Err(error).context("cannot read HEAD"),
        }
    }

    /// Pushes the branch when it moved since the fetch; returns whether anything was pushed.
    pub fn push_if_ahead(&self, transport: &Transport) -> anyhow::Result<bool> {
        let head = self.head()?;
        if head.is_none() || head == self.fetched {
            return Ok(false);
        }
        let mut remote = self.repo.find_remote(REMOTE)?;
        let rejection = std::cell::RefCell::new(None);
        let mut callbacks = transport.callbacks();
        callbacks.push_update_reference(|reference, status| {
            if let Some(status) = status {
                *rejection.borrow_mut() = Some(format!("{reference}: {status}"));
            }
            Ok(())
        });
        let mut options = PushOptions::new();
        options.remote_callbacks(callbacks);
        let refspec = format!("refs/heads/{0}:refs/heads/{0}", self.branch);
        remote
            .push(&[refspec.as_str()], Some(&mut options))
            .map_err(|error| {
                anyhow::anyhow!(
                    "cannot push {} to {}: {}",
                    self.branch,
                    remote.url().unwrap_or("the remote"),
                    transport.explain(&error)
                )
            })?;
        drop(options);
        if let Some(reason) = rejection.into_inner() {
            bail!(
                "the Git server refused the push ({reason}); if the branch moved meanwhile, run the bootstrap again"
            );
        }
        Ok(true)
    }
}
