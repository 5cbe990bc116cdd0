//! Which commit to fetch (`spec.ref`) and how the resulting revision is spelled.

/// The fields of a GitRepository's `spec.ref`, as plain strings. Empty strings count as unset.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefFields {
    pub branch: Option<String>,
    pub tag: Option<String>,
    pub semver: Option<String>,
    pub name: Option<String>,
    pub commit: Option<String>,
}

/// The branch used when `spec.ref` names nothing (Flux's default).
pub const DEFAULT_BRANCH: &str = "master";

/// The one reference that wins after applying Flux's precedence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GitReference {
    /// A commit, optionally constrained to (and fetched through) a branch.
    Commit {
        commit: String,
        branch: Option<String>,
    },
    /// A full ref name such as `refs/pull/1/head`.
    Name(String),
    /// The highest tag matching a semver constraint.
    Semver(String),
    /// A tag name (without `refs/tags/`).
    Tag(String),
    /// A branch name (without `refs/heads/`).
    Branch(String),
}

impl GitReference {
    /// Applies the precedence commit > name > semver > tag > branch; with nothing set the
    /// default branch `master` is used. A branch given with a commit scopes the commit.
    pub fn from_fields(fields: &RefFields) -> Self {
        let set = |value: &Option<String>| {
            value
                .as_deref()
                .map(str::trim)
                .filter(|value| !value.is_empty())
                .map(str::to_string)
        };
        if let Some(commit) = set(&fields.commit) {
            return GitReference::Commit {
                commit,
                branch: set(&fields.branch),
            };
        }
        if let Some(name) = set(&fields.name) {
            return GitReference::Name(name);
        }
        if let Some(semver) = set(&fields.semver) {
            return GitReference::Semver(semver);
        }
        if let Some(tag) = set(&fields.tag) {
            return GitReference::Tag(tag);
        }
        GitReference::Branch(set(&fields.branch).unwrap_or_else(|| DEFAULT_BRANCH.to_string()))
    }

    /// Describes the reference for error messages ("branch 'main'", "tag 'v1'", …).
    pub fn describe(&self) -> String {
        match self {
            GitReference::Commit {
                commit,
                branch: Some(branch),
            } => format!("commit '{commit}' on branch '{branch}'"),
            GitReference::Commit { commit, .. } => format!("commit '{commit}'"),
            GitReference::Name(name) => format!("ref '{name}'"),
            GitReference::Semver(range) => format!("semver range '{range}'"),
            GitReference::Tag(tag) => format!("tag '{tag}'"),
            GitReference::Branch(branch) => format!("branch '{branch}'"),
        }
    }
}

/// Formats a revision the way Flux does (RFC-0005): `<pointer>@sha1:<hash>`, or `sha1:<hash>`
/// when there is no named pointer (a bare commit).
pub fn format_revision(pointer: Option<&str>, commit_hex: &str) -> String {
    // SHA-256 object ids are 64 hex characters; SHA-1 ids are 40.
    let algorithm = if commit_hex.len() == 64 {
        "sha256"
    } else {
        "sha1"
    };
    match pointer {
        Some(pointer) => format!("{pointer}@{algorithm}:{commit_hex}"),
        None => format!("{algorithm}:{commit_hex}"),
    }
}

/// Extracts the commit hash from a revision in the current (`main@sha1:abc`, `sha1:abc`) or
/// legacy (`main/abc`, `abc`) forms.
pub fn commit_of_revision(revision: &str) -> &str {
    let after_pointer = revision.rsplit_once('@').map_or(revision, |(_, rest)| rest);
    if let Some((_, hash)) = after_pointer.split_once(':') {
        return hash;
    }
    after_pointer
        .rsplit_once('/')
        .map_or(after_pointer, |(_, hash)| hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(pairs: &[(&str, &str)]) -> RefFields {
        let mut fields = RefFields::default();
        for (key, value) in pairs {
            let value = Some(value.to_string());
            match *key {
                "branch" => fields.branch = value,
                "tag" => fields.tag = value,
                "semver" => fields.semver = value,
                "name" => fields.name = value,
                "commit" => fields.commit = value,
                _ => unreachable!(),
            }
        }
        fields
    }

    #[test]
    fn precedence() {
        let all = fields(&[
            ("branch", "b"),
            ("tag", "t"),
            ("semver", "*"),
            ("name", "refs/x"),
            ("commit", "abc"),
        ]);
        assert_eq!(
            GitReference::from_fields(&all),
            GitReference::Commit {
                commit: "abc".into(),
                branch: Some("b".into())
            }
        );
        let no_commit = fields(&[
            ("branch", "b"),
            ("tag", "t"),
            ("semver", "*"),
            ("name", "n"),
        ]);
        assert_eq!(
            GitReference::from_fields(&no_commit),
            GitReference::Name("n".into())
        );
        let semver_tag = fields(&[("tag", "t"), ("semver", "*")]);
        assert_eq!(
            GitReference::from_fields(&semver_tag),
            GitReference::Semver("*".into())
        );
        let tag_branch = fields(&[("tag", "t"), ("branch", "b")]);
        assert_eq!(
            GitReference::from_fields(&tag_branch),
            GitReference::Tag("t".into())
        );
        assert_eq!(
            GitReference::from_fields(&fields(&[("branch", "")])),
            GitReference::Branch("master".into())
        );
    }

    #[test]
    fn revisions() {
        let hash = "363a6a8fe6a7f13e05d34c163b0ef02a777da20a";
        assert_eq!(
            format_revision(Some("main"), hash),
            format!("main@sha1:{hash}")
        );
        assert_eq!(format_revision(None, hash), format!("sha1:{hash}"));
        assert_eq!(commit_of_revision(&format!("main@sha1:{hash}")), hash);
        assert_eq!(
            commit_of_revision(&format!("refs/pull/1/head@sha1:{hash}")),
            hash
        );
        assert_eq!(commit_of_revision(&format!("sha1:{hash}")), hash);
        assert_eq!(commit_of_revision(&format!("main/{hash}")), hash);
        assert_eq!(commit_of_revision(hash), hash);
    }
}
