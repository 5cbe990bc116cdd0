//! Command-line flags shared by every controller, named exactly as Flux names them so the upstream
//! install manifests (and users' patches to them) keep working unchanged.

use std::{net::SocketAddr, time::Duration};

use clap::{Args, ValueEnum};

/// Flags every Flux controller accepts (`fluxcd/pkg/runtime` options).
///
/// Boolean flags take Go's forms, `--flag` and `--flag=true|false`. Flags whose behaviour does not
/// exist yet are refused at start-up unless left at their default
/// ([`CommonArgs::unread_flags`](crate::unsupported::flags)).
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Address the Prometheus `/metrics` endpoint binds to.
    #[arg(long, default_value = ":8080", value_parser = parse_bind_addr)]
    pub metrics_addr: SocketAddr,

    /// Address the `/healthz` and `/readyz` probes bind to.
    #[arg(long, default_value = ":9440", value_parser = parse_bind_addr)]
    pub health_addr: SocketAddr,

    /// URL of notification-controller's event endpoint; events are only recorded in Kubernetes when
    /// empty.
    #[arg(long, default_value = "")]
    pub events_addr: String,

    /// Only the elected leader (a coordination.k8s.io Lease) reconciles.
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub enable_leader_election: bool,

    /// How long a non-leader waits before taking over an expired lease.
    #[arg(long, default_value = "35s", value_parser = parse_duration)]
    pub leader_election_lease_duration: Duration,

    /// How long the leader keeps trying to renew before giving up leadership.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub leader_election_renew_deadline: Duration,

    /// How often candidates retry to acquire or renew the lease.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub leader_election_retry_period: Duration,

    /// Release the lease when the process stops, so a successor does not wait for it to expire.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    pub leader_election_release_on_cancel: bool,

    /// Log verbosity.
    #[arg(long, value_enum, default_value_t = LogLevel::Info)]
    pub log_level: LogLevel,

    /// Log format: one JSON object per line, or human-readable text.
    #[arg(long, value_enum, default_value_t = LogEncoding::Json)]
    pub log_encoding: LogEncoding,

    /// Watch every namespace; when false only `RUNTIME_NAMESPACE` is watched.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub watch_all_namespaces: bool,

    /// Only reconcile objects matching this label selector (sharding).
    #[arg(long, default_value = "")]
    pub watch_label_selector: String,

    /// ConfigMaps and Secrets with these labels trigger reconciles of the objects that use them.
    #[arg(long, default_value = "reconcile.fluxcd.io/watch=Enabled")]
    pub watch_configs_label_selector: String,

    /// Shortest delay before retrying a failed reconcile.
    #[arg(long, default_value = "750ms", value_parser = parse_duration)]
    pub min_retry_delay: Duration,

    /// Longest delay before retrying a failed reconcile.
    #[arg(long, default_value = "15m", value_parser = parse_duration)]
    pub max_retry_delay: Duration,

    /// Spread of `spec.interval` requeues, in percent either way.
    #[arg(long, default_value_t = 5)]
    pub interval_jitter_percentage: u8,

    /// Sustained requests per second to the Kubernetes API.
    #[arg(long, default_value_t = 50.0)]
    pub kube_api_qps: f32,

    /// Burst of requests to the Kubernetes API.
    #[arg(long, default_value_t = 300)]
    pub kube_api_burst: u32,

    /// Refuse references to objects in other namespaces.
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub no_cross_namespace_refs: bool,

    /// Service account to impersonate (or use for workload identity) when an object names none.
    #[arg(long, default_value = "")]
    pub default_service_account: String,

    /// Size of the cloud-provider token cache.
    #[arg(long, default_value_t = 100)]
    pub token_cache_max_size: u32,

    /// Longest time a cloud-provider token is cached.
    #[arg(long, default_value = "1h", value_parser = parse_duration)]
    pub token_cache_max_duration: Duration,

    /// Feature gates as `Name=true,Other=false`.
    #[arg(long, default_value = "")]
    pub feature_gates: String,

    /// Allow exec credential plugins in remote kubeconfigs.
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub insecure_kubeconfig_exec: bool,

    /// Allow remote kubeconfigs that skip TLS verification.
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub insecure_kubeconfig_tls: bool,

    /// Timeouts and the connection limit of every HTTP server the controller runs.
    #[command(flatten)]
    pub http_server: crate::http_server::HttpServerArgs,
}

/// Log verbosity levels Flux accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Error,
}

/// Log output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogEncoding {
    Json,
    Console,
}

/// Parses Go-style listen addresses: `:8080` means every interface, as in Go's `net.Listen`.
pub fn parse_bind_addr(value: &str) -> Result<SocketAddr, String> {
    let full = if value.starts_with(':') {
        format!("0.0.0.0{value}")
    } else {
        value.to_owned()
    };
    full.parse().map_err(|e| {
        format!("'{value}' is not a listen address like ':8080' or '127.0.0.1:8080': {e}")
    })
}

/// Parses Go duration strings (`1m30s`, `750ms`, `1.5h`), the format of every Flux duration flag.
pub fn parse_duration(value: &str) -> Result<Duration, String> {
    let invalid = || format!("'{value}' is not a duration like '30s', '1m30s' or '750ms'");
    if value == "0" {
        return Ok(Duration::ZERO);
    }
    let mut rest = value;
    let mut total = 0f64;
    if rest.is_empty() {
        return Err(invalid());
    }
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(invalid)?;
        let number: f64 = rest[..number_len].parse().map_err(|_| invalid())?;
        rest = &rest[number_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let seconds_per_unit = match &rest[..unit_len] {
            "ns" => 1e-9,
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            _ => return Err(invalid()),
        };
        total += number * seconds_per_unit;
        rest = &rest[unit_len..];
    }
    Ok(Duration::from_secs_f64(total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse_like_go() {
        assert_eq!(parse_duration("1m30s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("750ms"), Ok(Duration::from_millis(750)));
        assert_eq!(parse_duration("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("0"), Ok(Duration::ZERO));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("5d").is_err());
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert!(parse_duration("5").is_err());
        assert!(parse_duration("5x").is_err());
    }

    #[test]
    fn go_listen_addresses_bind_every_interface() {
        assert_eq!(parse_bind_addr(":9440").map(|a| a.port()), Ok(9440));
        assert!(parse_bind_addr("127.0.0.1:1").is_ok());
        assert!(parse_bind_addr("nonsense").is_err());
    }
}
