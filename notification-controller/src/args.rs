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
    #[arg(long, default_value_t = false)]
    pub export_http_path_metrics: bool,
}
