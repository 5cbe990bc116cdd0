//! Command-line flags of the image controllers, named as Flux names them.

use std::time::Duration;

use eddy_runtime::{cli::CommonArgs, unsupported::flags::UnreadFlag};

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

impl ReflectorArgs {
    /// Flags the reflector does not act on yet (tag storage tuning, garbage collection): a
    /// value other than the default is refused at start-up.
    pub fn unread_flags(&self) -> Vec<UnreadFlag> {
        let mut flags = self.common.unread_flags();
        flags.extend([
            UnreadFlag::new(
                "--storage-value-log-file-size",
                &self.storage_value_log_file_size,
                &(1 << 28),
            ),
            UnreadFlag::new(
                "--storage-compression-threshold",
                &self.storage_compression_threshold,
                &(64 * 1024),
            ),
            UnreadFlag::new(
                "--gc-interval",
                &self.gc_interval,
                &Duration::from_secs(600),
            ),
            UnreadFlag::new(
                "--requeue-dependency",
                &self.requeue_dependency,
                &Duration::from_secs(30),
            ),
            default_service_account(&self.common),
        ]);
        flags
    }
}

impl AutomationArgs {
    /// Flags the automation does not act on yet (SSH algorithm lists, workload identity).
    pub fn unread_flags(&self) -> Vec<UnreadFlag> {
        let mut flags = self.common.unread_flags();
        flags.extend([
            UnreadFlag::new("--ssh-kex-algos", &self.ssh_kex_algos, &String::new()),
            UnreadFlag::new(
                "--ssh-hostkey-algos",
                &self.ssh_hostkey_algos,
                &String::new(),
            ),
            default_service_account(&self.common),
        ]);
        flags
    }
}

fn default_service_account(common: &CommonArgs) -> UnreadFlag {
    UnreadFlag::new(
        "--default-service-account",
        &common.default_service_account,
        &String::new(),
    )
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use eddy_runtime::unsupported::flags::refuse_non_default;

    use super::*;

    fn refused<A: Parser>(
        name: &str,
        flags: &[&str],
        unread: fn(&A) -> Vec<UnreadFlag>,
    ) -> Option<String> {
        let args = A::parse_from(std::iter::once(name).chain(flags.iter().copied()));
        refuse_non_default(unread(&args))
            .err()
            .map(|e| e.to_string())
    }

    #[test]
    fn defaults_start_and_every_unread_flag_is_refused_by_name() {
        let reflector = |flags: &[&str]| {
            refused::<ReflectorArgs>(
                "image-reflector-controller",
                flags,
                ReflectorArgs::unread_flags,
            )
        };
        let automation = |flags: &[&str]| {
            refused::<AutomationArgs>(
                "image-automation-controller",
                flags,
                AutomationArgs::unread_flags,
            )
        };
        assert_eq!(
            reflector(&["--watch-all-namespaces", "--concurrent=2"]),
            None
        );
        assert_eq!(reflector(&["--storage-path=/tmp/tags"]), None);
        assert_eq!(
            automation(&["--watch-all-namespaces", "--concurrent=2"]),
            None
        );
        for flag in [
            "--storage-value-log-file-size=1",
            "--storage-compression-threshold=1",
            "--gc-interval=1m",
            "--requeue-dependency=1s",
            "--default-service-account=sa",
        ] {
            let message = reflector(&[flag]).unwrap_or_default();
            assert!(
                message.contains("is not supported yet"),
                "{flag}: {message}"
            );
        }
        for flag in [
            "--ssh-kex-algos=a",
            "--ssh-hostkey-algos=b",
            "--default-service-account=sa",
        ] {
            let message = automation(&[flag]).unwrap_or_default();
            assert!(message.starts_with(flag), "{flag}: {message}");
        }
    }
}
