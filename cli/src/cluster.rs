//! The cluster connection and the table of Flux kinds every command shares.
//!
//! Commands work on [`DynamicObject`]s through [`FluxKind`] rather than typed structs: the CLI
//! must read objects written by Eddy's controllers *and* by Flux's, and only needs a handful of
//! well-known fields from each.

use std::{path::PathBuf, time::Duration};

use anyhow::{Context, bail};
use kube::{
    Api, Client,
    api::{ApiResource, DynamicObject},
    config::{KubeConfigOptions, Kubeconfig},
};
use serde_json::Value;

/// Where and how to connect; mirrors the `flux` CLI's global flags.
#[derive(clap::Args, Clone, Debug)]
pub struct ConnectionArgs {
    /// Path to the kubeconfig file (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, global = true, env = "KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,
    /// The kubeconfig context to use (default: the current context).
    #[arg(long, global = true)]
    pub context: Option<String>,
    /// The namespace of the objects to work on (Flux's default, too).
    #[arg(short, long, global = true, default_value = "flux-system")]
    pub namespace: String,
    /// How long to wait for the cluster before giving up (e.g. 90s, 5m).
    #[arg(long, global = true, default_value = "5m", value_parser = parse_duration)]
    pub timeout: Duration,
}

impl ConnectionArgs {
    /// A client for the selected kubeconfig and context, with timeouts so an unreachable API
    /// server fails with a message instead of hanging.
    pub async fn client(&self) -> anyhow::Result<Client> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let options = KubeConfigOptions {
            context: self.context.clone(),
            ..KubeConfigOptions::default()
        };
        let mut config = match &self.kubeconfig {
            Some(path) => {
                // KUBECONFIG may list several files; the first one that exists wins, as kubectl
                // would merge them with the first taking precedence.
                let first = std::env::split_paths(path)
                    .find(|candidate| candidate.exists())
                    .unwrap_or_else(|| path.clone());
                let kubeconfig = Kubeconfig::read_from(&first).with_context(|| {
                    format!(
                        "cannot read the kubeconfig {}; pass --kubeconfig or set KUBECONFIG",
                        first.display()
                    )
                })?;
                kube::Config::from_custom_kubeconfig(kubeconfig, &options).await
            }
            None => kube::Config::from_kubeconfig(&options).await,
        }
        .context("cannot load a Kubernetes configuration; pass --kubeconfig or set KUBECONFIG")?;
        config.connect_timeout = Some(Duration::from_secs(10));
        config.read_timeout = Some(Duration::from_secs(60));
        Client::try_from(config).context("cannot build a Kubernetes client")
    }
}

/// Go duration syntax (`90s`, `1h30m`, `500ms`), shared with the controllers' flags.
pub use eddy_runtime::cli::parse_duration;

/// One Flux custom resource kind as the CLI names and reads it.
#[derive(Debug, PartialEq, Eq)]
pub struct FluxKind {
    /// The words that name it on the command line, e.g. `["source", "git"]`.
    pub words: &'static [&'static str],
    /// Other spellings accepted for the last word (plural, short names).
    pub aliases: &'static [&'static str],
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    /// Kinds without a status of their own (Alert, Provider): always shown as ready, and
    /// `reconcile` has nothing to wait for.
    pub is_static: bool,
}

