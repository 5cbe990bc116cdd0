//! Commit statuses on Git forges: GitHub (and GitHub Enterprise), GitLab, Gitea and Bitbucket
//! Cloud. The provider address is the repository URL; the commit comes from the event's
//! `commit` metadata or its revision; the status context is the provider's commit status id.

use reqwest::Method;
use serde_json::json;

use super::{
    OutgoingRequest, ProviderError, ProviderSettings, generic::basic_credentials, require_address,
    require_token,
};
use crate::event::FluxEvent;

/// GitHub rejects longer descriptions.
const DESCRIPTION_LIMIT: usize = 140;

/// Flux's default status id: `lower("<kind>/<name>/<first segment of the provider UID>")`, so
/// two clusters (two Provider objects) reporting on one commit do not overwrite each other.
pub fn default_status_id(event: &FluxEvent, provider_uid: &str) -> String {
    let uid_head = provider_uid.split('-').next().unwrap_or_default();
    format!("{}/{}/{}", event.kind(), event.name(), uid_head).to_lowercase()
}

/// A repository address split into what the forge APIs need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repository {
    /// `https` or `http` (SSH addresses are reached over HTTPS).
    pub scheme: String,
    /// Host, with the port when one was given.
    pub host: String,
    /// Path segments: owner (or group/subgroups) then the repository name, without `.git`.
    pub path: Vec<String>,
}

impl Repository {
    pub fn parse(address: &str) -> Result<Self, ProviderError> {
        let invalid =
            || ProviderError::InvalidAddress(format!("'{address}' is not a repository URL"));
        let address = address.trim();
        // scp-like `git@host:owner/repo`.
        let normalized = if !address.contains("://") {
            let (user_host, path) = address.split_once(':').ok_or_else(invalid)?;
            let host = user_host.rsplit('@').next().unwrap_or(user_host);
            format!("ssh://{host}/{path}")
        } else {
            address.to_owned()
        };
        let url = url::Url::parse(&normalized).map_err(|_| invalid())?;
        let host = url.host_str().ok_or_else(invalid)?;
        let host = match (url.scheme(), url.port()) {
            ("http" | "https", Some(port)) => format!("{host}:{port}"),
            _ => host.to_owned(),
        };
        let scheme = if url.scheme() == "http" {
            "http"
        } else {
            "https"
        };
        let path: Vec<String> = url
            .path()
            .trim_matches('/')
            .trim_end_matches(".git")
            .split('/')
            .filter(|segment| !segment.is_empty())
            .map(str::to_owned)
            .collect();
        if path.len() < 2 {
            return Err(invalid());
        }
        Ok(Self {
            scheme: scheme.to_owned(),
            host,
            path,
        })
    }

    fn base(&self) -> String {
        format!("{}://{}", self.scheme, self.host)
    }

    fn owner_and_name(&self) -> (String, String) {
        let name = self.path.last().cloned().unwrap_or_default();
        (self.path[..self.path.len() - 1].join("/"), name)
    }
}

/// The commit SHA of an event: the `commit` metadata (from the object's
/// `event.toolkit.fluxcd.io/commit` annotation) or the revision (`main@sha1:<sha>`, `sha1:<sha>`
/// or the legacy `main/<sha>`).
pub fn commit_sha(event: &FluxEvent) -> Result<String, ProviderError> {
    if let Some(commit) = event.metadata.get("commit").filter(|c| !c.is_empty()) {
        return Ok(commit.clone());
    }
    let revision = event.metadata.get("revision").cloned().unwrap_or_default();
    let candidate = match revision.rsplit_once(':') {
        Some((_, sha)) => sha,
        None => revision.rsplit('/').next().unwrap_or_default(),
    };
    let is_sha = (candidate.len() == 40 || candidate.len() == 64)
        && candidate.chars().all(|c| c.is_ascii_hexdigit());
    if is_sha {
        Ok(candidate.to_owned())
    } else {
        Err(ProviderError::NoCommit(revision))
    }
}

/// Summary (when set) and message, cut to what the forges accept.
fn description(event: &FluxEvent) -> String {
    let text = match event.metadata.get("summary") {
        Some(summary) if !summary.is_empty() => format!("{summary}: {}", event.reason),
        _ => split_camel_case(&event.reason),
    };
    truncate(&text, DESCRIPTION_LIMIT)
}

/// `ReconciliationSucceeded` → `reconciliation succeeded`.
fn split_camel_case(text: &str) -> String {
    let mut words = String::new();
    for (index, c) in text.chars().enumerate() {
        if c.is_uppercase() && index > 0 {
            words.push(' ');
        }
        words.extend(c.to_lowercase());
    }
    words
}

