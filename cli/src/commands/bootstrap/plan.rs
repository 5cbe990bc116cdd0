//! Checking the command line before anything happens: the URL's scheme decides the kind of
//! credentials, and every file named on it is read up front.

use anyhow::{Context, bail};

use eddy_git::{BootstrapHostKeyTrust, GitAuth, HostKeyCheck, HttpAuth, SshAuth};

use super::{GitArgs, layout::ClusterPath};
use crate::manifests::CONTROLLERS;

/// What proves who we are to the Git server.
#[derive(Clone)]
pub enum Credentials {
    /// HTTP(S) basic authentication (a token usually goes in the password).
    Basic { username: String, password: String },
    /// An SSH private key (OpenSSH or PEM text) and its passphrase, if any.
    SshKey {
        username: String,
        private_key: String,
        passphrase: Option<String>,
    },
}

/// The checked and loaded command line.
pub struct Plan {
    pub args: GitArgs,
    pub path: ClusterPath,
    pub components: Vec<String>,
    pub credentials: Credentials,
    pub ca_pem: Option<Vec<u8>>,
}

impl Plan {
    /// The credentials for `eddy-git`. The bootstrap has no `known_hosts` yet: it trusts the
    /// SSH host key it meets first and records it in `host_keys` for the controllers' Secret.
    pub fn git_auth(&self, host_keys: &BootstrapHostKeyTrust) -> GitAuth {
        match &self.credentials {
            Credentials::Basic { username, password } => GitAuth::Http(HttpAuth {
                basic: Some((username.clone(), password.clone())),
                ca_pem: self.ca_pem.clone(),
                ..HttpAuth::default()
            }),
            Credentials::SshKey {
                username,
                private_key,
                passphrase,
            } => GitAuth::Ssh(SshAuth {
                identity: private_key.clone(),
                passphrase: passphrase.clone(),
                username: Some(username.clone()),
                host_keys: HostKeyCheck::TrustOnFirstUseForBootstrap(host_keys.clone()),
            }),
        }
    }
}

pub fn plan(args: GitArgs) -> anyhow::Result<Plan> {
    let path = ClusterPath::parse(&args.path)?;
    let mut components = args.components.clone();
    components.extend(args.components_extra.iter().cloned());
    for component in &components {
        if !CONTROLLERS.contains(&component.as_str()) {
            bail!(
                "unknown component {component:?}; choose from {}",
                CONTROLLERS.join(", ")
            );
        }
    }
    for needed in ["source-controller", "kustomize-controller"] {
        if !components.iter().any(|c| c == needed) {
            bail!("--components must include {needed}: the cluster syncs itself with it");
        }
    }
    let ca_pem = match &args.ca_file {
        Some(file) => Some(
            std::fs::read(file)
                .with_context(|| format!("cannot read --ca-file {}", file.display()))?,
        ),
        None => None,
    };
    let credentials = if args.url.starts_with("ssh://") {
        let Some(key_file) = &args.private_key_file else {
            bail!(
                "an ssh:// URL needs --private-key-file (a key the Git server accepts for pushes)"
            );
        };
        let private_key = std::fs::read_to_string(key_file)
            .with_context(|| format!("cannot read --private-key-file {}", key_file.display()))?;
        Credentials::SshKey {
            username: args.username.clone(),
            private_key,
            passphrase: args.password.clone().filter(|p| !p.is_empty()),
        }
    } else if args.url.starts_with("https://") || args.url.starts_with("http://") {
        if args.url.starts_with("http://") && !args.allow_insecure_http {
            bail!(
                "{} is not encrypted; use https://, or pass --allow-insecure-http",
                args.url
            );
        }
        if args.private_key_file.is_some() {
            bail!(
                "--private-key-file is for ssh:// URLs; use --username and --password over HTTP(S)"
            );
        }
        let Some(password) = args.password.clone().filter(|p| !p.is_empty()) else {
            bail!(
                "an HTTP(S) URL needs --password (or a token) for pushing and for the controllers"
            );
        };
        Credentials::Basic {
            username: args.username.clone(),
            password,
        }
    } else {
        bail!(
            "--url {:?} must start with https://, http:// or ssh:// (write scp-like addresses as ssh://user@host/path)",
            args.url
        );
    };
    Ok(Plan {
        args,
        path,
        components,
        credentials,
        ca_pem,
    })
}
