//! Command-line flags of source-controller, named as Flux names them.

use eddy_runtime::cli::CommonArgs;

#[derive(Debug, clap::Parser)]
#[command(
    name = "source-controller",
    version,
    about = "Fetches sources (Git, OCI, Helm, buckets) and serves them as artifacts"
)]
pub struct Args {
    #[command(flatten)]
    pub common: CommonArgs,

    /// How many objects of each kind are reconciled at the same time.
    #[arg(long, default_value_t = 2)]
    pub concurrent: usize,

    /// Directory where artifacts are stored.
    #[arg(long, default_value = "/data")]
    pub storage_path: std::path::PathBuf,

    /// Address the artifact file server binds to.
    #[arg(long, default_value = ":9090", value_parser = eddy_runtime::cli::parse_bind_addr)]
    pub storage_addr: std::net::SocketAddr,

    /// Host (and port) put into artifact URLs; defaults to the storage address.
    #[arg(long, default_value = "")]
    pub storage_adv_addr: String,

    /// How long superseded artifacts are kept.
    #[arg(long, default_value = "1m", value_parser = eddy_runtime::cli::parse_duration)]
    pub artifact_retention_ttl: std::time::Duration,

    /// How many artifacts per object are kept.
    #[arg(long, default_value_t = 2)]
    pub artifact_retention_records: usize,

    /// Digest algorithm of artifacts: sha256, sha384 or sha512.
    #[arg(long, default_value = "sha256")]
    pub artifact_digest_algo: String,

    /// How long to wait before retrying when a dependency (an included source) is not ready.
    #[arg(long, default_value = "30s", value_parser = eddy_runtime::cli::parse_duration)]
    pub requeue_dependency: std::time::Duration,

    /// Largest Helm repository index accepted, in bytes.
    #[arg(long, default_value_t = 50 * 1024 * 1024)]
    pub helm_index_max_size: u64,

    /// Largest Helm chart accepted, in bytes.
    #[arg(long, default_value_t = 10 * 1024 * 1024)]
    pub helm_chart_max_size: u64,

    /// Largest single file inside a Helm chart, in bytes.
    #[arg(long, default_value_t = 5 * 1024 * 1024)]
    pub helm_chart_file_max_size: u64,

    /// Entries of the in-memory Helm index cache (0 disables it).
    #[arg(long, default_value_t = 0)]
    pub helm_cache_max_size: usize,

    /// How long a cached Helm index stays valid.
    #[arg(long, default_value = "15m", value_parser = eddy_runtime::cli::parse_duration)]
    pub helm_cache_ttl: std::time::Duration,

    /// How often expired Helm index cache entries are purged.
    #[arg(long, default_value = "1m", value_parser = eddy_runtime::cli::parse_duration)]
    pub helm_cache_purge_interval: std::time::Duration,

    /// Largest Git repository accepted (download and checked-out files), in bytes; 0 means no
    /// limit. Eddy-specific: Flux has no such flag.
    #[arg(long, default_value_t = 0)]
    pub git_max_size: u64,

    /// SSH key exchange algorithms to offer, comma separated.
    #[arg(long, default_value = "")]
    pub ssh_kex_algos: String,

    /// SSH host key algorithms to accept, comma separated.
    #[arg(long, default_value = "")]
    pub ssh_hostkey_algos: String,
}
