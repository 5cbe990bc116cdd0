//! The clone strategies: resolving the reference on the remote, the no-op fast path, shallow
//! or full fetches, checkout (optionally sparse), submodules and the size limit.

use std::path::{Component, Path, PathBuf};

use git2::{Oid, Repository};

use crate::error::GitError;
use crate::reference::{GitReference, commit_of_revision, format_revision};
use crate::session::{Deadline, Session};
use crate::url::RepoUrl;
use crate::{FetchOutcome, FetchRequest, FetchedCommit, RemoteRef};

/// Local ref the fetched target is stored under, so that lookups do not depend on the remote's
/// naming.
pub(crate) const TARGET_REF: &str = "refs/eddy/target";

/// A refspec no remote advertises, used to read the ref list without downloading objects.
const LIST_ONLY_REFSPEC: &str = "refs/eddy-list-only/nothing:refs/eddy-list-only/nothing";

/// Runs a whole fetch synchronously, to be done by `deadline`. See [`crate::fetch`].
pub(crate) fn run(
    request: &FetchRequest,
    bridge_url: Option<String>,
    deadline: Deadline,
) -> Result<FetchOutcome, GitError> {
    let url = RepoUrl::parse(&request.url)?;
    let session = Session::new(
        url,
        request.auth.clone(),
        deadline,
        request.options.max_size_bytes,
        bridge_url,
    )?;
    let sparse_paths = normalise_sparse_paths(&request.options.sparse_checkout)?;

    if let GitReference::Commit { commit, branch } = &request.reference
        && let Some(last) = request.last_revision.as_deref()
        && stored_revision_is_commit(last, commit, branch.as_deref())
    {
        // A commit never moves, so an artifact for it stays current without asking the remote.
        return Ok(FetchOutcome::Unchanged {
            revision: last.to_string(),
        });
    }

    let repo = init_repository(&request.destination)?;
    let (pointer, commit_oid) = match &request.reference {
        GitReference::Commit { commit, branch } => {
            fetch_commit(&session, &repo, commit, branch.as_deref())?
        }
        reference => {
            let refs = list_refs_with(&session, &repo)?;
            let (pointer, remote_ref, remote_commit) = resolve(&session, reference, &refs)?;
            let revision = format_revision(Some(&pointer), &remote_commit);
            if request.last_revision.as_deref() == Some(revision.as_str()) {
                return Ok(FetchOutcome::Unchanged { revision });
            }
            let oid = fetch_shallow(&session, &repo, &remote_ref)?;
            (Some(pointer), oid)
        }
    };

    let commit = repo
        .find_commit(commit_oid)
        .map_err(|err| session.map_error("reading the fetched commit of", &err))?;
    checkout(&session, &repo, &commit, &sparse_paths)?;
    if request.options.recurse_submodules {
        update_submodules(&session, &repo)?;
    }
    enforce_checkout_size(&session, &request.destination)?;

    let hash = commit.id().to_string();
    Ok(FetchOutcome::Fetched(FetchedCommit {
        revision: format_revision(pointer.as_deref(), &hash),
        subject: commit.summary().unwrap_or_default().to_string(),
        message: commit.message().unwrap_or_default().to_string(),
        commit: hash,
    }))
}

/// Whether the stored revision `last` was made for `commit` (full hash or an abbreviation of at
/// least 7 characters) reached through `branch`.
fn stored_revision_is_commit(last: &str, commit: &str, branch: Option<&str>) -> bool {
    let stored_hash = commit_of_revision(last);
    let expected_pointer = branch.map(|branch| format!("{branch}@"));
    let pointer_matches = match &expected_pointer {
        Some(prefix) => last.starts_with(prefix.as_str()),
        None => !last.contains('@'),
    };
    let commit = commit.to_ascii_lowercase();
    pointer_matches && commit.len() >= 7 && stored_hash.starts_with(commit.as_str())
}

