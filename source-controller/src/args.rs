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

impl Args {
    /// Flags parsed but not acted on yet (the Helm index cache, the SSH
    /// algorithm lists are not passed to the transport): a non-default value is refused at
    /// start-up.
    pub fn unread_flags(&self) -> Vec<eddy_runtime::unsupported::flags::UnreadFlag> {
        use std::time::Duration;

        use eddy_runtime::unsupported::flags::UnreadFlag;
        let mut flags = self.common.unread_flags();
        flags.extend([
            UnreadFlag::new("--helm-cache-max-size", &self.helm_cache_max_size, &0),
            UnreadFlag::new(
                "--helm-cache-ttl",
                &self.helm_cache_ttl,
                &Duration::from_secs(15 * 60),
            ),
            UnreadFlag::new(
                "--helm-cache-purge-interval",
                &self.helm_cache_purge_interval,
                &Duration::from_secs(60),
            ),
            UnreadFlag::new("--ssh-kex-algos", &self.ssh_kex_algos, &String::new()),
            UnreadFlag::new(
                "--ssh-hostkey-algos",
                &self.ssh_hostkey_algos,
                &String::new(),
            ),
            UnreadFlag::new(
                "--default-service-account",
                &self.common.default_service_account,
                &String::new(),
            ),
        ]);
        flags
    }
}

#[cfg(test)]
mod unread_flag_tests {
    use clap::Parser;
    use eddy_runtime::unsupported::flags::refuse_non_default;

    use super::*;

    fn refusal(flags: &[&str]) -> Option<String> {
        let argv = std::iter::once("source-controller").chain(flags.iter().copied());
        refuse_non_default(Args::parse_from(argv).unread_flags())
            .err()
            .map(|e| e.to_string())
    }

    #[test]
    fn flux_install_flags_start() {
        let flags = [
            "--events-addr=http://nc/",
            "--watch-all-namespaces=true",
            "--storage-path=/data",
            "--storage-adv-addr=source-controller.$(RUNTIME_NAMESPACE).svc.cluster.local.",
            "--helm-cache-max-size=0",
            "--helm-index-max-size=1000",
            "--helm-chart-max-size=1000",
            "--helm-chart-file-max-size=1000",
        ];
        assert_eq!(refusal(&flags), None);
    }

    #[test]
    fn flags_without_behaviour_are_refused_by_name() {
        for flag in [
            "--helm-cache-max-size=10",
            "--helm-cache-ttl=60m",
            "--helm-cache-purge-interval=5m",
            "--ssh-kex-algos=curve25519-sha256",
            "--ssh-hostkey-algos=ssh-ed25519",
            "--default-service-account=sa",
            "--kube-api-burst=1",
        ] {
            let message = refusal(&[flag]).unwrap_or_default();
            let name = flag.split('=').next().unwrap_or_default();
            assert!(
                message.starts_with(name) && message.contains("is not supported yet"),
                "{flag}: {message}"
            );
        }
    }
}
