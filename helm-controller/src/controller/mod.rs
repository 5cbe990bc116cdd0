//! Wiring the HelmRelease reconciler into the shared controller runner.

mod action;
mod apply;
mod chart_source;
mod cluster_info;
pub mod helmrelease;
pub mod release_name;
pub mod release_state;
mod render;
mod report;
mod storage;
pub mod unsupported;
pub mod values;

use std::{sync::Arc, time::Duration};

use eddy_api::helm::HelmRelease;
use eddy_kustomization::apply::cluster::Cluster;
use eddy_runtime::{events::EventRecorder, process::ControllerProcess};
use kube::{ResourceExt, runtime::reflector::ObjectRef};
use tokio_util::sync::CancellationToken;

use crate::Args;

/// The field manager of everything helm-controller applies (Flux's name).
pub const FIELD_MANAGER: &str = "helm-controller";

/// Settings the reconciler takes from the command line.
#[derive(Debug, Clone)]
pub struct Settings {
    pub requeue_dependency: Duration,
    pub no_cross_namespace_refs: bool,
    pub interval_jitter_percentage: u8,
    /// How often a release being waited for is looked at again.
    pub health_poll: Duration,
    /// `SOURCE_CONTROLLER_LOCALHOST`: replaces the artifact URL's host.
    pub source_host_override: Option<String>,
    pub artifact_cache_path: std::path::PathBuf,
    pub artifact_limits: eddy_artifact::Limits,
    /// `--http-timeout`: one chart download.
    pub http_timeout: Duration,
    pub min_retry_delay: Duration,
    pub max_retry_delay: Duration,
}

impl Settings {
    pub fn from_args(args: &Args) -> Self {
        Self {
            requeue_dependency: args.requeue_dependency,
            no_cross_namespace_refs: args.common.no_cross_namespace_refs,
            interval_jitter_percentage: args.common.interval_jitter_percentage,
            health_poll: Duration::from_secs(2),
            source_host_override: std::env::var("SOURCE_CONTROLLER_LOCALHOST").ok(),
            artifact_cache_path: args.artifact.cache_path(crate::CONTROLLER_NAME),
            artifact_limits: args.artifact.limits(args.http_retry),
            http_timeout: args.http_timeout,
            min_retry_delay: args.common.min_retry_delay,
            max_retry_delay: args.common.max_retry_delay,
        }
    }
}

/// Everything a reconcile needs besides the object.
pub struct Context {
    pub client: kube::Client,
    pub cluster: Arc<Cluster>,
    pub http: reqwest::Client,
    pub artifacts: eddy_artifact::ArtifactCache,
    pub recorder: EventRecorder,
    pub settings: Settings,
    pub failure_backoff: eddy_runtime::requeue::Backoff,
    /// The cluster's version and API groups, read once (what `.Capabilities` tells charts).
    capabilities: tokio::sync::OnceCell<eddy_helm::Capabilities>,
}

impl Context {
    pub fn new(
        client: kube::Client,
        recorder: EventRecorder,
        settings: Settings,
    ) -> Result<Self, crate::RunError> {
        let http = reqwest::Client::builder()
            .timeout(settings.http_timeout)
            .build()?;
        Ok(Self {
            cluster: Arc::new(Cluster::with_field_manager(client.clone(), FIELD_MANAGER)),
            client,
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
            capabilities: tokio::sync::OnceCell::new(),
        })
    }

    /// `.Capabilities` of the live cluster, discovered on first use.
    pub async fn capabilities(&self) -> Result<eddy_helm::Capabilities, kube::Error> {
        self.capabilities
            .get_or_try_init(|| cluster_info::capabilities(&self.client))
            .await
            .cloned()
    }
}

/// Runs the HelmRelease controller until `stop` is cancelled.
pub async fn run_controller(
    process: &ControllerProcess,
    args: &Args,
    context: Arc<Context>,
    stop: CancellationToken,
) {
    let client = process.client.clone();
    let namespace =
        (!args.common.watch_all_namespaces).then(eddy_runtime::watch::runtime_namespace);
    let customize: eddy_runtime::controller::Customize<HelmRelease> = Box::new(move |controller| {
        // A new chart artifact (of the generated HelmChart or a chartRef) triggers the
        // HelmReleases using it.
        let store = controller.store();
        let kinds: Vec<_> = ["HelmChart", "OCIRepository"]
            .iter()
            .filter_map(|kind| eddy_api::source::artifact_kind(kind))
            .collect();
        eddy_artifact::trigger::watch_sources(
            controller,
            &client,
            namespace.as_deref(),
            &kinds,
            move |changed| {
                store
                    .state()
                    .into_iter()
                    .filter(|hr| uses_chart(hr, changed))
                    .map(|hr| ObjectRef::from_obj(&*hr))
                    .collect()
            },
        )
    });
    eddy_runtime::controller::run(
        process,
        &args.common,
        args.concurrent,
        context,
        helmrelease::reconcile,
        Some(customize),
        stop,
    )
    .await;
}

/// Whether `hr` takes its chart from the source that `changed` names.
fn uses_chart(hr: &HelmRelease, changed: &eddy_artifact::trigger::ChangedSource) -> bool {
    if let Some((namespace, name)) = hr.generated_helm_chart() {
        return changed.kind == "HelmChart"
            && changed.namespace == namespace
            && changed.name == name;
    }
    let Some(reference) = &hr.spec.chart_ref else {
        return false;
    };
    let namespace = reference.namespace.clone().or_else(|| hr.namespace());
    chart_source::reference_kind(reference.kind) == changed.kind
        && reference.name == changed.name
        && namespace.as_deref() == Some(changed.namespace.as_str())
}