/// Lists the remote's refs, with annotated tags peeled to their commits.
pub(crate) fn list_refs(
    url: &str,
    auth: &crate::GitAuth,
    timeout: std::time::Duration,
) -> Result<Vec<RemoteRef>, GitError> {
    let session = Session::new(
        RepoUrl::parse(url)?,
        auth.clone(),
        Deadline::after(timeout),
        None,
        None,
    )?;
    let scratch = tempfile::tempdir()
        .map_err(|err| GitError::operation("creating a scratch repository", err))?;
    let repo = Repository::init_bare(scratch.path())
        .map_err(|err| GitError::operation("creating a scratch repository", err.message()))?;
    list_refs_with(&session, &repo)
}

pub(crate) fn list_refs_with(
    session: &Session,
    repo: &Repository,
) -> Result<Vec<RemoteRef>, GitError> {
    session.check_deadline()?;
    let mut remote = repo
        .remote_anonymous(session.transport_url())
        .map_err(|err| session.map_error("listing refs of", &err))?;
    // A download whose only refspec matches no remote ref transfers no pack, but the remote's
    // ref advertisement stays readable. It is used instead of a plain connect because only
    // fetch options carry the custom headers a bearer token needs. (An empty refspec list would
    // mean "everything".)
    let mut options = session.fetch_options();
    remote
        .download(&[LIST_ONLY_REFSPEC], Some(&mut options))
        .map_err(|err| session.map_error("listing refs of", &err))?;
    let heads = remote
        .list()
        .map_err(|err| session.map_error("listing refs of", &err))?;
    let mut refs: Vec<RemoteRef> = Vec::new();
    for head in heads {
        let name = head.name();
        let commit = head.oid().to_string();
        if let Some(tag) = name.strip_suffix("^{}") {
            // The peeled entry follows its tag; it names the commit the tag points at.
            match refs.iter_mut().find(|existing| existing.name == tag) {
                Some(existing) => existing.commit = commit,
                None => refs.push(RemoteRef {
                    name: tag.to_string(),
                    commit,
                }),
            }
        } else {
            refs.push(RemoteRef {
                name: name.to_string(),
                commit,
            });
        }
    }
    Ok(refs)
}

/// Finds the remote ref for a branch/tag/semver/name reference: (pointer for the revision,
/// full remote ref name, commit hash).
pub(crate) fn resolve(
    session: &Session,
    reference: &GitReference,
    refs: &[RemoteRef],
) -> Result<(String, String, String), GitError> {
    let lookup = |full: &str| {
        refs.iter()
            .find(|r| r.name == full)
            .map(|r| r.commit.clone())
    };
    let not_found = || GitError::RefNotFound {
        reference: reference.describe(),
        url: session.url.redacted().to_string(),
    };
    match reference {
        GitReference::Branch(branch) => {
            let full = format!("refs/heads/{branch}");
            let commit = lookup(&full).ok_or_else(not_found)?;
            Ok((branch.clone(), full, commit))
        }
        GitReference::Tag(tag) => {
            let full = format!("refs/tags/{tag}");
            let commit = lookup(&full).ok_or_else(not_found)?;
            Ok((tag.clone(), full, commit))
        }
        GitReference::Name(name) => {
            let commit = lookup(name).ok_or_else(not_found)?;
            Ok((name.clone(), name.clone(), commit))
        }
        GitReference::Semver(range) => {
            let constraint =
                eddy_semver::Constraints::parse(range).map_err(|err| GitError::InvalidSemver {
                    constraint: range.clone(),
                    detail: err.to_string(),
                })?;
            let tags: Vec<&str> = refs
                .iter()
                .filter_map(|r| r.name.strip_prefix("refs/tags/"))
                .collect();
            let tag = eddy_semver::highest_matching_tag(&constraint, tags.iter().copied())
                .ok_or_else(|| GitError::NoMatchingTag {
                    constraint: range.clone(),
                    url: session.url.redacted().to_string(),
                    tags_seen: tags.len(),
                })?;
            let full = format!("refs/tags/{tag}");
            let commit = lookup(&full).ok_or_else(not_found)?;
            Ok((tag.to_string(), full, commit))
        }
        GitReference::Commit { .. } => Err(GitError::operation(
            "resolving a commit through ls-remote",
            "commits are fetched directly",
        )),
    }
}

pub(crate) fn init_repository(destination: &Path) -> Result<Repository, GitError> {
    std::fs::create_dir_all(destination)
        .map_err(|err| GitError::operation(format!("creating '{}'", destination.display()), err))?;
    Repository::init(destination).map_err(|err| {
        GitError::operation(
            format!("initialising a repository in '{}'", destination.display()),
            err.message(),
        )
    })
}

