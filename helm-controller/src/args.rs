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

    #[command(flatten)]
    pub artifact: eddy_artifact::ArtifactArgs,

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

impl Args {
    /// Flags the HelmRelease reconciler does not read yet: a value other than the default is
    /// refused at start-up. (`--requeue-dependency`, `--http-retry` and `--http-timeout` are
    /// read.)
    pub fn unread_flags(&self) -> Vec<eddy_runtime::unsupported::flags::UnreadFlag> {
        use std::time::Duration;

        use eddy_runtime::unsupported::flags::UnreadFlag;
        let mut flags = self.common.unread_flags();
        flags.extend([
            UnreadFlag::new(
                "--default-service-account",
                &self.common.default_service_account,
                &String::new(),
            ),
            UnreadFlag::new(
                "--graceful-shutdown-timeout",
                &self.graceful_shutdown_timeout,
                &Duration::from_secs(600),
            ),
            UnreadFlag::new(
                "--default-kubeconfig-service-account",
                &self.default_kubeconfig_service_account,
                &String::new(),
            ),
            UnreadFlag::new(
                "--oom-watch-memory-threshold",
                &self.oom_watch_memory_threshold,
                &95,
            ),
            UnreadFlag::new(
                "--oom-watch-interval",
                &self.oom_watch_interval,
                &Duration::from_millis(500),
            ),
            UnreadFlag::new(
                "--oom-watch-max-memory-path",
                &self.oom_watch_max_memory_path,
                &String::new(),
            ),
            UnreadFlag::new(
                "--oom-watch-current-memory-path",
                &self.oom_watch_current_memory_path,
                &String::new(),
            ),
            UnreadFlag::new(
                "--snapshot-digest-algo",
                &self.snapshot_digest_algo,
                &"sha256".to_owned(),
            ),
            UnreadFlag::new("--override-manager", &self.override_manager, &Vec::new()),
        ]);
        flags
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use eddy_runtime::unsupported::flags::refuse_non_default;

    use super::*;

    fn refusal(flags: &[&str]) -> Option<String> {
        let argv = std::iter::once("helm-controller").chain(flags.iter().copied());
        refuse_non_default(Args::parse_from(argv).unread_flags())
            .err()
            .map(|e| e.to_string())
    }

    #[test]
    fn flux_install_flags_start() {
        let flags = [
            "--events-addr=http://nc/",
            "--watch-all-namespaces=true",
            "--log-level=info",
            "--enable-leader-election",
            "--concurrent=8",
            "--requeue-dependency=5s",
            "--http-retry=3",
            "--http-timeout=1m",
        ];
        assert_eq!(refusal(&flags), None);
    }

    #[test]
    fn flags_without_behaviour_are_refused_by_name() {
        for flag in [
            "--default-service-account=default",
            "--graceful-shutdown-timeout=1m",
            "--default-kubeconfig-service-account=remote",
            "--oom-watch-memory-threshold=90",
            "--oom-watch-interval=1s",
            "--oom-watch-max-memory-path=/m",
            "--oom-watch-current-memory-path=/c",
            "--snapshot-digest-algo=sha512",
            "--override-manager=kubectl",
            "--kube-api-qps=5",
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
