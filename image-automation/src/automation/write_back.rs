//! The Git side of one run, blocking: clone the checkout reference, apply the setters, commit
//! with the rendered message (signed when a key is given) and push.
//!
//! Pushing to the checkout branch never forces: when another writer pushed in between (the
//! remote answers non-fast-forward) the work is thrown away, the branch cloned again and the
//! setters applied again, up to [`PUSH_ATTEMPTS`] times. A separate `push.branch` is created from
//! the checkout and force-pushed, as Flux does; when that branch already exists and the setters
//! change nothing on it, it is up to date and nothing is pushed (so an unmerged update branch is
//! not rewritten at every interval).

use std::collections::BTreeMap;

use eddy_api::image::imageupdateautomation::SetterHold;
use eddy_git::{
    Author, CloneRequest, CommitRequest, GitError, GitReference, PushRequest, PushTarget, WorkTree,
    format_revision,
};

use super::{
    files::{FileChanges, UpdateError, update_files},
    setters::PolicyImages,
    source::{GitTarget, PushPlan},
    template::{MessageInput, TemplateError, render},
};

/// How often a push that lost a race is redone from a fresh clone.
pub const PUSH_ATTEMPTS: usize = 4;

/// One run's inputs.
#[derive(Debug, Clone)]
pub struct WriteRequest {
    pub target: GitTarget,
    pub update_path: String,
    pub images: PolicyImages,
    pub author: Author,
    pub message_template: Option<String>,
    pub template_values: BTreeMap<String, String>,
    pub name: String,
    pub namespace: String,
    /// The values the automation last wrote, when manual changes are held.
    pub hold_pushed_values: Option<BTreeMap<String, String>>,
}

/// What a run did.
#[derive(Debug, Clone, PartialEq)]
pub enum WriteOutcome {
    /// The setters changed nothing; `revision` is the checkout's.
    Unchanged {
        revision: String,
        holds: Vec<SetterHold>,
    },
    Pushed(Pushed),
}

/// A pushed commit.
#[derive(Debug, Clone, PartialEq)]
pub struct Pushed {
    pub commit: String,
    /// The checkout the commit was made on top of.
    pub revision: String,
    pub branch: String,
    pub refspec: Option<String>,
    pub message: String,
    pub changes: FileChanges,
    pub holds: Vec<SetterHold>,
}

