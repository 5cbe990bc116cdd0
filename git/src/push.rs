//! Pushing a work tree's commits, telling a remote that moved on (non-fast-forward) from other
//! refusals so the caller can clone again and retry.

use std::cell::RefCell;

use crate::error::GitError;
use crate::work_tree::{REMOTE, WorkTree};

/// Local ref that holds a detached HEAD while it is pushed.
const PUSH_SOURCE_REF: &str = "refs/eddy/push-source";

/// Where a push goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PushTarget {
    /// The checked-out commit to this branch of the remote.
    Branch(String),
    /// A refspec as Flux's `spec.git.push.refspec` writes it (`refs/heads/main:refs/heads/auto`);
    /// its source names a local ref, `HEAD` included.
    Refspec(String),
}

/// One push.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushRequest {
    pub target: PushTarget,
    /// Server push options (`git push -o`), e.g. for merge requests on GitLab.
    pub options: Vec<String>,
}

impl WorkTree {
    /// Pushes without force: a remote branch that moved on since the clone fails with
    /// [`GitError::NonFastForward`], any other refusal with [`GitError::PushRejected`].
    /// Blocking.
    pub fn push(&self, request: &PushRequest) -> Result<(), GitError> {
        let refspec = self.refspec(&request.target)?;
        let session = self.session()?;
        session.check_deadline()?;
        let url = session.url.redacted().to_string();
        let mut remote = self
            .repo
            .find_remote(REMOTE)
            .or_else(|_| self.repo.remote(REMOTE, session.transport_url()))
            .map_err(|err| session.map_error("configuring the remote", &err))?;
        let refusal = RefCell::new(None);
        let mut callbacks = session.callbacks();
        callbacks.push_update_reference(|reference, status| {
            if let Some(status) = status {
                refusal
                    .borrow_mut()
                    .get_or_insert((reference.to_string(), status.to_string()));
            }
            Ok(())
        });
        let server_options: Vec<&str> = request.options.iter().map(String::as_str).collect();
        let mut options = session.push_options(callbacks, &server_options);
        let destination = refspec
            .rsplit_once(':')
            .map_or(refspec.as_str(), |(_, destination)| destination)
            .to_string();
        let pushed = remote.push(&[refspec.as_str()], Some(&mut options));
        drop(options);
        if let Err(err) = pushed {
            // libgit2 refuses a non-fast-forward push itself when it knows the remote's tip.
            if err.code() == git2::ErrorCode::NotFastForward {
                return Err(GitError::NonFastForward {
                    reference: destination,
                    url,
                    detail: err.message().to_string(),
                });
            }
            return Err(session.map_error("pushing to", &err));
        }
        match refusal.into_inner() {
            None => Ok(()),
            Some((reference, status)) if is_non_fast_forward(&status) => {
                Err(GitError::NonFastForward {
                    reference,
                    url,
                    detail: status,
                })
            }
            Some((reference, status)) => Err(GitError::PushRejected {
                reference,
                url,
                reason: status,
            }),
        }
    }

    /// The refspec of a push; a branch target pushes HEAD's branch, or a detached HEAD through
    /// a scratch ref (libgit2 pushes refs, not commits).
    fn refspec(&self, target: &PushTarget) -> Result<String, GitError> {
        match target {
            PushTarget::Refspec(refspec) => Ok(refspec.clone()),
            PushTarget::Branch(branch) => {
                let failed =
                    |err: git2::Error| GitError::operation("preparing the push", err.message());
                let head = self.repo.head().map_err(failed)?;
                let source = if head.is_branch() {
                    head.name().unwrap_or(PUSH_SOURCE_REF).to_string()
                } else {
                    let oid = head.peel_to_commit().map_err(failed)?.id();
                    self.repo
                        .reference(PUSH_SOURCE_REF, oid, true, "push")
                        .map_err(failed)?;
                    PUSH_SOURCE_REF.to_string()
                };
                Ok(format!("{source}:refs/heads/{branch}"))
            }
        }
    }
}

/// Whether a server's refusal says the branch moved on (git's receive-pack words it
/// "non-fast-forward"; "fetch first" when the client did not know the new tip).
fn is_non_fast_forward(status: &str) -> bool {
    let status = status.to_ascii_lowercase();
    status.contains("non-fast-forward") || status.contains("fetch first")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_refusals_that_mean_the_branch_moved() {
        assert!(is_non_fast_forward("non-fast-forward"));
        assert!(is_non_fast_forward("failed to update ref: fetch first"));
        assert!(!is_non_fast_forward("pre-receive hook declined"));
    }
}
