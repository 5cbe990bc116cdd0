//! Helpers of the OCIRepository integration tests: objects, conditions, artifacts, Secrets and
//! the real `flux push artifact`.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use base64::Engine as _;
use eddy_api::source::OCIRepository;
use kube::api::{Api, Patch, PatchParams, PostParams};
use sha2::Digest as _;

use crate::gitrepository_support::{SHARD_LABEL, create_secret};

/// The real `flux` CLI, built once by the CLI tests' helper (pinned in `cli/flux-compat`).
#[path = "../../../cli/tests/support/flux.rs"]
mod flux_build;

/// The workspace root, for the helper above.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `flux push artifact oci://<address>/<repository>:<tag>` over plain HTTP for `dir`, and
/// returns the pushed manifest digest.
pub fn flux_push(
    address: &str,
    repository: &str,
    tag: &str,
    dir: &Path,
    revision: &str,
    creds: Option<&str>,
) -> anyhow::Result<String> {
    let flux = flux_build::binary()?;
    let mut command = std::process::Command::new(flux);
    command
        .arg("push")
        .arg("artifact")
        .arg(format!("oci://{address}/{repository}:{tag}"))
        .arg(format!("--path={}", dir.display()))
        .arg("--source=https://git.example.com/team/app.git")
        .arg(format!("--revision={revision}"))
        .arg("--insecure-registry")
        .args(["--output", "json"]);
    if let Some(creds) = creds {
        command.arg(format!("--creds={creds}"));
    }
    let output = command.output()?;
    anyhow::ensure!(
        output.status.success(),
        "flux push artifact failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let pushed: serde_json::Value = serde_json::from_slice(&output.stdout)
        .with_context(|| String::from_utf8_lossy(&output.stdout).into_owned())?;
    pushed["digest"]
        .as_str()
        .map(str::to_owned)
        .context("flux push printed no digest")
}

/// A `kubernetes.io/dockerconfigjson` Secret for `registry`.
pub async fn create_docker_secret(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    registry: &str,
    username: &str,
    password: &str,
) -> anyhow::Result<()> {
    let auth = base64::engine::general_purpose::STANDARD.encode(format!("{username}:{password}"));
    let config = serde_json::json!({"auths": {registry: {"auth": auth}}}).to_string();
    create_secret(client, namespace, name, &[(".dockerconfigjson", &config)]).await
}

pub async fn create_oci_repository(
    api: &Api<OCIRepository>,
    name: &str,
    shard: &str,
    spec: serde_json::Value,
) -> anyhow::Result<OCIRepository> {
    let object: OCIRepository = serde_json::from_value(serde_json::json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "OCIRepository",
        "metadata": {"name": name, "labels": {SHARD_LABEL: shard}},
        "spec": spec,
    }))?;
    Ok(api.create(&PostParams::default(), &object).await?)
}

pub async fn patch_spec(
    api: &Api<OCIRepository>,
    name: &str,
    spec: serde_json::Value,
) -> anyhow::Result<()> {
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({ "spec": spec })),
    )
    .await?;
    Ok(())
}

/// `(status, reason, message)` of the condition `type_`.
pub fn condition(object: &OCIRepository, type_: &str) -> Option<(String, String, String)> {
    object
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
}

pub fn revision(object: &OCIRepository) -> String {
    object
        .status
        .as_ref()
        .and_then(|s| s.artifact.as_ref())
        .map(|a| a.revision.clone())
        .unwrap_or_default()
}

/// Waits until Ready=True for the current generation (and `revision`, when given).
pub async fn wait_ready(
    api: &Api<OCIRepository>,
    name: &str,
    wanted_revision: Option<&str>,
) -> anyhow::Result<OCIRepository> {
    eddy_test_support::wait_for(
        format!("OCIRepository {name} to be Ready at {wanted_revision:?}"),
        Duration::from_secs(90),
        async || {
            let object = api.get(name).await?;
            let ready = condition(&object, "Ready").is_some_and(|c| c.0 == "True");
            let current = object.status.as_ref().and_then(|s| s.observed_generation)
                == object.metadata.generation;
            let at_revision = wanted_revision.is_none_or(|wanted| revision(&object) == wanted);
            Ok((ready && current && at_revision).then_some(object))
        },
    )
    .await
}

/// Waits until Ready=False with `reason` for the current generation.
pub async fn wait_not_ready(
    api: &Api<OCIRepository>,
    name: &str,
    reason: &str,
) -> anyhow::Result<OCIRepository> {
    eddy_test_support::wait_for(
        format!("OCIRepository {name} to be Ready=False/{reason}"),
        Duration::from_secs(90),
        async || {
            let object = api.get(name).await?;
            let generation_seen = object
                .status
                .as_ref()
                .and_then(|s| s.conditions.as_ref())
                .and_then(|list| list.iter().find(|c| c.type_ == "Ready"))
                .and_then(|c| c.observed_generation)
                == object.metadata.generation;
            match condition(&object, "Ready") {
                Some(c) if c.0 == "False" && c.1 == reason && generation_seen => Ok(Some(object)),
                other => anyhow::bail!("Ready is {other:?}"),
            }
        },
    )
    .await
}

/// Sets `reconcile.fluxcd.io/requestedAt` and waits until the controller echoes it.
pub async fn reconcile_now(
    api: &Api<OCIRepository>,
    name: &str,
    token: &str,
) -> anyhow::Result<OCIRepository> {
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({
            "metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": token}}
        })),
    )
    .await?;
    eddy_test_support::wait_for(
        format!("OCIRepository {name} to handle request {token}"),
        Duration::from_secs(60),
        async || {
            let object = api.get(name).await?;
            let handled = object
                .status
                .as_ref()
                .and_then(|s| s.last_handled_reconcile_at.as_deref())
                == Some(token);
            Ok(handled.then_some(object))
        },
    )
    .await
}

/// Downloads the artifact at `url`, checks digest and size when given, returns its files.
pub async fn download_files(
    url: &str,
    digest: Option<&str>,
) -> anyhow::Result<BTreeMap<String, String>> {
    let bytes = reqwest::get(url).await?.error_for_status()?.bytes().await?;
    if let Some(expected) = digest {
        let actual = format!("sha256:{}", hex::encode(sha2::Sha256::digest(&bytes)));
        anyhow::ensure!(actual == expected, "digest {actual} != {expected}");
    }
    let mut files = BTreeMap::new();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes.as_ref()));
    for entry in archive.entries()? {
        let mut entry = entry?;
        if entry.header().entry_type().is_file() {
            let path = entry.path()?.display().to_string();
            let mut text = String::new();
            entry.read_to_string(&mut text)?;
            files.insert(path, text);
        }
    }
    Ok(files)
}

/// The files of the object's current artifact, its digest verified.
pub async fn artifact_files(object: &OCIRepository) -> anyhow::Result<BTreeMap<String, String>> {
    let artifact = object
        .status
        .as_ref()
        .and_then(|s| s.artifact.as_ref())
        .context("no artifact")?;
    download_files(&artifact.url, Some(&artifact.digest)).await
}

/// A gzip'd tarball of `files`, as a layer.
pub fn tar_gz(files: &[(&str, &str)]) -> Vec<u8> {
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    for (path, content) in files {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder
            .append_data(&mut header, path, content.as_bytes())
            .unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}
