//! Command-line flags of the image controllers, named as Flux names them.

use eddy_runtime::cli::CommonArgs;

/// Flags of image-reflector-controller.
#[derive(Debug, clap::Parser)]
#[command(
    name = "image-reflector-controller",
    version,
    about = "Scans image registries for tags and selects the latest per policy"
)]
pub struct ReflectorArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    /// How many objects of each kind are reconciled at the same time.
    #[arg(long, default_value_t = 4)]
    pub concurrent: usize,

    /// Directory where scanned tags are stored.
    #[arg(long, default_value = "/data")]
    pub storage_path: std::path::PathBuf,

    /// Accepted for compatibility with Flux's Badger storage flag; Eddy's tag store does not use it.
    #[arg(long, default_value_t = 1 << 28)]
    pub storage_value_log_file_size: u64,

    /// Tag lists at least this large are stored compressed, in bytes.
    #[arg(long, default_value_t = 64 * 1024)]
    pub storage_compression_threshold: u64,

    /// How often unused tag data is collected (0 disables it).
    #[arg(long, default_value = "10m", value_parser = eddy_runtime::cli::parse_duration)]
    pub gc_interval: std::time::Duration,

    /// How long to wait before retrying when a dependency is not ready.
    #[arg(long, default_value = "30s", value_parser = eddy_runtime::cli::parse_duration)]
    pub requeue_dependency: std::time::Duration,
}

/// Flags of image-automation-controller.
#[derive(Debug, clap::Parser)]
#[command(
    name = "image-automation-controller",
    version,
    about = "Writes the latest image references selected by policies back to Git"
)]
pub struct AutomationArgs {
    #[command(flatten)]
    pub common: CommonArgs,

    /// How many objects of each kind are reconciled at the same time.
    #[arg(long, default_value_t = 4)]
    pub concurrent: usize,

    /// SSH key exchange algorithms to offer, comma separated.
    #[arg(long, default_value = "")]
    pub ssh_kex_algos: String,

    /// SSH host key algorithms to accept, comma separated.
    #[arg(long, default_value = "")]
    pub ssh_hostkey_algos: String,
}
