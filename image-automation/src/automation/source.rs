//! Resolving what the automation writes to: the GitRepository named by `sourceRef` (its URL,
//! credentials and timeout), the reference to start from (`git.checkout.ref`, else the
//! GitRepository's own `ref`), where to push, and the commit signing key. API reads only; the
//! Git work itself is in `write_back`.

use std::{collections::BTreeMap, time::Duration};

use eddy_api::{
    image::{
        ImageUpdateAutomation,
        imageupdateautomation::{PushSpec, SigningKeyType},
        reasons,
    },
    source::GitRepository,
};
use eddy_git::{GitAuth, GitReference, RefFields, RepoUrl, SigningKey};
use eddy_runtime::{outcome::Failure, time};
use k8s_openapi::api::core::v1::Secret;
use kube::{Api, Client, ResourceExt};

use super::NOT_SUPPORTED;

/// Everything the Git work needs, read from the cluster.
#[derive(Debug, Clone)]
pub struct GitTarget {
    /// `namespace/name` of the GitRepository, for messages.
    pub repository: String,
    pub url: String,
    pub auth: GitAuth,
    pub timeout: Duration,
    pub checkout: GitReference,
    /// The branch the checkout is on (what a push goes to when `push.branch` is unset).
    pub checkout_branch: Option<String>,
    pub push: PushPlan,
    pub signing: Option<SigningKey>,
    /// The GitRepository's current artifact revision (what source-controller last fetched).
    pub artifact_revision: Option<String>,
}

/// Where commits go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushPlan {
    /// The branch pushed to: `push.branch`, else the checkout branch.
    pub branch: String,
    /// Whether `branch` differs from the checkout branch (created from it and force-pushed).
    pub separate_branch: bool,
    pub refspec: Option<String>,
    pub options: Vec<String>,
}

