//! A clone to change and push: one ref checked out in a scratch directory, with its history, on
//! a local branch when the reference is a branch (detached otherwise).
//!
//! Unlike [`crate::fetch`], which downloads only the commit it checks out, a work tree fetches
//! the whole history of its ref: libgit2 builds the pack of a push by walking from the new
//! commits down to what the remote has, and that walk needs the parents a shallow clone lacks.

use std::path::Path;
use std::time::Duration;

use git2::{Oid, Repository};

use crate::auth::GitAuth;
use crate::error::GitError;
use crate::fetch::{
    TARGET_REF, fetch_commit, fetch_refspecs, init_repository, list_refs_with, peel_to_commit,
    resolve,
};
use crate::reference::GitReference;
use crate::session::{Deadline, Session};
use crate::url::RepoUrl;

/// The remote a work tree fetches from and pushes to.
pub(crate) const REMOTE: &str = "origin";

/// What to clone.
#[derive(Debug, Clone)]
pub struct CloneRequest {
    /// Repository URL (`http`, `https` or `ssh` scheme).
    pub url: String,
    pub auth: GitAuth,
    /// Where the work starts: a branch (checked out as a local branch of the same name), or a
    /// tag, semver range, ref name or commit (checked out detached).
    pub reference: GitReference,
    /// For a branch the remote lacks: start it empty (its first commit has no parent) instead
    /// of failing with [`GitError::RefNotFound`]. `eddy bootstrap` does this on a new repository.
    pub create_missing_branch: bool,
    /// Deadline of each network operation: the clone, and later each push.
    pub timeout: Duration,
}

/// A checked-out clone that can be changed, committed ([`WorkTree::commit_changes`]) and pushed
/// ([`WorkTree::push`]). The scratch directory is removed when this is dropped.
pub struct WorkTree {
    // Kept so the scratch directory lives as long as the repository that points into it.
    _dir: tempfile::TempDir,
    pub(crate) repo: Repository,
    pub(crate) url: RepoUrl,
    pub(crate) auth: GitAuth,
    pub(crate) timeout: Duration,
    /// The remote's commit the work started from (`None`: a new, empty branch).
    fetched: Option<Oid>,
}

impl WorkTree {
    /// Connects (where a wrong URL or wrong credentials show up), fetches the reference with its
    /// history and checks it out. Blocking.
    pub fn clone(request: &CloneRequest) -> Result<Self, GitError> {
        let url = RepoUrl::parse(&request.url)?;
        let session = Session::new(
            url.clone(),
            request.auth.clone(),
            Deadline::after(request.timeout),
            None,
            None,
        )?;
        let dir = tempfile::tempdir()
            .map_err(|err| GitError::operation("creating a scratch directory", err))?;
        let repo = init_repository(dir.path())?;
        let fetched = match &request.reference {
            GitReference::Branch(branch) => {
                clone_branch(&session, &repo, branch, request.create_missing_branch)?
            }
            GitReference::Commit { commit, branch } => {
                let (_, oid) = fetch_commit(&session, &repo, commit, branch.as_deref())?;
                check_out_detached(&session, &repo, oid)?;
                Some(oid)
            }
            reference => {
                let refs = list_refs_with(&session, &repo)?;
                let (_, remote_ref, _) = resolve(&session, reference, &refs)?;
                let refspec = format!("+{remote_ref}:{TARGET_REF}");
                fetch_refspecs(&session, &repo, &[refspec.as_str()], false)?;
                let oid = peel_to_commit(&session, &repo, TARGET_REF)?;
                check_out_detached(&session, &repo, oid)?;
                Some(oid)
            }
        };
        Ok(WorkTree {
            _dir: dir,
            repo,
            url,
            auth: request.auth.clone(),
            timeout: request.timeout,
            fetched,
        })
    }

    /// The checked-out files.
    pub fn root(&self) -> Result<&Path, GitError> {
        self.repo
            .workdir()
            .ok_or_else(|| GitError::operation("opening the work tree", "the clone is bare"))
    }

    /// The remote's commit the work started from (`None`: the branch was started empty).
    pub fn fetched_commit(&self) -> Option<String> {
        self.fetched.map(|oid| oid.to_string())
    }

    /// The commit checked out now (`None` on an empty branch before its first commit).
    pub fn head_commit(&self) -> Result<Option<String>, GitError> {
        Ok(self.head()?.map(|commit| commit.id().to_string()))
    }

    /// Whether there are local commits the remote has not seen.
    pub fn has_unpushed_commits(&self) -> Result<bool, GitError> {
        let head = self.head()?.map(|commit| commit.id());
        Ok(head.is_some() && head != self.fetched)
    }

    pub(crate) fn head(&self) -> Result<Option<git2::Commit<'_>>, GitError> {
        match self.repo.head() {
            Ok(head) => head
                .peel_to_commit()
                .map(Some)
                .map_err(|err| GitError::operation("reading HEAD", err.message())),
            Err(err) if err.code() == git2::ErrorCode::UnbornBranch => Ok(None),
            Err(err) => Err(GitError::operation("reading HEAD", err.message())),
        }
    }

    /// A fresh session for one network operation of this work tree.
    pub(crate) fn session(&self) -> Result<Session, GitError> {
        Session::new(
            self.url.clone(),
            self.auth.clone(),
            Deadline::after(self.timeout),
            None,
            None,
        )
    }
}

/// Fetches `branch` onto a local branch of the same name and checks it out; starts it empty when
/// the remote lacks it and that is allowed. Returns the remote's commit.
fn clone_branch(
    session: &Session,
    repo: &Repository,
    branch: &str,
    create_missing: bool,
) -> Result<Option<Oid>, GitError> {
    let branch_ref = format!("refs/heads/{branch}");
    let refs = list_refs_with(session, repo)?;
    let remote_head = refs.iter().find(|remote| remote.name == branch_ref);
    let fetched = match remote_head {
        Some(_) => {
            let refspec = format!("+{branch_ref}:refs/remotes/{REMOTE}/{branch}");
            fetch_refspecs(session, repo, &[refspec.as_str()], false)?;
            let oid = peel_to_commit(session, repo, &format!("refs/remotes/{REMOTE}/{branch}"))?;
            let commit = repo
                .find_commit(oid)
                .map_err(|err| session.map_error("reading the fetched commit of", &err))?;
            repo.branch(branch, &commit, true)
                .map_err(|err| session.map_error("creating the local branch for", &err))?;
            Some(oid)
        }
        None if create_missing => None,
        None => {
            return Err(GitError::RefNotFound {
                reference: format!("branch '{branch}'"),
                url: session.url.redacted().to_string(),
            });
        }
    };
    // On a branch the remote lacks, HEAD stays unborn and the first commit starts the branch.
    repo.set_head(&branch_ref)
        .map_err(|err| session.map_error("switching to the branch of", &err))?;
    if fetched.is_some() {
        repo.checkout_head(Some(git2::build::CheckoutBuilder::new().force()))
            .map_err(|err| session.map_error("checking out the branch of", &err))?;
    }
    Ok(fetched)
}

fn check_out_detached(session: &Session, repo: &Repository, oid: Oid) -> Result<(), GitError> {
    let commit = repo
        .find_commit(oid)
        .map_err(|err| session.map_error("reading the fetched commit of", &err))?;
    crate::fetch::checkout(session, repo, &commit, &[])
}
