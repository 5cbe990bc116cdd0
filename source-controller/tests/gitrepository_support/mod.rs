//! Running source-controller in-process against the shared testenv, for the GitRepository
//! integration tests.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use eddy_api::source::GitRepository;
use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Event, Secret};
use kube::api::{Api, DeleteParams, ListParams, ObjectMeta, Patch, PatchParams, PostParams};
use sha2::Digest as _;
use source_controller::args::Args;

/// The label the test controller's `--watch-label-selector` selects; each controller gets its
/// own value so concurrently running tests never reconcile each other's objects.
pub const SHARD_LABEL: &str = "eddy.test/shard";

/// A controller running on a task of the test's runtime.
pub struct RunningController {
    task: tokio::task::JoinHandle<Result<(), source_controller::Error>>,
    pub storage: PathBuf,
    pub shard: String,
    /// Where `/metrics` is served.
    pub metrics_addr: String,
}

impl RunningController {
    /// Starts the controller with its storage in `storage`, only seeing objects labelled with
    /// `shard`, plus any `extra` flags.
    pub async fn start(
        client: &kube::Client,
        storage: &Path,
        shard: &str,
        extra: &[&str],
    ) -> anyhow::Result<Self> {
        let metrics = free_port()?;
        let health = free_port()?;
        let mut argv: Vec<String> = [
            "source-controller",
            "--storage-addr",
            "127.0.0.1:0",
            "--metrics-addr",
            &format!("127.0.0.1:{metrics}"),
            "--health-addr",
            &format!("127.0.0.1:{health}"),
            "--watch-all-namespaces",
            "--watch-label-selector",
            &format!("{SHARD_LABEL}={shard}"),
            "--log-level",
            "debug",
            "--min-retry-delay",
            "500ms",
            "--max-retry-delay",
            "5s",
            "--requeue-dependency",
            "2s",
            "--artifact-retention-ttl",
            "1s",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        argv.push("--storage-path".into());
        argv.push(storage.display().to_string());
        argv.extend(extra.iter().map(|s| s.to_string()));
        let args = Args::try_parse_from(argv)?;
        let task = tokio::spawn(source_controller::run_with_client(
            args,
            Some(client.clone()),
        ));
        Ok(RunningController {
            task,
            storage: storage.to_path_buf(),
            shard: shard.to_owned(),
            metrics_addr: format!("127.0.0.1:{metrics}"),
        })
    }

    /// Stops the controller (as a crash would: no clean-up runs).
    pub async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

/// A unique shard name for one test.
pub fn shard(test: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{test}-{nanos}")
}

/// Creates a GitRepository from a JSON spec, labelled for the controller's shard.
pub async fn create_repository(
    api: &Api<GitRepository>,
    name: &str,
    shard: &str,
    spec: serde_json::Value,
) -> anyhow::Result<GitRepository> {
    let object: GitRepository = serde_json::from_value(serde_json::json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": name, "labels": {SHARD_LABEL: shard}},
        "spec": spec,
    }))?;
    Ok(api.create(&PostParams::default(), &object).await?)
}

pub async fn create_secret(
    client: &kube::Client,
    namespace: &str,
    name: &str,
    pairs: &[(&str, &str)],
) -> anyhow::Result<()> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let data: BTreeMap<String, ByteString> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), ByteString(v.as_bytes().to_vec())))
        .collect();
    let secret = Secret {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..Default::default()
        },
        data: Some(data),
        ..Default::default()
    };
    api.patch(
        name,
        &PatchParams::apply("test").force(),
        &Patch::Apply(serde_json::json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": secret.metadata, "data": secret.data,
        })),
    )
    .await?;
    Ok(())
}

/// The condition of `type_` as (status, reason, message).
pub fn condition(object: &GitRepository, type_: &str) -> Option<(String, String, String)> {
    object
        .status
        .as_ref()?
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
}

/// Waits until Ready=True for the current generation and returns the object.
pub async fn wait_ready(api: &Api<GitRepository>, name: &str) -> anyhow::Result<GitRepository> {
    eddy_test_support::wait_for(
        format!("GitRepository {name} to be Ready"),
        Duration::from_secs(90),
        async || {
            let object = api.get(name).await?;
            let ready = condition(&object, "Ready").is_some_and(|c| c.0 == "True");
            let current = object.status.as_ref().and_then(|s| s.observed_generation)
                == object.metadata.generation;
            Ok((ready && current).then_some(object))
        },
    )
    .await
}

/// Waits until Ready=False with `reason` and returns the object.
pub async fn wait_not_ready(
    api: &Api<GitRepository>,
    name: &str,
    reason: &str,
) -> anyhow::Result<GitRepository> {
    eddy_test_support::wait_for(
        format!("GitRepository {name} to be Ready=False/{reason}"),
        Duration::from_secs(90),
        async || {
            let object = api.get(name).await?;
            match condition(&object, "Ready") {
                Some(c) if c.0 == "False" && c.1 == reason => Ok(Some(object)),
                other => anyhow::bail!("Ready is {other:?}"),
            }
        },
    )
    .await
}

/// Sets `reconcile.fluxcd.io/requestedAt`.
pub async fn request_reconcile(
    api: &Api<GitRepository>,
    name: &str,
    token: &str,
) -> anyhow::Result<()> {
    api.patch(
        name,
        &PatchParams::default(),
        &Patch::Merge(serde_json::json!({
            "metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": token}}
        })),
    )
    .await?;
    Ok(())
}

/// Downloads the artifact, checks its digest and size, and returns the files it holds.
pub async fn download_artifact(object: &GitRepository) -> anyhow::Result<BTreeMap<String, String>> {
    let artifact = object
        .status
        .as_ref()
        .and_then(|s| s.artifact.as_ref())
        .context("no artifact")?;
    let bytes = reqwest::get(&artifact.url)
        .await?
        .error_for_status()?
        .bytes()
        .await?;
    let digest = format!("sha256:{}", hex::encode(sha2::Sha256::digest(&bytes)));
    anyhow::ensure!(
        digest == artifact.digest,
        "digest {digest} != {}",
        artifact.digest
    );
    anyhow::ensure!(Some(bytes.len() as i64) == artifact.size, "size mismatch");
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

/// The reasons of the Kubernetes Events recorded for `name`, with their counts.
pub async fn events_for(
    client: &kube::Client,
    namespace: &str,
    name: &str,
) -> anyhow::Result<Vec<(String, String, i32)>> {
    let api: Api<Event> = Api::namespaced(client.clone(), namespace);
    let events = api
        .list(&ListParams::default().fields(&format!("involvedObject.name={name}")))
        .await?;
    Ok(events
        .items
        .into_iter()
        .map(|e| {
            (
                e.reason.unwrap_or_default(),
                e.message.unwrap_or_default(),
                e.count.unwrap_or(1),
            )
        })
        .collect())
}

pub async fn delete(api: &Api<GitRepository>, name: &str) -> anyhow::Result<()> {
    api.delete(name, &DeleteParams::default()).await?;
    Ok(())
}

pub fn revision(object: &GitRepository) -> String {
    object
        .status
        .as_ref()
        .and_then(|s| s.artifact.as_ref())
        .map(|a| a.revision.clone())
        .unwrap_or_default()
}
