//! Wiring the Kustomization reconciler into the shared controller runner.

pub mod kustomization;
pub(crate) mod source;
mod status;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use eddy_api::kustomize::Kustomization;
use eddy_runtime::{events::EventRecorder, process::ControllerProcess};
use futures::StreamExt;
use kube::{
    Api, ResourceExt,
    api::{ApiResource, DynamicObject, GroupVersionKind},
    runtime::{WatchStreamExt, reflector::ObjectRef, watcher},
};
use tokio_util::sync::CancellationToken;

use crate::{Args, apply::cluster::Cluster};

/// Settings the reconciler takes from the command line.
#[derive(Debug, Clone)]
pub struct Settings {
    pub requeue_dependency: Duration,
    pub http_retry: u32,
    pub concurrent_ssa: usize,
    pub no_cross_namespace_refs: bool,
    pub default_service_account: String,
    pub override_managers: Vec<String>,
    pub custom_apply_stage_kinds: Vec<String>,
    pub interval_jitter_percentage: u8,
    /// How often a pending health check is evaluated again.
    pub health_poll: Duration,
    /// `SOURCE_CONTROLLER_LOCALHOST`: replaces the artifact URL's host.
    pub source_host_override: Option<String>,
}

impl Settings {
    pub fn from_args(args: &Args) -> Self {
        Self {
            requeue_dependency: args.requeue_dependency,
            http_retry: args.http_retry,
            concurrent_ssa: args.concurrent_ssa,
            no_cross_namespace_refs: args.common.no_cross_namespace_refs,
            default_service_account: args.common.default_service_account.clone(),
            override_managers: args.override_manager.clone(),
            custom_apply_stage_kinds: args.custom_apply_stage_kinds.clone(),
            interval_jitter_percentage: args.common.interval_jitter_percentage,
            health_poll: Duration::from_secs(2),
            source_host_override: std::env::var("SOURCE_CONTROLLER_LOCALHOST").ok(),
        }
    }
}

/// Everything a reconcile needs besides the object.
pub struct Context {
    pub client: kube::Client,
    /// The configuration the client was built from, used to build impersonating clients.
    pub config: Option<kube::Config>,
    pub cluster: Arc<Cluster>,
    pub http: reqwest::Client,
    pub artifacts: crate::artifact_cache::ArtifactCache,
    pub recorder: EventRecorder,
    pub settings: Settings,
    impersonated: Mutex<HashMap<String, Arc<Cluster>>>,
    pending_health: Mutex<HashMap<String, kustomization::PendingHealth>>,
}

impl Context {
    pub fn new(
        client: kube::Client,
        config: Option<kube::Config>,
        recorder: EventRecorder,
        settings: Settings,
    ) -> Result<Self, crate::RunError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .build()?;
        Ok(Self {
            cluster: Arc::new(Cluster::new(client.clone())),
            client,
            config,
            http,
            artifacts: crate::artifact_cache::ArtifactCache::new()?,
            recorder,
            settings,
            impersonated: Mutex::new(HashMap::new()),
            pending_health: Mutex::new(HashMap::new()),
        })
    }

    /// The cluster access for a Kustomization: impersonating its service account when it names
    /// one (or `--default-service-account` is set).
    pub fn cluster_for(
        &self,
        namespace: &str,
        service_account: Option<&str>,
    ) -> Result<Arc<Cluster>, String> {
        let account = service_account
            .filter(|s| !s.is_empty())
            .or(Some(self.settings.default_service_account.as_str()).filter(|s| !s.is_empty()));
        let Some(account) = account else {
            return Ok(self.cluster.clone());
        };
        let user = format!("system:serviceaccount:{namespace}:{account}");
        let mut cache = self.impersonated.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(cluster) = cache.get(&user) {
            return Ok(cluster.clone());
        }
        let Some(config) = &self.config else {
            return Err("cannot impersonate service accounts: no client configuration".into());
        };
        let mut config = config.clone();
        config.auth_info.impersonate = Some(user.clone());
        let client = kube::Client::try_from(config)
            .map_err(|e| format!("failed to build client for '{user}': {e}"))?;
        let cluster = Arc::new(Cluster::new(client));
        cache.insert(user, cluster.clone());
        Ok(cluster)
    }

    pub(crate) fn pending_health(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, kustomization::PendingHealth>> {
        self.pending_health
            .lock()
            .unwrap_or_else(|p| p.into_inner())
    }
}

/// Runs the Kustomization controller until `stop` is cancelled.
pub async fn run_controller(
    process: &ControllerProcess,
    args: &Args,
    context: Arc<Context>,
    stop: CancellationToken,
) {
    let git_resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("source.toolkit.fluxcd.io", "v1", "GitRepository"),
        "gitrepositories",
    );
    let git: Api<DynamicObject> = if args.common.watch_all_namespaces {
        Api::all_with(process.client.clone(), &git_resource)
    } else {
        Api::namespaced_with(
            process.client.clone(),
            &eddy_runtime::watch::runtime_namespace(),
            &git_resource,
        )
    };
    let customize: eddy_runtime::controller::Customize<Kustomization> =
        Box::new(move |controller| {
            // A new artifact revision triggers every Kustomization that uses the source.
            let store = controller.store();
            let revisions = Arc::new(Mutex::new(HashMap::<String, String>::new()));
            let stream = watcher(git, watcher::Config::default().any_semantic())
                .default_backoff()
                .applied_objects()
                .filter_map(move |result| {
                    let revisions = revisions.clone();
                    async move {
                        let source = result.ok()?;
                        let revision = source
                            .data
                            .pointer("/status/artifact/revision")?
                            .as_str()?
                            .to_owned();
                        let key = format!(
                            "{}/{}",
                            source.namespace().unwrap_or_default(),
                            source.name_any()
                        );
                        let mut seen = revisions.lock().unwrap_or_else(|p| p.into_inner());
                        if seen.get(&key) == Some(&revision) {
                            return None;
                        }
                        seen.insert(key, revision);
                        Some(Ok(source))
                    }
                });
            controller.watches_stream_with(
                stream,
                move |source: DynamicObject| {
                    let namespace = source.namespace().unwrap_or_default();
                    let name = source.name_any();
                    store
                        .state()
                        .into_iter()
                        .filter(|ks| {
                            ks.spec.source_ref.name == name
                                && ks
                                    .spec
                                    .source_ref
                                    .namespace
                                    .clone()
                                    .or_else(|| ks.namespace())
                                    .as_deref()
                                    == Some(namespace.as_str())
                                && matches!(
                                    ks.spec.source_ref.kind,
                                    eddy_api::kustomize::kustomization::SourceKind::GitRepository
                                )
                        })
                        .map(|ks| ObjectRef::from_obj(&*ks))
                        .collect::<Vec<_>>()
                },
                git_resource,
            )
        });
    eddy_runtime::controller::run(
        process,
        &args.common,
        args.concurrent,
        context,
        kustomization::reconcile,
        Some(customize),
        stop,
    )
    .await;
}
