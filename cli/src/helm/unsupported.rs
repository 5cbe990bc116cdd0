//! Flags `helm template` has and `eddy helm template` does not implement yet. They are parsed
//! (so a value after one is not taken for the chart) and then refused by name: output that
//! silently ignored one could differ from Helm's without anyone noticing.

use clap::{Arg, ArgAction, ArgMatches, Command, FromArgMatches};

/// Flags that take a value.
const WITH_VALUE: &[&str] = &[
    "set-file",
    "set-literal",
    "output-dir",
    "post-renderer",
    "post-renderer-args",
    "version",
    "repo",
    "keyring",
    "username",
    "password",
    "cert-file",
    "key-file",
    "ca-file",
    "name-template",
    "description",
    "labels",
    "kube-context",
    "kube-token",
    "kube-as-user",
    "kube-as-group",
    "kube-apiserver",
    "kube-ca-file",
    "kube-tls-server-name",
    "registry-config",
    "repository-config",
    "repository-cache",
    "content-cache",
    "burst-limit",
    "qps",
    "color",
    "colour",
];

/// Boolean flags, and flags whose value is optional (`--wait`, `--dry-run`): only `--x=value`.
const WITHOUT_VALUE: &[&str] = &[
    "generate-name",
    "release-name",
    "validate",
    "dry-run",
    "debug",
    "devel",
    "dependency-update",
    "verify",
    "insecure-skip-tls-verify",
    "plain-http",
    "pass-credentials",
    "render-subchart-notes",
    "hide-notes",
    "hide-secret",
    "enable-dns",
    "create-namespace",
    "replace",
    "force",
    "force-replace",
    "force-conflicts",
    "server-side",
    "wait",
    "wait-for-jobs",
    "atomic",
    "rollback-on-failure",
    "disable-openapi-validation",
    "take-ownership",
    "kube-insecure-skip-tls-verify",
];

/// Helm's one-letter aliases among those flags.
fn short_of(name: &str) -> Option<char> {
    match name {
        "generate-name" => Some('g'),
        "labels" => Some('l'),
        _ => None,
    }
}

/// The unsupported flags the command line used, in the order listed above.
#[derive(Default)]
pub struct UnsupportedFlags {
    given: Vec<&'static str>,
}

impl UnsupportedFlags {
    pub fn refuse(&self) -> Result<(), super::HelmError> {
        match self.given.first() {
            None => Ok(()),
            Some(name) => Err(super::HelmError(format!(
                "flag --{name} is not supported yet by eddy helm template (it renders local \
                 charts with -f/--set/--set-string/--set-json values only; see `eddy helm \
                 template --help`)"
            ))),
        }
    }
}

fn hidden(name: &'static str, takes_value: bool) -> Arg {
    let arg = Arg::new(name).long(name).hide(true);
    let arg = match short_of(name) {
        Some(short) => arg.short(short),
        None => arg,
    };
    if takes_value {
        arg.action(ArgAction::Append)
    } else {
        arg.num_args(0..=1)
            .require_equals(true)
            .default_missing_value("true")
            .action(ArgAction::Append)
    }
}

impl FromArgMatches for UnsupportedFlags {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        let given = WITH_VALUE
            .iter()
            .chain(WITHOUT_VALUE)
            .copied()
            .filter(|name| matches.contains_id(name) && matches.value_source(name).is_some())
            .collect();
        Ok(UnsupportedFlags { given })
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        *self = Self::from_arg_matches(matches)?;
        Ok(())
    }
}

impl clap::Args for UnsupportedFlags {
    fn augment_args(command: Command) -> Command {
        let command = WITH_VALUE
            .iter()
            .fold(command, |c, name| c.arg(hidden(name, true)));
        WITHOUT_VALUE
            .iter()
            .fold(command, |c, name| c.arg(hidden(name, false)))
    }

    fn augment_args_for_update(command: Command) -> Command {
        Self::augment_args(command)
    }
}
