//! Fixtures shared by the Git integration tests.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;

use eddy_test_support::git_server::{RepoRoot, TestRepo};
use source_controller::git::{
    FetchOptions, FetchOutcome, FetchRequest, FetchedCommit, GitAuth, GitError, GitReference,
    RefFields, Transport,
};

/// Commits of the `app` fixture repository.
pub struct AppRepo {
    pub repo: TestRepo,
    pub master_head: String,
    pub first_commit: String,
    pub dev_head: String,
    pub v1_0_0: String,
    pub v1_1_0: String,
    pub v2_0_0: String,
    pub pull_head: String,
}

/// Creates `app.git`: master (two commits), branch `dev`, tags v1.0.0 (annotated), v1.1.0,
/// v2.0.0, `latest`, and `refs/pull/1/head`.
pub fn app_repo(root: &RepoRoot) -> anyhow::Result<AppRepo> {
    let repo = root.create("app")?;
    repo.write("deploy/app.yaml", "kind: ConfigMap\n")?;
    repo.write("README.md", "# app\n")?;
    let first_commit = repo.commit_all("first commit")?;
    repo.tag("v1.0.0", true)?;
    repo.write("deploy/app.yaml", "kind: ConfigMap\nversion: 1.1\n")?;
    let v1_1_0 = repo.commit_all("release 1.1")?;
    repo.tag("v1.1.0", false)?;
    repo.tag("latest", false)?;
    repo.push("master")?;
    repo.switch_new_branch("dev")?;
    repo.write("dev.txt", "dev only\n")?;
    let dev_head = repo.commit_all("dev work")?;
    repo.push("dev")?;
    repo.write("v2.txt", "two\n")?;
    let v2_0_0 = repo.commit_all("v2")?;
    repo.tag("v2.0.0", false)?;
    repo.switch_new_branch("pr")?;
    repo.write("pr.txt", "pull request\n")?;
    let pull_head = repo.commit_all("a pull request")?;
    repo.push("pr:refs/pull/1/head")?;
    repo.switch("master")?;
    let master_head = repo.head()?;
    Ok(AppRepo {
        repo,
        master_head,
        v1_0_0: first_commit.clone(),
        first_commit,
        dev_head,
        v1_1_0,
        v2_0_0,
        pull_head,
    })
}

pub fn secret(pairs: &[(&str, &str)]) -> BTreeMap<String, Vec<u8>> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.as_bytes().to_vec()))
        .collect()
}

pub fn http_auth(pairs: &[(&str, &str)]) -> GitAuth {
    GitAuth::from_secret_data(Transport::Http, Some(&secret(pairs))).unwrap()
}

pub fn branch(name: &str) -> GitReference {
    GitReference::from_fields(&RefFields {
        branch: Some(name.into()),
        ..Default::default()
    })
}

pub fn request(url: &str, reference: GitReference, auth: GitAuth, dest: &Path) -> FetchRequest {
    FetchRequest {
        url: url.to_string(),
        reference,
        auth,
        options: FetchOptions {
            timeout: std::time::Duration::from_secs(30),
            ..Default::default()
        },
        last_revision: None,
        destination: dest.to_path_buf(),
    }
}

pub async fn fetch(request: FetchRequest) -> Result<FetchOutcome, GitError> {
    source_controller::git::fetch_async(request).await
}

pub async fn fetched(request: FetchRequest) -> FetchedCommit {
    match fetch(request).await {
        Ok(FetchOutcome::Fetched(commit)) => commit,
        other => panic!("expected a fetched commit, got {other:?}"),
    }
}