/// Fetches one ref with depth 1 and returns the commit it points at.
fn fetch_shallow(session: &Session, repo: &Repository, remote_ref: &str) -> Result<Oid, GitError> {
    let refspec = format!("+{remote_ref}:{TARGET_REF}");
    fetch_refspecs(session, repo, &[refspec.as_str()], true)?;
    peel_to_commit(session, repo, TARGET_REF)
}

/// Fetches the history a commit reference needs and returns the commit.
pub(crate) fn fetch_commit(
    session: &Session,
    repo: &Repository,
    commit: &str,
    branch: Option<&str>,
) -> Result<(Option<String>, Oid), GitError> {
    let not_found = |scope: String| GitError::CommitNotFound {
        commit: commit.to_string(),
        url: session.url.redacted().to_string(),
        scope,
    };
    match branch {
        Some(branch) => {
            let refspec = format!("+refs/heads/{branch}:{TARGET_REF}");
            fetch_refspecs(session, repo, &[refspec.as_str()], false)?;
            // libgit2 silently fetches nothing for a refspec without a remote match.
            if repo.find_reference(TARGET_REF).is_err() {
                return Err(GitError::RefNotFound {
                    reference: format!("branch '{branch}'"),
                    url: session.url.redacted().to_string(),
                });
            }
            let head = peel_to_commit(session, repo, TARGET_REF)?;
            let wanted = repo
                .revparse_single(commit)
                .and_then(|object| object.peel_to_commit())
                .map_err(|_| not_found(format!(" on branch '{branch}'")))?
                .id();
            let reachable = wanted == head
                || repo
                    .graph_descendant_of(head, wanted)
                    .map_err(|err| session.map_error("walking the history of", &err))?;
            if !reachable {
                return Err(not_found(format!(" on branch '{branch}'")));
            }
            Ok((Some(branch.to_string()), wanted))
        }
        None => {
            fetch_refspecs(
                session,
                repo,
                &[
                    "+refs/heads/*:refs/eddy/heads/*",
                    "+refs/tags/*:refs/eddy/tags/*",
                ],
                false,
            )?;
            let wanted = repo
                .revparse_single(commit)
                .and_then(|object| object.peel_to_commit())
                .map_err(|_| not_found(String::new()))?
                .id();
            Ok((None, wanted))
        }
    }
}

pub(crate) fn fetch_refspecs(
    session: &Session,
    repo: &Repository,
    refspecs: &[&str],
    shallow: bool,
) -> Result<(), GitError> {
    session.check_deadline()?;
    let mut remote = repo
        .remote("origin", session.transport_url())
        .or_else(|_| repo.find_remote("origin"))
        .map_err(|err| session.map_error("configuring the remote", &err))?;
    let mut options = session.fetch_options();
    if shallow {
        options.depth(1);
    }
    remote
        .fetch(refspecs, Some(&mut options), None)
        .map_err(|err| session.map_error("fetching from", &err))
}

pub(crate) fn peel_to_commit(
    session: &Session,
    repo: &Repository,
    name: &str,
) -> Result<Oid, GitError> {
    repo.find_reference(name)
        .and_then(|reference| reference.peel_to_commit())
        .map(|commit| commit.id())
        .map_err(|err| session.map_error("resolving the fetched ref from", &err))
}

/// Validates `sparseCheckout` entries: relative directory paths, a leading `./` trimmed.
fn normalise_sparse_paths(entries: &[String]) -> Result<Vec<PathBuf>, GitError> {
    entries
        .iter()
        .map(|entry| {
            let trimmed = entry.trim().trim_start_matches("./").trim_end_matches('/');
            let invalid = |detail: &str| GitError::InvalidSparseCheckout {
                path: entry.clone(),
                detail: detail.to_string(),
            };
            if trimmed.is_empty() || trimmed == "." {
                return Err(invalid("the path is empty"));
            }
            let path = PathBuf::from(trimmed);
            if path
                .components()
                .any(|c| !matches!(c, Component::Normal(_)))
            {
                return Err(invalid(
                    "the path must be relative and must not contain '..'",
                ));
            }
            if trimmed.contains(['*', '?', '[']) {
                return Err(invalid("wildcards are not supported"));
            }
            Ok(path)
        })
        .collect()
}

