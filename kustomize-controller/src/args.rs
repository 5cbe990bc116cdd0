//! Command-line flags of kustomize-controller, named as Flux names them.

use eddy_runtime::cli::CommonArgs;

#[derive(Debug, clap::Parser)]
#[command(
    name = "kustomize-controller",
    version,
    about = "Builds Kustomizations from source artifacts and applies them with server-side apply"
)]
pub struct Args {
    #[command(flatten)]
    pub common: CommonArgs,

    #[command(flatten)]
    pub artifact: eddy_artifact::ArtifactArgs,

    /// How many objects of each kind are reconciled at the same time.
    #[arg(long, default_value_t = 4)]
    pub concurrent: usize,

    /// Objects applied at the same time within one Kustomization.
    #[arg(long, default_value_t = 4)]
    pub concurrent_ssa: usize,

    /// How long to wait before retrying when a source or dependency is not ready.
    #[arg(long, default_value = "30s", value_parser = eddy_runtime::cli::parse_duration)]
    pub requeue_dependency: std::time::Duration,

    /// Refuse remote (Git or HTTP) kustomize bases.
    #[arg(long, default_value_t = false, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true")]
    pub no_remote_bases: bool,

    /// Retries when downloading an artifact.
    #[arg(long, default_value_t = 9)]
    pub http_retry: u32,

    /// Service account used for SOPS key management when a Kustomization names none.
    #[arg(long, default_value = "")]
    pub default_decryption_service_account: String,

    /// Service account used for remote kubeconfigs when a Kustomization names none.
    #[arg(long, default_value = "")]
    pub default_kubeconfig_service_account: String,

    /// Secret in the controller's namespace holding fallback age keys for SOPS.
    #[arg(long, default_value = "")]
    pub sops_age_secret: String,

    /// ConfigMap configuring Vault/OpenBao authentication for SOPS.
    #[arg(long, default_value = "")]
    pub sops_vault_configmap: String,

    /// Field managers whose fields are taken over (their edits reverted); repeatable.
    #[arg(long)]
    pub override_manager: Vec<String>,

    /// Kinds applied in a stage of their own, before the rest.
    #[arg(long, value_delimiter = ',')]
    pub custom_apply_stage_kinds: Vec<String>,
}

impl Args {
    /// Flags parsed but not acted on yet; a value other than the default is refused at start-up.
    /// (`--no-remote-bases` is not among them: Eddy never fetches remote bases, so both values
    /// hold.)
    pub fn unread_flags(&self) -> Vec<eddy_runtime::unsupported::flags::UnreadFlag> {
        use eddy_runtime::unsupported::flags::UnreadFlag;
        let none = String::new();
        let mut flags = self.common.unread_flags();
        // Config watches are implemented here (controller/config_watch.rs).
        flags.retain(|flag| flag.name() != "--watch-configs-label-selector");
        flags.extend([
            UnreadFlag::new(
                "--default-decryption-service-account",
                &self.default_decryption_service_account,
                &none,
            ),
            UnreadFlag::new(
                "--default-kubeconfig-service-account",
                &self.default_kubeconfig_service_account,
                &none,
            ),
            UnreadFlag::new("--sops-vault-configmap", &self.sops_vault_configmap, &none),
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
        let args =
            Args::parse_from(std::iter::once("kustomize-controller").chain(flags.iter().copied()));
        refuse_non_default(args.unread_flags())
            .err()
            .map(|e| e.to_string())
    }

    #[test]
    fn flux_install_flags_start() {
        assert_eq!(
            refusal(&[
                "--events-addr=http://nc/",
                "--watch-all-namespaces=true",
                "--no-remote-bases=true"
            ]),
            None
        );
    }

    #[test]
    fn flags_without_behaviour_are_refused_by_name() {
        for flag in [
            "--default-decryption-service-account=sops",
            "--default-kubeconfig-service-account=remote",
            "--sops-vault-configmap=vault",
            "--feature-gates=StrictPostBuildSubstitutions=false",
        ] {
            let message = refusal(&[flag]).unwrap_or_default();
            assert!(
                message.starts_with(&format!("{flag} is not supported yet")),
                "{flag}: {message}"
            );
        }
    }
}
