//! Command-line flags of helm-controller, named as Flux names them.

use eddy_runtime::cli::CommonArgs;

#[derive(Debug, clap::Parser)]
#[command(
    name = "helm-controller",
    version,
    about = "Renders Helm charts and manages HelmReleases"
)]
pub struct Args {
    #[command(flatten)]
    pub common: CommonArgs,

    /// How many objects of each kind are reconciled at the same time.
    #[arg(long, default_value_t = 4)]
    pub concurrent: usize,

    /// How long to wait before retrying when a source or dependency is not ready.
    #[arg(long, default_value = "30s", value_parser = eddy_runtime::cli::parse_duration)]
    pub requeue_dependency: std::time::Duration,

    /// How long running Helm actions may take to finish when the controller stops.
    #[arg(long, default_value = "600s", value_parser = eddy_runtime::cli::parse_duration)]
    pub graceful_shutdown_timeout: std::time::Duration,

    /// Retries when downloading a chart artifact.
    #[arg(long, default_value_t = 9)]
    pub http_retry: u32,

    /// Timeout of one chart download.
    #[arg(long, default_value = "30s", value_parser = eddy_runtime::cli::parse_duration)]
    pub http_timeout: std::time::Duration,

    /// Service account used for remote kubeconfigs when a HelmRelease names none.
    #[arg(long, default_value = "")]
    pub default_kubeconfig_service_account: String,

    /// Memory use (percent of the limit) at which the controller stops gracefully.
    #[arg(long, default_value_t = 95)]
    pub oom_watch_memory_threshold: u8,

    /// How often memory use is checked.
    #[arg(long, default_value = "500ms", value_parser = eddy_runtime::cli::parse_duration)]
    pub oom_watch_interval: std::time::Duration,

    /// File holding the memory limit (cgroup).
    #[arg(long, default_value = "")]
    pub oom_watch_max_memory_path: String,

    /// File holding the current memory use (cgroup).
    #[arg(long, default_value = "")]
    pub oom_watch_current_memory_path: String,

    /// Digest algorithm of release snapshots.
    #[arg(long, default_value = "sha256")]
    pub snapshot_digest_algo: String,

    /// Field managers whose fields are taken over when correcting drift; repeatable.
    #[arg(long)]
    pub override_manager: Vec<String>,
}