fn truncate(text: &str, limit: usize) -> String {
    if text.len() <= limit {
        return text.to_owned();
    }
    let mut end = limit;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text[..end].to_owned()
}

/// GitHub: `POST /repos/<owner>/<repo>/statuses/<sha>` on api.github.com, or `<host>/api/v3`
/// for GitHub Enterprise.
pub fn github(
    settings: &ProviderSettings,
    event: &FluxEvent,
) -> Result<Option<OutgoingRequest>, ProviderError> {
    let repository = Repository::parse(require_address(settings)?)?;
    let token = require_token(settings)?;
    let sha = commit_sha(event)?;
    let api = if repository.host == "github.com" {
        "https://api.github.com".to_owned()
    } else {
        format!("{}/api/v3", repository.base())
    };
    let (owner, name) = repository.owner_and_name();
    let payload = json!({
        "state": if event.is_error() { "failure" } else { "success" },
        "context": settings.commit_status_id,
        "description": description(event),
    });
    Ok(Some(
        OutgoingRequest::json(
            Method::POST,
            format!("{api}/repos/{owner}/{name}/statuses/{sha}"),
            &payload,
        )
        .header("Authorization", format!("Bearer {token}"))
        .header("Accept", "application/vnd.github+json"),
    ))
}

/// Gitea: `POST <host>/api/v1/repos/<owner>/<repo>/statuses/<sha>`.
pub fn gitea(
    settings: &ProviderSettings,
    event: &FluxEvent,
) -> Result<Option<OutgoingRequest>, ProviderError> {
    let repository = Repository::parse(require_address(settings)?)?;
    let token = require_token(settings)?;
    let sha = commit_sha(event)?;
    let (owner, name) = repository.owner_and_name();
    let payload = json!({
        "state": if event.is_error() { "failure" } else { "success" },
        "context": settings.commit_status_id,
        "description": description(event),
    });
    Ok(Some(
        OutgoingRequest::json(
            Method::POST,
            format!(
                "{}/api/v1/repos/{owner}/{name}/statuses/{sha}",
                repository.base()
            ),
            &payload,
        )
        .header("Authorization", format!("token {token}")),
    ))
}

/// GitLab: `POST <host>/api/v4/projects/<url-encoded path>/statuses/<sha>`.
pub fn gitlab(
    settings: &ProviderSettings,
    event: &FluxEvent,
) -> Result<Option<OutgoingRequest>, ProviderError> {
    let repository = Repository::parse(require_address(settings)?)?;
    let token = require_token(settings)?;
    let sha = commit_sha(event)?;
    let project: String =
        url::form_urlencoded::byte_serialize(repository.path.join("/").as_bytes()).collect();
    let payload = json!({
        "state": if event.is_error() { "failed" } else { "success" },
        "name": settings.commit_status_id,
        "description": description(event),
    });
    Ok(Some(
        OutgoingRequest::json(
            Method::POST,
            format!(
                "{}/api/v4/projects/{project}/statuses/{sha}",
                repository.base()
            ),
            &payload,
        )
        .header("PRIVATE-TOKEN", token),
    ))
}

