//! Command-line flags of notification-controller, named as Flux names them.

use eddy_runtime::cli::CommonArgs;

#[derive(Debug, Clone, clap::Parser)]
#[command(
    name = "notification-controller",
    version,
    about = "Routes events to chat and webhook providers and turns incoming webhooks into reconcile requests"
)]
pub struct Args {
    #[command(flatten)]
    pub common: CommonArgs,

    /// How many objects of each kind are reconciled at the same time.
    #[arg(long, default_value_t = 4)]
    pub concurrent: usize,

    /// Address the webhook receiver server binds to.
    #[arg(long = "receiverAddr", alias = "receiver-addr", default_value = ":9292", value_parser = eddy_runtime::cli::parse_bind_addr)]
    pub receiver_addr: std::net::SocketAddr,

    /// Identical events are forwarded at most once per this interval.
    #[arg(long, default_value = "5m", value_parser = eddy_runtime::cli::parse_duration)]
    pub rate_limit_interval: std::time::Duration,

    /// Label HTTP metrics with request paths.
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub export_http_path_metrics: bool,
}

impl Args {
    /// Flags parsed but not acted on yet: a non-default value is refused at start-up.
    pub fn unread_flags(&self) -> Vec<eddy_runtime::unsupported::flags::UnreadFlag> {
        use eddy_runtime::unsupported::flags::UnreadFlag;
        let mut flags = self.common.unread_flags();
        flags.extend([
            UnreadFlag::new(
                "--export-http-path-metrics",
                &self.export_http_path_metrics,
                &false,
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
        let argv = std::iter::once("notification-controller").chain(flags.iter().copied());
        refuse_non_default(Args::parse_from(argv).unread_flags())
            .err()
            .map(|e| e.to_string())
    }

    #[test]
    fn flux_install_flags_start_and_unread_flags_are_refused_by_name() {
        assert_eq!(
            refusal(&["--watch-all-namespaces=true", "--receiverAddr=:9292"]),
            None
        );
        for flag in [
            "--export-http-path-metrics=true",
            "--default-service-account=sa",
            "--feature-gates=CacheSecretsAndConfigMaps=true",
        ] {
            let message = refusal(&[flag]).unwrap_or_default();
            assert!(message.starts_with(flag), "{flag}: {message}");
        }
    }
}
