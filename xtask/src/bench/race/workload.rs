//! What both fleets reconcile: one Git repository served by a real `git http-backend`, holding N
//! small apps (the kustomize-controller bench's shape: ServiceAccount, ConfigMap, headless
//! Service, Deployment with 0 replicas), one GitRepository and N Kustomizations with `wait: true`.

use anyhow::Context;
use eddy_test_support::git_server::{GitHttpServer, HttpServerOptions, RepoRoot, TestRepo};
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use serde_json::json;

use crate::bench::kustomize_controller::app_manifests;
use crate::bench::process::RUN_LABEL;

use super::apiserver::RequestCounts;

pub const GIT_REPOSITORY: &str = "race";
const BRANCH: &str = "master";
const FIELD_MANAGER: &str = "eddy-race";

/// The repository and the server that serves it; dropped together.
pub struct Workload {
    objects: usize,
    repo: TestRepo,
    url: String,
    _server: GitHttpServer,
    _root: RepoRoot,
}

impl Workload {
    /// Creates the repository (no commit yet) and starts serving it.
    pub async fn start(objects: usize) -> anyhow::Result<Self> {
        let root = RepoRoot::new()?;
        let repo = root.create("race")?;
        let server = GitHttpServer::start(root.path(), HttpServerOptions::default()).await?;
        let url = server.url("race");
        Ok(Self {
            objects,
            repo,
            url,
            _server: server,
            _root: root,
        })
    }

    /// Commits generation `generation` of every app (only the ConfigMaps differ between
    /// generations), pushes it and returns the commit's SHA.
    pub fn commit(&self, generation: u32) -> anyhow::Result<String> {
        for index in 0..self.objects {
            for (file, text) in app_manifests(index, generation) {
                self.repo.write(&format!("apps/app-{index}/{file}"), text)?;
            }
        }
        let sha = self
            .repo
            .commit_all(&format!("generation {generation} of {} apps", self.objects))?;
        self.repo.push(BRANCH)?;
        Ok(sha)
    }

    pub fn objects(&self) -> usize {
        self.objects
    }

    /// Creates the GitRepository and the Kustomizations in `namespace`, all labelled for run
    /// `run_id`; counts the requests in `own`.
    pub async fn create_objects(
        &self,
        client: &kube::Client,
        namespace: &str,
        run_id: &str,
        own: &mut RequestCounts,
    ) -> anyhow::Result<()> {
        let params = PatchParams::apply(FIELD_MANAGER).force();
        let source = json!({
            "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
            "metadata": {"name": GIT_REPOSITORY, "namespace": namespace, "labels": {RUN_LABEL: run_id}},
            "spec": {"url": self.url, "interval": "60m", "timeout": "60s", "ref": {"branch": BRANCH}},
        });
        git_repositories(client, namespace)
            .patch(GIT_REPOSITORY, &params, &Patch::Apply(&source))
            .await
            .context("cannot create the GitRepository")?;
        own.add("APPLY", 1);
        let kustomizations = kustomizations(client, namespace);
        for index in 0..self.objects {
            let name = format!("app-{index}");
            let object = json!({
                "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
                "metadata": {"name": name, "namespace": namespace, "labels": {RUN_LABEL: run_id}},
                "spec": {
                    "interval": "60m", "retryInterval": "30s", "timeout": "5m",
                    "path": format!("./apps/{name}"), "prune": true, "wait": true,
                    "targetNamespace": namespace,
                    "sourceRef": {"kind": "GitRepository", "name": GIT_REPOSITORY},
                },
            });
            kustomizations
                .patch(&name, &params, &Patch::Apply(&object))
                .await
                .with_context(|| format!("cannot create Kustomization {name}"))?;
            own.add("APPLY", 1);
        }
        Ok(())
    }
}

fn resource(group: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, "v1", kind), plural)
}

pub fn git_repositories(client: &kube::Client, namespace: &str) -> Api<DynamicObject> {
    let resource = resource(
        "source.toolkit.fluxcd.io",
        "GitRepository",
        "gitrepositories",
    );
    Api::namespaced_with(client.clone(), namespace, &resource)
}

pub fn kustomizations(client: &kube::Client, namespace: &str) -> Api<DynamicObject> {
    let resource = resource(
        "kustomize.toolkit.fluxcd.io",
        "Kustomization",
        "kustomizations",
    );
    Api::namespaced_with(client.clone(), namespace, &resource)
}
