//! Wiring the Kustomization reconciler into the shared controller runner.

mod config_watch;
pub mod health_check;
mod history;
pub mod kustomization;
mod remote;
mod report;
pub(crate) mod source;
mod termination;
pub mod unsupported;

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::Duration,
};

use eddy_api::kustomize::Kustomization;
use eddy_runtime::{events::EventRecorder, process::ControllerProcess};
use kube::{ResourceExt, runtime::reflector::ObjectRef};
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
    /// Where artifacts are downloaded and unpacked, and how large they may be.
    pub artifact_cache_path: std::path::PathBuf,
    pub artifact_limits: eddy_artifact::Limits,
    pub min_retry_delay: Duration,
    pub max_retry_delay: Duration,
    /// `--sops-age-secret`: a Secret in the controller's namespace whose age keys every
    /// Kustomization with SOPS decryption may use after its own.
    pub sops_age_secret: Option<crate::sops::SecretName>,
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
            sops_age_secret: (!args.sops_age_secret.is_empty()).then(|| crate::sops::SecretName {
                namespace: eddy_runtime::watch::runtime_namespace(),
                name: args.sops_age_secret.clone(),
            }),
            health_poll: Duration::from_secs(2),
            source_host_override: std::env::var("SOURCE_CONTROLLER_LOCALHOST").ok(),
            artifact_cache_path: args.artifact.cache_path(crate::CONTROLLER_NAME),
            artifact_limits: args.artifact.limits(args.http_retry),
            min_retry_delay: args.common.min_retry_delay,
            max_retry_delay: args.common.max_retry_delay,
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
    pub artifacts: eddy_artifact::ArtifactCache,
    pub recorder: EventRecorder,
    pub settings: Settings,
    /// Per-object exponential backoff (`--min-retry-delay` to `--max-retry-delay`).
    pub failure_backoff: eddy_runtime::requeue::Backoff,
    impersonated: Mutex<HashMap<String, Arc<Cluster>>>,
    pending_health: Mutex<HashMap<String, health_check::PendingHealth>>,
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
            artifacts: eddy_artifact::ArtifactCache::open(
                &settings.artifact_cache_path,
                settings.artifact_limits,
            )?,
            recorder,
            failure_backoff: eddy_runtime::requeue::Backoff::new(
                settings.min_retry_delay,
                settings.max_retry_delay,
            ),
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
    ) -> std::sync::MutexGuard<'_, HashMap<String, health_check::PendingHealth>> {
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
    let client = process.client.clone();
    let namespace =
        (!args.common.watch_all_namespaces).then(eddy_runtime::watch::runtime_namespace);
    let configs_selector = args.common.watch_configs_label_selector.clone();
    let customize: eddy_runtime::controller::Customize<Kustomization> =
        Box::new(move |controller| {
            // A new artifact revision of any source kind triggers the Kustomizations using it.
            let store = controller.store();
            let kinds: Vec<_> = SOURCE_KINDS
                .iter()
                .filter_map(|kind| eddy_api::source::artifact_kind(kind))
                .collect();
            let controller = eddy_artifact::trigger::watch_sources(
                controller,
                &client,
                namespace.as_deref(),
                &kinds,
                move |changed| {
                    store
                        .state()
                        .into_iter()
                        .filter(|ks| uses_source(ks, changed))
                        .map(|ks| ObjectRef::from_obj(&*ks))
                        .collect()
                },
            );
            config_watch::watch_configs(
                controller,
                &client,
                namespace.as_deref(),
                &configs_selector,
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

/// The source kinds a Kustomization may reference whose CRDs Eddy serves.
const SOURCE_KINDS: [&str; 4] = [
    "GitRepository",
    "OCIRepository",
    "Bucket",
    "ExternalArtifact",
];

/// Whether `ks` builds from the source that `changed` names.
fn uses_source(ks: &Kustomization, changed: &eddy_artifact::trigger::ChangedSource) -> bool {
    let reference = &ks.spec.source_ref;
    reference.name == changed.name
        && source::kind_name(reference.kind) == changed.kind
        && reference
            .namespace
            .clone()
            .or_else(|| ks.namespace())
            .as_deref()
            == Some(changed.namespace.as_str())
}