pub(crate) fn checkout(
    session: &Session,
    repo: &Repository,
    commit: &git2::Commit<'_>,
    sparse_paths: &[PathBuf],
) -> Result<(), GitError> {
    let tree = commit
        .tree()
        .map_err(|err| session.map_error("reading the tree of", &err))?;
    for path in sparse_paths {
        let is_dir = tree
            .get_path(path)
            .is_ok_and(|entry| entry.kind() == Some(git2::ObjectType::Tree));
        if !is_dir {
            return Err(GitError::InvalidSparseCheckout {
                path: path.display().to_string(),
                detail: format!("commit {} has no such directory", commit.id()),
            });
        }
    }
    let mut builder = git2::build::CheckoutBuilder::new();
    builder.force();
    for path in sparse_paths {
        builder.path(path);
    }
    repo.checkout_tree(commit.as_object(), Some(&mut builder))
        .map_err(|err| session.map_error("checking out the commit from", &err))?;
    repo.set_head_detached(commit.id())
        .map_err(|err| session.map_error("setting HEAD for", &err))
}

fn update_submodules(session: &Session, repo: &Repository) -> Result<(), GitError> {
    let submodules = repo
        .submodules()
        .map_err(|err| session.map_error("reading submodules of", &err))?;
    for mut submodule in submodules {
        session.check_deadline()?;
        let name = submodule.name().unwrap_or("<unnamed>").to_string();
        let mut options = git2::SubmoduleUpdateOptions::new();
        options.fetch(session.fetch_options());
        submodule
            .update(true, Some(&mut options))
            .map_err(|err| session.map_error(&format!("updating submodule '{name}' of"), &err))?;
        let nested = submodule
            .open()
            .map_err(|err| session.map_error(&format!("opening submodule '{name}' of"), &err))?;
        update_submodules(session, &nested)?;
    }
    Ok(())
}

fn enforce_checkout_size(session: &Session, root: &Path) -> Result<(), GitError> {
    let Some(limit) = session.max_size_bytes else {
        return Ok(());
    };
    let size = working_tree_size(root)
        .map_err(|err| GitError::operation("measuring the checked-out tree", err))?;
    if size > limit {
        return Err(GitError::SizeLimitExceeded {
            url: session.url.redacted().to_string(),
            limit_bytes: limit,
            what: format!("checked-out files take {size} bytes"),
        });
    }
    Ok(())
}

/// Bytes of regular files under `root`, leaving out `.git` directories.
fn working_tree_size(root: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                if entry.file_name() != ".git" {
                    pending.push(entry.path());
                }
            } else if kind.is_file() {
                total += entry.metadata()?.len();
            }
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commit_no_op_matches_full_and_abbreviated_hashes() {
        let hash = "363a6a8fe6a7f13e05d34c163b0ef02a777da20a";
        let on_main = format!("main@sha1:{hash}");
        let bare = format!("sha1:{hash}");
        assert!(stored_revision_is_commit(&on_main, hash, Some("main")));
        assert!(stored_revision_is_commit(&on_main, "363a6a8", Some("main")));
        assert!(!stored_revision_is_commit(&on_main, "363a6a", Some("main")));
        assert!(!stored_revision_is_commit(&on_main, hash, Some("dev")));
        assert!(!stored_revision_is_commit(&on_main, hash, None));
        assert!(stored_revision_is_commit(&bare, hash, None));
        assert!(!stored_revision_is_commit(&bare, "0000000", None));
    }

    #[test]
    fn sparse_paths_are_normalised_and_validated() {
        let ok = normalise_sparse_paths(&["./apps/".into(), "infra/base".into()]).unwrap();
        assert_eq!(ok, vec![PathBuf::from("apps"), PathBuf::from("infra/base")]);
        for bad in ["../x", "/abs", "", "./", "a/../../b", "apps/*"] {
            let err = normalise_sparse_paths(&[bad.to_string()]).unwrap_err();
            assert!(
                matches!(err, GitError::InvalidSparseCheckout { .. }),
                "{bad}: {err}"
            );
        }
    }
}
