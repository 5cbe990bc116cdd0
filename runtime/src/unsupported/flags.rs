//! Refusing, at start-up, a flag whose behaviour a controller does not have yet.
//!
//! Flux's install manifests and users' patches set Flux's flags; a flag Eddy parses but does not
//! act on would silently change nothing. Its default value keeps working (so the upstream
//! manifests still start); any other value stops the process with a message naming the flag.

use std::{fmt, path::PathBuf, time::Duration};

use crate::cli::CommonArgs;

/// One flag a controller parses but does not act on, with the value it was given.
#[derive(Debug, Clone, PartialEq)]
pub struct UnreadFlag {
    name: &'static str,
    value: String,
    is_default: bool,
}

impl UnreadFlag {
    /// The flag as typed (`--feature-gates`).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// `name` is the flag as typed (`--feature-gates`); `default` is the value that changes nothing.
    pub fn new<T: FlagValue + PartialEq>(name: &'static str, value: &T, default: &T) -> Self {
        Self {
            name,
            value: value.shown(),
            is_default: value == default,
        }
    }
}

/// How a flag's value is shown in the refusal, as the user would have typed it.
pub trait FlagValue {
    fn shown(&self) -> String;
}

macro_rules! shown_by_display {
    ($($type:ty),*) => {$(
        impl FlagValue for $type {
            fn shown(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
shown_by_display!(String, bool, u8, u32, u64, usize, f32);

impl FlagValue for Duration {
    fn shown(&self) -> String {
        format!("{self:?}")
    }
}

impl FlagValue for PathBuf {
    fn shown(&self) -> String {
        self.display().to_string()
    }
}

impl FlagValue for Vec<String> {
    fn shown(&self) -> String {
        self.join(",")
    }
}

/// Flags given a value whose behaviour the controller does not have.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub struct UnsupportedFlags {
    refused: Vec<(&'static str, String)>,
}

impl fmt::Display for UnsupportedFlags {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let each: Vec<String> = self
            .refused
            .iter()
            .map(|(name, value)| format!("{name}={value} is not supported yet"))
            .collect();
        write!(
            f,
            "{} (leave the flag out or at its default to start)",
            each.join("; ")
        )
    }
}

/// Fails when any of `flags` was given a value other than its default.
pub fn refuse_non_default(
    flags: impl IntoIterator<Item = UnreadFlag>,
) -> Result<(), UnsupportedFlags> {
    let refused: Vec<(&'static str, String)> = flags
        .into_iter()
        .filter(|flag| !flag.is_default)
        .map(|flag| (flag.name, flag.value))
        .collect();
    if refused.is_empty() {
        Ok(())
    } else {
        Err(UnsupportedFlags { refused })
    }
}

impl CommonArgs {
    /// The shared flags no Eddy controller acts on yet, with Flux's defaults.
    pub fn unread_flags(&self) -> Vec<UnreadFlag> {
        vec![
            UnreadFlag::new(
                "--watch-configs-label-selector",
                &self.watch_configs_label_selector,
                &"reconcile.fluxcd.io/watch=Enabled".to_owned(),
            ),
            UnreadFlag::new("--kube-api-qps", &self.kube_api_qps, &50.0),
            UnreadFlag::new("--kube-api-burst", &self.kube_api_burst, &300),
            UnreadFlag::new("--token-cache-max-size", &self.token_cache_max_size, &100),
            UnreadFlag::new(
                "--token-cache-max-duration",
                &self.token_cache_max_duration,
                &Duration::from_secs(3600),
            ),
            UnreadFlag::new("--feature-gates", &self.feature_gates, &String::new()),
            UnreadFlag::new(
                "--insecure-kubeconfig-exec",
                &self.insecure_kubeconfig_exec,
                &false,
            ),
            UnreadFlag::new(
                "--insecure-kubeconfig-tls",
                &self.insecure_kubeconfig_tls,
                &false,
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Debug, Parser)]
    struct TestArgs {
        #[command(flatten)]
        common: CommonArgs,
    }

    fn common(flags: &[&str]) -> CommonArgs {
        let argv = std::iter::once("controller").chain(flags.iter().copied());
        TestArgs::parse_from(argv).common
    }

    #[test]
    fn defaults_start() {
        assert_eq!(refuse_non_default(common(&[]).unread_flags()), Ok(()));
        // Flux's install manifests pass these; they must keep starting.
        let manifest_flags = common(&[
            "--events-addr=http://notification-controller.flux-system.svc.cluster.local./",
            "--watch-all-namespaces=true",
            "--log-level=info",
            "--log-encoding=json",
            "--enable-leader-election",
        ]);
        assert_eq!(refuse_non_default(manifest_flags.unread_flags()), Ok(()));
    }

    #[test]
    fn every_unread_common_flag_is_refused_with_its_value() {
        let cases = [
            (
                "--watch-configs-label-selector=team=a",
                "--watch-configs-label-selector=team=a",
            ),
            ("--kube-api-qps=20", "--kube-api-qps=20"),
            ("--kube-api-burst=10", "--kube-api-burst=10"),
            ("--token-cache-max-size=5", "--token-cache-max-size=5"),
            (
                "--token-cache-max-duration=5m",
                "--token-cache-max-duration=300s",
            ),
            ("--feature-gates=X=true", "--feature-gates=X=true"),
            (
                "--insecure-kubeconfig-exec=true",
                "--insecure-kubeconfig-exec=true",
            ),
            (
                "--insecure-kubeconfig-tls=true",
                "--insecure-kubeconfig-tls=true",
            ),
        ];
        for (given, shown) in cases {
            let error = refuse_non_default(common(&[given]).unread_flags())
                .expect_err(given)
                .to_string();
            assert!(
                error.starts_with(&format!("{shown} is not supported yet")),
                "{given}: {error}"
            );
        }
    }

    #[test]
    fn every_refused_flag_is_named_in_one_message() {
        let error =
            refuse_non_default(common(&["--kube-api-qps=1", "--kube-api-burst=2"]).unread_flags())
                .expect_err("two flags refused")
                .to_string();
        assert!(
            error.contains("--kube-api-qps=1 is not supported yet"),
            "{error}"
        );
        assert!(
            error.contains("--kube-api-burst=2 is not supported yet"),
            "{error}"
        );
    }

    #[test]
    fn a_controller_flag_at_its_default_passes_and_otherwise_fails() {
        let path = PathBuf::from("/data");
        assert_eq!(
            refuse_non_default([UnreadFlag::new("--storage-path", &path, &path)]),
            Ok(())
        );
        let other = vec!["a".to_owned(), "b".to_owned()];
        let error =
            refuse_non_default([UnreadFlag::new("--override-manager", &other, &Vec::new())])
                .expect_err("non-default list");
        assert!(
            error
                .to_string()
                .starts_with("--override-manager=a,b is not supported yet")
        );
    }
}