/// Every kind the CLI works with, in the order `get all` lists them.
pub const KINDS: &[FluxKind] = &[
    FluxKind {
        words: &["source", "git"],
        aliases: &[],
        group: "source.toolkit.fluxcd.io",
        version: "v1",
        kind: "GitRepository",
        plural: "gitrepositories",
        is_static: false,
    },
    FluxKind {
        words: &["source", "oci"],
        aliases: &[],
        group: "source.toolkit.fluxcd.io",
        version: "v1",
        kind: "OCIRepository",
        plural: "ocirepositories",
        is_static: false,
    },
    FluxKind {
        words: &["source", "helm"],
        aliases: &[],
        group: "source.toolkit.fluxcd.io",
        version: "v1",
        kind: "HelmRepository",
        plural: "helmrepositories",
        is_static: false,
    },
    FluxKind {
        words: &["source", "chart"],
        aliases: &[],
        group: "source.toolkit.fluxcd.io",
        version: "v1",
        kind: "HelmChart",
        plural: "helmcharts",
        is_static: false,
    },
    FluxKind {
        words: &["source", "bucket"],
        aliases: &[],
        group: "source.toolkit.fluxcd.io",
        version: "v1",
        kind: "Bucket",
        plural: "buckets",
        is_static: false,
    },
    FluxKind {
        words: &["kustomization"],
        aliases: &["kustomizations", "ks"],
        group: "kustomize.toolkit.fluxcd.io",
        version: "v1",
        kind: "Kustomization",
        plural: "kustomizations",
        is_static: false,
    },
    FluxKind {
        words: &["helmrelease"],
        aliases: &["helmreleases", "hr"],
        group: "helm.toolkit.fluxcd.io",
        version: "v2",
        kind: "HelmRelease",
        plural: "helmreleases",
        is_static: false,
    },
    FluxKind {
        words: &["alert"],
        aliases: &["alerts"],
        group: "notification.toolkit.fluxcd.io",
        version: "v1beta3",
        kind: "Alert",
        plural: "alerts",
        is_static: true,
    },
    FluxKind {
        words: &["alert-provider"],
        aliases: &["alert-providers", "provider", "providers"],
        group: "notification.toolkit.fluxcd.io",
        version: "v1beta3",
        kind: "Provider",
        plural: "providers",
        is_static: true,
    },
    FluxKind {
        words: &["receiver"],
        aliases: &["receivers"],
        group: "notification.toolkit.fluxcd.io",
        version: "v1",
        kind: "Receiver",
        plural: "receivers",
        is_static: false,
    },
    FluxKind {
        words: &["image", "repository"],
        aliases: &[],
        group: "image.toolkit.fluxcd.io",
        version: "v1",
        kind: "ImageRepository",
        plural: "imagerepositories",
        is_static: false,
    },
    FluxKind {
        words: &["image", "policy"],
        aliases: &[],
        group: "image.toolkit.fluxcd.io",
        version: "v1",
        kind: "ImagePolicy",
        plural: "imagepolicies",
        is_static: false,
    },
    FluxKind {
        words: &["image", "update"],
        aliases: &[],
        group: "image.toolkit.fluxcd.io",
        version: "v1",
        kind: "ImageUpdateAutomation",
        plural: "imageupdateautomations",
        is_static: false,
    },
];

impl FluxKind {
    pub fn api_resource(&self) -> ApiResource {
        ApiResource {
            group: self.group.into(),
            version: self.version.into(),
            api_version: format!("{}/{}", self.group, self.version),
            kind: self.kind.into(),
            plural: self.plural.into(),
        }
    }

    pub fn api(&self, client: &Client, namespace: Option<&str>) -> Api<DynamicObject> {
        let resource = self.api_resource();
        match namespace {
            Some(namespace) => Api::namespaced_with(client.clone(), namespace, &resource),
            None => Api::all_with(client.clone(), &resource),
        }
    }

    /// How a person names it: `source git`, `kustomization`.
    pub fn display(&self) -> String {
        self.words.join(" ")
    }

    /// The lowercase kind, as `get all` prefixes names (`gitrepository/podinfo`).
    pub fn lowercase(&self) -> String {
        self.kind.to_ascii_lowercase()
    }

    pub fn find_by_kind(kind: &str) -> Option<&'static FluxKind> {
        KINDS.iter().find(|candidate| candidate.kind == kind)
    }

    fn matches(&self, words: &[String]) -> bool {
        if words.len() < self.words.len() {
            return false;
        }
        let (last, leading) = match self.words.split_last() {
            Some(split) => split,
            None => return false,
        };
        let leading_match = leading
            .iter()
            .zip(words)
            .all(|(expected, given)| given == expected || *given == format!("{expected}s"));
        let given_last = &words[self.words.len() - 1];
        leading_match
            && (given_last == last
                || *given_last == format!("{last}s")
                || self.aliases.contains(&given_last.as_str()))
    }
}