/// Bitbucket Cloud: `POST api.bitbucket.org/2.0/repositories/<owner>/<repo>/commit/<sha>/statuses/build`
/// with basic auth from the token (`<username>:<app password>`).
pub fn bitbucket(
    settings: &ProviderSettings,
    event: &FluxEvent,
) -> Result<Option<OutgoingRequest>, ProviderError> {
    let repository = Repository::parse(require_address(settings)?)?;
    let token = require_token(settings)?;
    let (username, password) = token.split_once(':').ok_or_else(|| {
        ProviderError::InvalidAddress(
            "the bitbucket token must be '<username>:<app password>'".into(),
        )
    })?;
    let sha = commit_sha(event)?;
    let (owner, name) = repository.owner_and_name();
    let api = if repository.host == "bitbucket.org" {
        "https://api.bitbucket.org".to_owned()
    } else {
        repository.base()
    };
    // Bitbucket keys are limited to 40 characters; the id is hashed when longer.
    let key = if settings.commit_status_id.len() > 40 {
        hex::encode(<sha1::Sha1 as sha2::Digest>::digest(
            settings.commit_status_id.as_bytes(),
        ))
    } else {
        settings.commit_status_id.clone()
    };
    let payload = json!({
        "state": if event.is_error() { "FAILED" } else { "SUCCESSFUL" },
        "key": key,
        "name": settings.commit_status_id,
        "description": description(event),
        "url": format!("{}/{owner}/{name}", repository.base()),
    });
    Ok(Some(
        OutgoingRequest::json(
            Method::POST,
            format!("{api}/2.0/repositories/{owner}/{name}/commit/{sha}/statuses/build"),
            &payload,
        )
        .header(
            "Authorization",
            format!("Basic {}", basic_credentials(username, password)),
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn default_id_uses_the_first_uid_segment_in_lower_case() {
        assert_eq!(
            default_status_id(&event("info"), "0C9A4B7E-1111-2222"),
            "kustomization/apps/0c9a4b7e"
        );
    }

    #[test]
    fn repositories_parse_from_https_ssh_and_scp_forms() {
        let https = Repository::parse("https://github.com/org/app.git").unwrap();
        assert_eq!(
            (https.host.as_str(), https.path.join("/")),
            ("github.com", "org/app".into())
        );
        let scp = Repository::parse("git@gitlab.com:group/sub/app").unwrap();
        assert_eq!(scp.path, ["group", "sub", "app"]);
        assert_eq!(scp.scheme, "https");
        let local = Repository::parse("http://127.0.0.1:8080/org/app").unwrap();
        assert_eq!(local.host, "127.0.0.1:8080");
        assert!(Repository::parse("https://github.com/only-owner").is_err());
    }

    #[test]
    fn commit_comes_from_commit_metadata_or_revision() {
        let mut event = event("info");
        assert_eq!(commit_sha(&event).unwrap(), SHA);
        event
            .metadata
            .insert("revision".into(), format!("main/{SHA}"));
        assert_eq!(commit_sha(&event).unwrap(), SHA);
        event
            .metadata
            .insert("revision".into(), "v1.0.0@sha256:abc".into());
        assert!(matches!(
            commit_sha(&event),
            Err(ProviderError::NoCommit(_))
        ));
        event.metadata.insert("commit".into(), "feedbeef".into());
        assert_eq!(commit_sha(&event).unwrap(), "feedbeef");
    }

    #[test]
    fn github_status_request() {
        let mut settings = settings("https://github.com/org/app");
        settings.token = Some("ghp".into());
        settings.commit_status_id = "kustomization/apps/0c9a4b7e".into();
        let request = github(&settings, &event("error")).unwrap().unwrap();
        assert_eq!(
            request.url,
            format!("https://api.github.com/repos/org/app/statuses/{SHA}")
        );
        let json = body(&request);
        assert_eq!(json["state"], "failure");
        assert_eq!(json["context"], "kustomization/apps/0c9a4b7e");
        assert_eq!(json["description"], "reconciliation succeeded");
        let enterprise = github(
            &ProviderSettings {
                address: "https://ghe.corp/org/app".into(),
                ..settings.clone()
            },
            &event("info"),
        )
        .unwrap()
        .unwrap();
        assert_eq!(
            enterprise.url,
            format!("https://ghe.corp/api/v3/repos/org/app/statuses/{SHA}")
        );
    }

    #[test]
    fn gitlab_gitea_bitbucket_requests() {
        let mut settings = settings("https://gitlab.com/group/sub/app");
        settings.token = Some("glpat".into());
        settings.commit_status_id = "id".into();
        let request = gitlab(&settings, &event("error")).unwrap().unwrap();
        assert_eq!(
            request.url,
            format!("https://gitlab.com/api/v4/projects/group%2Fsub%2Fapp/statuses/{SHA}")
        );
        assert_eq!(body(&request)["state"], "failed");

        settings.address = "https://gitea.local/org/app".into();
        let request = gitea(&settings, &event("info")).unwrap().unwrap();
        assert_eq!(
            request.url,
            format!("https://gitea.local/api/v1/repos/org/app/statuses/{SHA}")
        );

        settings.address = "https://bitbucket.org/org/app".into();
        assert!(
            bitbucket(&settings, &event("info")).is_err(),
            "token without username"
        );
        settings.token = Some("user:pass".into());
        let request = bitbucket(&settings, &event("info")).unwrap().unwrap();
        assert_eq!(
            request.url,
            format!(
                "https://api.bitbucket.org/2.0/repositories/org/app/commit/{SHA}/statuses/build"
            )
        );
        assert_eq!(body(&request)["state"], "SUCCESSFUL");
    }
}

/// Bitbucket Server / Data Center: `POST <host>/rest/api/latest/projects/<project>/repos/<repo>/commits/<sha>/builds`,
/// with a bearer token, or basic auth from the Secret's `username` and `password`. HTTP clone
/// URLs carry an `scm/` segment before the project, which is not part of the API path.
pub fn bitbucket_server(
    settings: &ProviderSettings,
    event: &FluxEvent,
) -> Result<Option<OutgoingRequest>, ProviderError> {
    let repository = Repository::parse(require_address(settings)?)?;
    let sha = commit_sha(event)?;
    let path: Vec<&String> = repository
        .path
        .iter()
        .filter(|segment| *segment != "scm")
        .collect();
    let [.., project, repo] = path.as_slice() else {
        return Err(ProviderError::InvalidAddress(
            "expected <host>/scm/<project>/<repository>".into(),
        ));
    };
    let payload = json!({
        "state": if event.is_error() { "FAILED" } else { "SUCCESSFUL" },
        "key": settings.commit_status_id,
        "name": settings.commit_status_id,
        "description": description(event),
        "url": format!("{}/projects/{project}/repos/{repo}", repository.base()),
    });
    let request = OutgoingRequest::json(
        Method::POST,
        format!(
            "{}/rest/api/latest/projects/{project}/repos/{repo}/commits/{sha}/builds",
            repository.base()
        ),
        &payload,
    );
    let authorization = match (require_token(settings), &settings.password) {
        (Ok(token), _) => format!("Bearer {token}"),
        (Err(_), Some(password)) if !settings.username.is_empty() => {
            format!("Basic {}", basic_credentials(&settings.username, password))
        }
        (Err(error), _) => return Err(error),
    };
    Ok(Some(request.header("Authorization", authorization)))
}

/// Azure DevOps: `POST https://dev.azure.com/<org>/<project>/_apis/git/repositories/<repo>/commits/<sha>/statuses`
/// with the personal access token as basic auth; the address is `https://dev.azure.com/<org>/<project>/_git/<repo>`.
pub fn azure_devops(
    settings: &ProviderSettings,
    event: &FluxEvent,
) -> Result<Option<OutgoingRequest>, ProviderError> {
    let repository = Repository::parse(require_address(settings)?)?;
    let token = require_token(settings)?;
    let sha = commit_sha(event)?;
    let [organization, project, marker, repo] = repository.path.as_slice() else {
        return Err(ProviderError::InvalidAddress(
            "expected https://dev.azure.com/<org>/<project>/_git/<repository>".into(),
        ));
    };
    if marker != "_git" {
        return Err(ProviderError::InvalidAddress(
            "expected https://dev.azure.com/<org>/<project>/_git/<repository>".into(),
        ));
    }
    let payload = json!({
        "state": if event.is_error() { "failed" } else { "succeeded" },
        "description": description(event),
        "context": {"genre": "fluxcd", "name": settings.commit_status_id},
    });
    Ok(Some(
        OutgoingRequest::json(
            Method::POST,
            format!(
                "{}/{organization}/{project}/_apis/git/repositories/{repo}/commits/{sha}/statuses?api-version=6.0",
                repository.base()
            ),
            &payload,
        )
        .header("Authorization", format!("Basic {}", basic_credentials("", token))),
    ))
}

#[cfg(test)]
mod more_tests {
    use super::super::test_support::*;
    use super::*;

    const SHA: &str = "0123456789abcdef0123456789abcdef01234567";

    #[test]
    fn bitbucket_server_and_azure_devops_requests() {
        let mut server = settings("https://bitbucket.corp/scm/PROJ/app.git");
        server.commit_status_id = "kustomization/apps/0c9a4b7e".into();
        assert_eq!(
            bitbucket_server(&server, &event("info")).unwrap_err(),
            ProviderError::MissingToken
        );
        server.username = "bot".into();
        server.password = Some("pw".into());
        let request = bitbucket_server(&server, &event("error")).unwrap().unwrap();
        assert_eq!(
            request.url,
            format!(
                "https://bitbucket.corp/rest/api/latest/projects/PROJ/repos/app/commits/{SHA}/builds"
            )
        );
        assert!(request.headers.contains(&(
            "Authorization".into(),
            format!("Basic {}", basic_credentials("bot", "pw"))
        )));
        assert_eq!(body(&request)["state"], "FAILED");
        let ssh = ProviderSettings {
            address: "ssh://git@bitbucket.corp:7999/PROJ/app.git".into(),
            token: Some("t".into()),
            ..server.clone()
        };
        let request = bitbucket_server(&ssh, &event("info")).unwrap().unwrap();
        assert!(
            request
                .url
                .starts_with("https://bitbucket.corp/rest/api/latest/projects/PROJ/repos/app/"),
            "{}",
            request.url
        );

        let mut azure = settings("https://dev.azure.com/org/proj/_git/app");
        azure.token = Some("pat".into());
        azure.commit_status_id = "id".into();
        let request = azure_devops(&azure, &event("info")).unwrap().unwrap();
        assert_eq!(
            request.url,
            format!(
                "https://dev.azure.com/org/proj/_apis/git/repositories/app/commits/{SHA}/statuses?api-version=6.0"
            )
        );
        let json = body(&request);
        assert_eq!(json["state"], "succeeded");
        assert_eq!(json["context"]["genre"], "fluxcd");
        assert!(
            azure_devops(
                &settings("https://dev.azure.com/org/proj/app"),
                &event("info")
            )
            .is_err()
        );
    }
}
