//! Committing the changes of a work tree.

use git2::{IndexAddOption, Oid, Signature};

use crate::error::GitError;
use crate::signing::{SigningKey, sign_commit};
use crate::work_tree::WorkTree;

/// Who a commit is by (author and committer alike).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Author {
    pub name: String,
    pub email: String,
}

/// One commit of a work tree's changes.
#[derive(Debug, Clone)]
pub struct CommitRequest {
    pub author: Author,
    pub message: String,
    /// The paths (files, directories or globs, relative to the root) whose changes are
    /// committed; empty means all of them. Added, modified and deleted files count.
    pub paths: Vec<String>,
    /// Sign the commit with this key.
    pub signing: Option<SigningKey>,
}

impl WorkTree {
    /// Stages the changes under `request.paths` and commits them on top of HEAD (moving the
    /// branch, or the detached HEAD). Returns the new commit's hash, or `None` when the staged
    /// tree equals HEAD's and there was nothing to commit. Blocking.
    pub fn commit_changes(&self, request: &CommitRequest) -> Result<Option<String>, GitError> {
        let tree_id = self.stage(&request.paths)?;
        let parent = self.head()?;
        if parent
            .as_ref()
            .is_some_and(|commit| commit.tree_id() == tree_id)
        {
            return Ok(None);
        }
        let failed = |what: &str, err: git2::Error| GitError::operation(what, err.message());
        let tree = self
            .repo
            .find_tree(tree_id)
            .map_err(|err| failed("reading the staged tree", err))?;
        let signature = Signature::now(&request.author.name, &request.author.email)
            .map_err(|err| failed("the commit author's name or email is not usable", err))?;
        let parents: Vec<&git2::Commit<'_>> = parent.iter().collect();
        let oid = match &request.signing {
            None => self
                .repo
                .commit(
                    Some("HEAD"),
                    &signature,
                    &signature,
                    &request.message,
                    &tree,
                    &parents,
                )
                .map_err(|err| failed("committing", err))?,
            Some(key) => {
                let content = self
                    .repo
                    .commit_create_buffer(&signature, &signature, &request.message, &tree, &parents)
                    .map_err(|err| failed("preparing the commit", err))?;
                let text = std::str::from_utf8(&content)
                    .map_err(|err| GitError::operation("preparing the commit", err))?;
                let armored = sign_commit(key, content.as_ref())?;
                let oid = self
                    .repo
                    .commit_signed(text, &armored, None)
                    .map_err(|err| failed("writing the signed commit", err))?;
                self.move_head(oid)?;
                oid
            }
        };
        Ok(Some(oid.to_string()))
    }

    /// Writes the index with the changes under `paths` and returns its tree.
    fn stage(&self, paths: &[String]) -> Result<Oid, GitError> {
        let failed = |err: git2::Error| GitError::operation("staging the changes", err.message());
        let everything = ["*".to_string()];
        let paths = if paths.is_empty() {
            &everything[..]
        } else {
            paths
        };
        let mut index = self.repo.index().map_err(failed)?;
        index
            .add_all(paths, IndexAddOption::DEFAULT, None)
            .map_err(failed)?;
        // add_all leaves deleted files in the index; update_all drops them.
        index.update_all(paths, None).map_err(failed)?;
        index.write().map_err(failed)?;
        index.write_tree().map_err(failed)
    }

    /// Points HEAD's branch (or the detached HEAD) at `oid`, as `commit(Some("HEAD"), …)` does.
    fn move_head(&self, oid: Oid) -> Result<(), GitError> {
        let failed = |err: git2::Error| GitError::operation("moving HEAD", err.message());
        let head = self.repo.find_reference("HEAD").map_err(failed)?;
        match head.symbolic_target() {
            Some(branch) => self
                .repo
                .reference(branch, oid, true, "commit (signed)")
                .map(|_| ())
                .map_err(failed),
            None => self.repo.set_head_detached(oid).map_err(failed),
        }
    }
}