/// Splits `["source", "git", "podinfo"]` into the kind and the remaining words. Accepts the
/// plural spellings Flux accepts (`sources git`, `kustomizations`, `images policy`).
pub fn parse_kind(words: &[String]) -> anyhow::Result<(&'static FluxKind, &[String])> {
    // Longest match first, so `source git` is never read as a one-word kind.
    let mut candidates: Vec<&FluxKind> = KINDS.iter().collect();
    candidates.sort_by_key(|kind| std::cmp::Reverse(kind.words.len()));
    for kind in candidates {
        if kind.matches(words) {
            return Ok((kind, &words[kind.words.len()..]));
        }
    }
    let known: Vec<String> = KINDS.iter().map(FluxKind::display).collect();
    match words.first() {
        None => bail!("name a kind: one of {}", known.join(", ")),
        Some(_) => bail!(
            "unknown kind {:?}; use one of {}",
            words.join(" "),
            known.join(", ")
        ),
    }
}

/// A string at a JSON path such as `["status", "artifact", "revision"]`, if present.
pub fn string_at<'a>(value: &'a Value, path: &[&str]) -> Option<&'a str> {
    path.iter()
        .try_fold(value, |current, key| current.get(key))
        .and_then(Value::as_str)
}

/// The object's `Ready` condition: status, message and the generation it describes.
pub struct ReadyCondition {
    pub status: String,
    pub message: String,
    pub observed_generation: Option<i64>,
}

pub fn ready_condition(object: &DynamicObject) -> Option<ReadyCondition> {
    object
        .data
        .pointer("/status/conditions")?
        .as_array()?
        .iter()
        .find(|condition| condition.get("type").and_then(Value::as_str) == Some("Ready"))
        .map(|condition| ReadyCondition {
            status: string_at(condition, &["status"])
                .unwrap_or("Unknown")
                .to_string(),
            message: string_at(condition, &["message"]).unwrap_or("").to_string(),
            observed_generation: condition.get("observedGeneration").and_then(Value::as_i64),
        })
}

pub fn is_suspended(object: &DynamicObject) -> bool {
    object
        .data
        .pointer("/spec/suspend")
        .and_then(Value::as_bool)
        .unwrap_or(false)
}

/// Turns a "not found" API error into a message that names the object and says what to check.
pub fn describe_get_error(
    error: kube::Error,
    kind: &FluxKind,
    name: &str,
    namespace: &str,
) -> anyhow::Error {
    match &error {
        kube::Error::Api(status) if status.code == 404 => {
            if status
                .message
                .contains("the server could not find the requested resource")
            {
                anyhow::anyhow!(
                    "the cluster does not know the {} kind; install the CRDs with `eddy install`",
                    kind.kind
                )
            } else {
                anyhow::anyhow!(
                    "{} {name:?} not found in namespace {namespace:?}; list them with `eddy get {} -n {namespace}`",
                    kind.kind,
                    kind.display()
                )
            }
        }
        _ => anyhow::Error::new(error)
            .context(format!("cannot read {} {namespace}/{name}", kind.kind)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        text.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_one_and_two_word_kinds_with_their_plurals() {
        let input = words("sources git podinfo");
        let (kind, rest) = parse_kind(&input).unwrap();
        assert_eq!(kind.kind, "GitRepository");
        assert_eq!(rest, ["podinfo"]);
        let input = words("ks apps");
        let (kind, rest) = parse_kind(&input).unwrap();
        assert_eq!(kind.kind, "Kustomization");
        assert_eq!(rest, ["apps"]);
        let input = words("images policy");
        assert_eq!(parse_kind(&input).unwrap().0.kind, "ImagePolicy");
        let input = words("alert-providers");
        assert_eq!(parse_kind(&input).unwrap().0.kind, "Provider");
    }

    #[test]
    fn an_unknown_kind_lists_the_known_ones() {
        let error = parse_kind(&words("source svn x")).unwrap_err().to_string();
        assert!(error.contains("source git"), "{error}");
        assert!(error.contains("\"source svn x\""), "{error}");
    }
}