/// Why a run failed.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error(transparent)]
    Git(#[from] GitError),
    #[error(transparent)]
    Update(#[from] UpdateError),
    #[error(transparent)]
    Template(#[from] TemplateError),
}

/// Runs clone → update → commit → push, retrying lost push races. Blocking.
pub fn write_back(request: &WriteRequest) -> Result<WriteOutcome, WriteError> {
    if request.target.push.separate_branch && push_branch_is_current(request)? {
        let work = clone(request, &request.target.checkout)?;
        return Ok(WriteOutcome::Unchanged {
            revision: revision(request, &work),
            holds: Vec::new(),
        });
    }
    let mut attempt = 1;
    loop {
        match attempt_once(request) {
            Err(WriteError::Git(GitError::NonFastForward { .. })) if attempt < PUSH_ATTEMPTS => {
                attempt += 1;
            }
            result => return result,
        }
    }
}

fn attempt_once(request: &WriteRequest) -> Result<WriteOutcome, WriteError> {
    let work = clone(request, &request.target.checkout)?;
    let revision = revision(request, &work);
    let update = update_files(
        work.root()?,
        &request.update_path,
        &request.images,
        request.hold_pushed_values.as_ref(),
    )?;
    let (changes, holds) = (update.changes, update.holds);
    if changes.is_empty() {
        return Ok(WriteOutcome::Unchanged { revision, holds });
    }
    let message = render(
        request.message_template.as_deref(),
        &MessageInput {
            name: &request.name,
            namespace: &request.namespace,
            changes: &changes,
            values: &request.template_values,
        },
    )?;
    let commit = work.commit_changes(&CommitRequest {
        author: request.author.clone(),
        message: message.clone(),
        paths: Vec::new(),
        signing: request.target.signing.clone(),
    })?;
    let Some(commit) = commit else {
        return Ok(WriteOutcome::Unchanged { revision, holds });
    };
    let push = &request.target.push;
    let target = if push.separate_branch {
        PushTarget::Refspec(format!("+HEAD:refs/heads/{}", push.branch))
    } else {
        PushTarget::Branch(push.branch.clone())
    };
    work.push(&PushRequest {
        target,
        options: push.options.clone(),
    })?;
    if let Some(refspec) = &push.refspec {
        let checkout_branch = request.target.checkout_branch.as_deref();
        work.push(&PushRequest {
            target: PushTarget::Refspec(local_refspec(refspec, push, checkout_branch)),
            options: push.options.clone(),
        })?;
    }
    Ok(WriteOutcome::Pushed(Pushed {
        commit,
        revision,
        branch: push.branch.clone(),
        refspec: push.refspec.clone(),
        message,
        changes,
        holds,
    }))
}

/// The refspec with its source named as in this work tree. Flux commits on a local branch
/// named after `push.branch`, so a refspec's source `refs/heads/<push.branch>` is the new commit
/// and `refs/heads/<checkout branch>` the checkout as fetched. Eddy commits on the checkout
/// branch itself, so with a separate push branch the first is `HEAD` and the second the
/// remote-tracking ref of the clone.
fn local_refspec(refspec: &str, push: &PushPlan, checkout_branch: Option<&str>) -> String {
    let (force, rest) = match refspec.strip_prefix('+') {
        Some(rest) => ("+", rest),
        None => ("", refspec),
    };
    let Some((source, destination)) = rest.split_once(':') else {
        return refspec.to_owned();
    };
    let names = |branch: &str| [branch.to_owned(), format!("refs/heads/{branch}")];
    let source = if !push.separate_branch {
        source.to_owned()
    } else if names(&push.branch).contains(&source.to_owned()) {
        "HEAD".to_owned()
    } else if let Some(checkout) = checkout_branch
        && names(checkout).contains(&source.to_owned())
    {
        format!("refs/remotes/origin/{checkout}")
    } else {
        source.to_owned()
    };
    format!("{force}{source}:{destination}")
}

/// Whether the separate push branch exists and the setters change nothing on it.
fn push_branch_is_current(request: &WriteRequest) -> Result<bool, WriteError> {
    let branch = GitReference::Branch(request.target.push.branch.clone());
    let work = match clone(request, &branch) {
        Ok(work) => work,
        Err(GitError::RefNotFound { .. }) => return Ok(false),
        Err(error) => return Err(error.into()),
    };
    let update = update_files(
        work.root()?,
        &request.update_path,
        &request.images,
        request.hold_pushed_values.as_ref(),
    )?;
    Ok(update.changes.is_empty())
}

fn clone(request: &WriteRequest, reference: &GitReference) -> Result<WorkTree, GitError> {
    WorkTree::clone(&CloneRequest {
        url: request.target.url.clone(),
        auth: request.target.auth.clone(),
        reference: reference.clone(),
        create_missing_branch: false,
        timeout: request.target.timeout,
    })
}

fn revision(request: &WriteRequest, work: &WorkTree) -> String {
    let commit = work.fetched_commit().unwrap_or_default();
    let pointer = match &request.target.checkout {
        GitReference::Branch(branch) => Some(branch.as_str()),
        GitReference::Tag(tag) => Some(tag.as_str()),
        GitReference::Name(name) => Some(name.as_str()),
        GitReference::Semver(_) | GitReference::Commit { .. } => None,
    };
    format_revision(pointer, &commit)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(branch: &str, separate_branch: bool) -> PushPlan {
        PushPlan {
            branch: branch.into(),
            separate_branch,
            refspec: None,
            options: Vec::new(),
        }
    }

    #[test]
    fn refspec_sources_name_what_flux_would_have_there() {
        let separate = plan("auto", true);
        assert_eq!(
            local_refspec("refs/heads/auto:refs/heads/main", &separate, Some("main")),
            "HEAD:refs/heads/main"
        );
        assert_eq!(
            local_refspec(
                "+refs/heads/main:refs/heads/mirror",
                &separate,
                Some("main")
            ),
            "+refs/remotes/origin/main:refs/heads/mirror"
        );
        let same = plan("main", false);
        assert_eq!(
            local_refspec("refs/heads/main:refs/heads/mirror", &same, Some("main")),
            "refs/heads/main:refs/heads/mirror"
        );
        assert_eq!(local_refspec("HEAD", &separate, Some("main")), "HEAD");
    }
}