/// Reads the GitRepository, its Secret and the signing key Secret.
pub async fn resolve(
    client: &Client,
    automation: &ImageUpdateAutomation,
    no_cross_namespace_refs: bool,
) -> Result<GitTarget, Failure> {
    let namespace = automation.namespace().unwrap_or_default();
    let source_ref = &automation.spec.source_ref;
    let source_namespace = source_ref
        .namespace
        .clone()
        .unwrap_or_else(|| namespace.clone());
    let repository = format!("{source_namespace}/{}", source_ref.name);
    if no_cross_namespace_refs && source_namespace != namespace {
        return Err(Failure::stalled(
            reasons::INVALID_SOURCE_CONFIGURATION,
            format!(
                "cannot access GitRepository '{repository}': cross-namespace references are disabled (--no-cross-namespace-refs)"
            ),
        ));
    }
    let invalid =
        |message: String| Failure::retry_interval(reasons::INVALID_SOURCE_CONFIGURATION, message);
    let api: Api<GitRepository> = Api::namespaced(client.clone(), &source_namespace);
    let source = api
        .get_opt(&source_ref.name)
        .await
        .map_err(|error| {
            Failure::backoff(
                reasons::SOURCE_MANAGER_FAILED,
                format!("cannot read GitRepository '{repository}': {error}"),
            )
        })?
        .ok_or_else(|| invalid(format!("GitRepository '{repository}' not found")))?;
    refuse_unsupported_source_fields(&source, &repository)?;
    let url = RepoUrl::parse(&source.spec.url).map_err(|error| {
        Failure::stalled(
            reasons::INVALID_SOURCE_CONFIGURATION,
            format!("GitRepository '{repository}': {error}"),
        )
    })?;
    let secret_data = match &source.spec.secret_ref {
        Some(secret) => Some(read_secret(client, &source_namespace, &secret.name).await?),
        None => None,
    };
    let auth = GitAuth::from_secret_data(url.transport(), secret_data.as_ref())
        .map_err(|error| invalid(format!("GitRepository '{repository}': {error}")))?;
    let checkout_fields = automation
        .spec
        .git
        .as_ref()
        .and_then(|git| git.checkout.as_ref())
        .map(|checkout| &checkout.r#ref)
        .or(source.spec.r#ref.as_ref());
    let checkout = GitReference::from_fields(&ref_fields(checkout_fields));
    let checkout_branch = match &checkout {
        GitReference::Branch(branch) => Some(branch.clone()),
        _ => None,
    };
    let push_spec = automation
        .spec
        .git
        .as_ref()
        .and_then(|git| git.push.clone())
        .unwrap_or_default();
    let push = push_plan(&push_spec, checkout_branch.as_deref())
        .map_err(|message| Failure::stalled(reasons::INVALID_SOURCE_CONFIGURATION, message))?;
    let signing = signing_key(client, automation, &namespace).await?;
    Ok(GitTarget {
        repository,
        url: source.spec.url.clone(),
        auth,
        timeout: time::timeout(
            Some(source.spec.timeout.as_str()),
            eddy_git::DEFAULT_TIMEOUT,
        ),
        checkout,
        checkout_branch,
        push,
        signing,
        artifact_revision: source
            .status
            .as_ref()
            .and_then(|status| status.artifact.as_ref())
            .map(|artifact| artifact.revision.clone()),
    })
}

/// GitRepository fields the shared Git client cannot honour when pushing.
fn refuse_unsupported_source_fields(
    source: &GitRepository,
    repository: &str,
) -> Result<(), Failure> {
    let spec = &source.spec;
    let unsupported = [
        ("spec.proxySecretRef", spec.proxy_secret_ref.is_some()),
        (
            "spec.serviceAccountName",
            spec.service_account_name.is_some(),
        ),
        (
            "spec.provider",
            spec.provider.is_some_and(|provider| {
                provider != eddy_api::source::gitrepository::GitProvider::Generic
            }),
        ),
    ];
    match unsupported.iter().find(|(_, set)| *set) {
        Some((field, _)) => Err(Failure::stalled(
            NOT_SUPPORTED,
            format!("GitRepository '{repository}': {field} is not supported yet"),
        )),
        None => Ok(()),
    }
}

fn ref_fields(reference: Option<&eddy_api::source::gitrepository::GitRepositoryRef>) -> RefFields {
    let Some(reference) = reference else {
        return RefFields::default();
    };
    RefFields {
        branch: reference.branch.clone(),
        tag: reference.tag.clone(),
        semver: reference.semver.clone(),
        name: reference.name.clone(),
        commit: reference.commit.clone(),
    }
}

/// Where to push: `push.branch`, else the checkout branch (a tag or commit checkout needs
/// `push.branch`, as on Flux).
pub fn push_plan(push: &PushSpec, checkout_branch: Option<&str>) -> Result<PushPlan, String> {
    let options = push
        .options
        .iter()
        .flatten()
        .map(|(key, value)| {
            if value.is_empty() {
                key.clone()
            } else {
                format!("{key}={value}")
            }
        })
        .collect();
    let push_branch = push.branch.as_deref().filter(|branch| !branch.is_empty());
    let branch = match (push_branch, checkout_branch) {
        (Some(branch), _) | (None, Some(branch)) => branch.to_owned(),
        (None, None) => {
            return Err(
                "spec.git.push.branch must be set when the checkout reference is not a branch"
                    .to_owned(),
            );
        }
    };
    Ok(PushPlan {
        separate_branch: Some(branch.as_str()) != checkout_branch,
        branch,
        refspec: push.refspec.clone().filter(|refspec| !refspec.is_empty()),
        options,
    })
}

async fn read_secret(
    client: &Client,
    namespace: &str,
    name: &str,
) -> Result<BTreeMap<String, Vec<u8>>, Failure> {
    let api: Api<Secret> = Api::namespaced(client.clone(), namespace);
    let secret = api
        .get_opt(name)
        .await
        .map_err(|error| {
            Failure::backoff(
                reasons::SOURCE_MANAGER_FAILED,
                format!("cannot read Secret '{namespace}/{name}': {error}"),
            )
        })?
        .ok_or_else(|| {
            Failure::retry_interval(
                reasons::INVALID_SOURCE_CONFIGURATION,
                format!("Secret '{namespace}/{name}' not found"),
            )
        })?;
    Ok(secret
        .data
        .unwrap_or_default()
        .into_iter()
        .map(|(key, value)| (key, value.0))
        .collect())
}

/// The OpenPGP key of `git.commit.signingKey` (`git.asc`, optional `passphrase`).
async fn signing_key(
    client: &Client,
    automation: &ImageUpdateAutomation,
    namespace: &str,
) -> Result<Option<SigningKey>, Failure> {
    let Some(key) = automation
        .spec
        .git
        .as_ref()
        .and_then(|git| git.commit.signing_key.as_ref())
    else {
        return Ok(None);
    };
    if key.type_ == Some(SigningKeyType::Ssh) {
        return Err(Failure::stalled(
            NOT_SUPPORTED,
            "spec.git.commit.signingKey.type 'ssh' is not supported yet",
        ));
    }
    let name = &key.secret_ref.name;
    let data = read_secret(client, namespace, name).await?;
    let text = |key: &str| {
        data.get(key)
            .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
    };
    let armored_key = text("git.asc").ok_or_else(|| {
        Failure::stalled(
            reasons::INVALID_SOURCE_CONFIGURATION,
            format!("signing key Secret '{namespace}/{name}' has no 'git.asc' key"),
        )
    })?;
    Ok(Some(SigningKey::OpenPgp {
        armored_key,
        passphrase: text("passphrase").filter(|passphrase| !passphrase.is_empty()),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_goes_to_the_checkout_branch_unless_told_otherwise() {
        let plan = push_plan(&PushSpec::default(), Some("main")).unwrap();
        assert_eq!(
            (plan.branch.as_str(), plan.separate_branch),
            ("main", false)
        );
        let spec = PushSpec {
            branch: Some("auto".into()),
            refspec: Some("refs/heads/main:refs/heads/other".into()),
            options: Some(BTreeMap::from([
                ("merge_request.create".to_owned(), String::new()),
                ("ci.skip".to_owned(), "true".to_owned()),
            ])),
        };
        let plan = push_plan(&spec, Some("main")).unwrap();
        assert_eq!((plan.branch.as_str(), plan.separate_branch), ("auto", true));
        assert_eq!(plan.options, vec!["ci.skip=true", "merge_request.create"]);
        assert!(push_plan(&PushSpec::default(), None).is_err());
    }
}
