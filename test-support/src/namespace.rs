//! A namespace of its own for every test, removed afterwards.

use std::path::PathBuf;

use anyhow::Context;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, ObjectMeta, PostParams};

/// Set to `1` to keep test namespaces after the test (to inspect what a failed test left).
pub const KEEP_NAMESPACES_ENV: &str = "EDDY_TEST_KEEP_NAMESPACES";

/// A uniquely named namespace, deleted by [`TestNamespace::cleanup`] or, failing that, on drop.
///
/// Drop cannot await, and the test's client dies with the test's runtime, so a namespace that was
/// not cleaned up explicitly is deleted from a short-lived thread with a client of its own; drop
/// blocks for that one request (also when the test panics). Deletion is not awaited to
/// completion: the namespace controller finishes it in the background.
pub struct TestNamespace {
    name: String,
    client: kube::Client,
    kubeconfig: PathBuf,
    deleted: bool,
}

impl TestNamespace {
    /// Creates a namespace named `<prefix>-<random suffix>` (the API server picks the suffix, so
    /// names never collide across tests or runs). `prefix` must be a valid DNS label start.
    pub async fn new(client: &kube::Client, prefix: &str) -> anyhow::Result<Self> {
        let namespaces: Api<Namespace> = Api::all(client.clone());
        let template = Namespace {
            metadata: ObjectMeta {
                generate_name: Some(format!("{prefix}-")),
                labels: Some([("eddy.test/namespace".to_owned(), "true".to_owned())].into()),
                ..ObjectMeta::default()
            },
            ..Namespace::default()
        };
        let created = namespaces
            .create(&PostParams::default(), &template)
            .await
            .with_context(|| format!("cannot create a test namespace with prefix {prefix:?}"))?;
        let name = created
            .metadata
            .name
            .context("the API server returned a namespace without a name")?;
        Ok(Self {
            name,
            client: client.clone(),
            kubeconfig: crate::env::kubeconfig_path()?,
            deleted: false,
        })
    }

    /// The namespace's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Deletes the namespace now (unless [`KEEP_NAMESPACES_ENV`] is set).
    pub async fn cleanup(mut self) -> anyhow::Result<()> {
        self.deleted = true;
        if keep_namespaces() {
            return Ok(());
        }
        delete(&self.client, &self.name).await
    }
}

impl std::fmt::Debug for TestNamespace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestNamespace")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        if self.deleted || keep_namespaces() {
            return;
        }
        let name = std::mem::take(&mut self.name);
        let kubeconfig = self.kubeconfig.clone();
        let deletion = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let client = eddy_testenv::client(&kubeconfig).await?;
                delete(&client, &name).await
            })
        });
        if let Ok(Err(error)) = deletion.join() {
            eprintln!("test namespace left behind: {error:#}");
        }
    }
}

async fn delete(client: &kube::Client, name: &str) -> anyhow::Result<()> {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    match namespaces.delete(name, &DeleteParams::background()).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(status)) if status.code == 404 => Ok(()),
        Err(error) => Err(error).with_context(|| format!("cannot delete test namespace {name}")),
    }
}

fn keep_namespaces() -> bool {
    std::env::var(KEEP_NAMESPACES_ENV).is_ok_and(|value| value == "1")
}
