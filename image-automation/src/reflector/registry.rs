//! Listing a repository's tags over the OCI distribution API: `GET /v2/<name>/tags/list`, pages
//! followed through `Link: <…>; rel="next"`, and the registry's auth challenge answered (basic
//! credentials, or the Bearer token flow: ask the challenge's `realm` for a token for its
//! `service` and `scope`, with the basic credentials when there are any).
//!
//! Hand-rolled on reqwest rather than an OCI client crate: the whole flow is two requests, and the
//! crates looked at did not follow `Link` pagination or let one client be shared with the
//! controller's timeout and TLS settings.

use std::collections::HashSet;
use std::time::Duration;

use reqwest::header::{ACCEPT, AUTHORIZATION, LINK, WWW_AUTHENTICATE};
use reqwest::{Method, StatusCode};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::image::ImageName;

/// Page size asked of the registry; registries may answer with fewer.
const PAGE_SIZE: usize = 1000;
/// An endless `Link` chain ends here.
pub const MAX_PAGES: usize = 10_000;

/// Credentials for one registry host, from a `dockerconfigjson` Secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BasicCredentials {
    pub username: String,
    pub password: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("authentication to {registry} failed: {detail}")]
    Authentication { registry: String, detail: String },
    #[error("listing tags of {image} failed: {detail}")]
    Read { image: String, detail: String },
}

impl ScanError {
    fn read(image: &ImageName, detail: impl Into<String>) -> ScanError {
        ScanError::Read {
            image: image.canonical(),
            detail: detail.into(),
        }
    }
}

/// How to reach a registry.
pub struct ScanOptions {
    pub plain_http: bool,
    pub timeout: Duration,
    pub credentials: Option<BasicCredentials>,
}

#[derive(Deserialize)]
struct TagPage {
    #[serde(default)]
    tags: Option<Vec<String>>,
}

#[derive(Deserialize)]
struct TokenAnswer {
    token: Option<String>,
    access_token: Option<String>,
}

/// Every tag of `image`, in the order the registry lists them.
pub async fn list_tags(
    http: &reqwest::Client,
    image: &ImageName,
    options: &ScanOptions,
) -> Result<Vec<String>, ScanError> {
    let base = base_url(image, options);
    let mut next = Some(format!(
        "{base}/v2/{}/tags/list?n={PAGE_SIZE}",
        image.repository
    ));
    let mut seen = HashSet::new();
    let mut tags = Vec::new();
    let mut authorization = None;
    while let Some(url) = next.take() {
        if !seen.insert(url.clone()) || seen.len() > MAX_PAGES {
            return Err(ScanError::read(
                image,
                format!(
                    "the registry's page chain does not end (stopped after {} pages)",
                    seen.len()
                ),
            ));
        }
        let response = get_authorized(http, image, &url, options, &mut authorization).await?;
        next = next_page(&base, &response);
        let page: TagPage = response.json().await.map_err(|error| {
            ScanError::read(
                image,
                format!("the registry answered something other than a tag list: {error}"),
            )
        })?;
        tags.extend(page.tags.unwrap_or_default());
    }
    Ok(tags)
}

/// One registry request: method, URL, the `Accept` header, and what a 404 means for it.
struct Request<'a> {
    method: Method,
    url: &'a str,
    accept: Option<&'a str>,
    not_found: &'a str,
}

fn base_url(image: &ImageName, options: &ScanOptions) -> String {
    let scheme = if options.plain_http { "http" } else { "https" };
    format!("{scheme}://{}", image.api_host())
}

/// Every manifest kind a tag may point at: single-platform OCI and Docker manifests and their
/// multi-platform indexes (OCI index, Docker manifest list). Without them a registry may answer
/// with a converted manifest, and so another digest.
const MANIFEST_MEDIA_TYPES: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json";
const DIGEST_HEADER: &str = "Docker-Content-Digest";

/// The digest `tag` of `image` points at now: a manifest HEAD read for its
/// `Docker-Content-Digest`, or, for a registry that does not send that header, the SHA-256 of
/// the manifest fetched with GET.
pub async fn manifest_digest(
    http: &reqwest::Client,
    image: &ImageName,
    tag: &str,
    options: &ScanOptions,
) -> Result<String, ScanError> {
    let url = format!(
        "{}/v2/{}/manifests/{tag}",
        base_url(image, options),
        image.repository
    );
    let not_found = format!("tag '{tag}' does not exist (404 Not Found)");
    let mut request = Request {
        method: Method::HEAD,
        url: &url,
        accept: Some(MANIFEST_MEDIA_TYPES),
        not_found: &not_found,
    };
    let mut authorization = None;
    let response = send_authorized(http, image, &request, options, &mut authorization).await?;
    if let Some(digest) = digest_header(&response) {
        return Ok(digest);
    }
    request.method = Method::GET;
    let response = send_authorized(http, image, &request, options, &mut authorization).await?;
    let body = response.bytes().await.map_err(|error| {
        ScanError::read(
            image,
            format!("reading the manifest of tag '{tag}': {error}"),
        )
    })?;
    Ok(format!("sha256:{}", hex::encode(Sha256::digest(&body))))
}

fn digest_header(response: &reqwest::Response) -> Option<String> {
    let digest = response.headers().get(DIGEST_HEADER)?.to_str().ok()?;
    let (algorithm, hex) = digest.split_once(':')?;
    let well_formed = !algorithm.is_empty() && hex.chars().all(|c| c.is_ascii_hexdigit());
    well_formed.then(|| digest.to_owned())
}

/// GETs `url`, answering one auth challenge; `authorization` keeps the header for later pages.
async fn get_authorized(
    http: &reqwest::Client,
    image: &ImageName,
    url: &str,
    options: &ScanOptions,
    authorization: &mut Option<String>,
) -> Result<reqwest::Response, ScanError> {
    let request = Request {
        method: Method::GET,
        url,
        accept: None,
        not_found: "the repository does not exist (404 Not Found)",
    };
    send_authorized(http, image, &request, options, authorization).await
}

/// Sends `request`, answering one auth challenge.
async fn send_authorized(
    http: &reqwest::Client,
    image: &ImageName,
    request: &Request<'_>,
    options: &ScanOptions,
    authorization: &mut Option<String>,
) -> Result<reqwest::Response, ScanError> {
    let mut response = send(http, image, request, options, authorization.as_deref()).await?;
    if response.status() == StatusCode::UNAUTHORIZED {
        let challenge = response
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        *authorization = Some(answer_challenge(http, image, &challenge, options).await?);
        response = send(http, image, request, options, authorization.as_deref()).await?;
    }
    match response.status() {
        status if status.is_success() => Ok(response),
        StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => Err(ScanError::Authentication {
            registry: image.registry.clone(),
            detail: format!(
                "the registry refused the credentials ({})",
                response.status()
            ),
        }),
        StatusCode::NOT_FOUND => Err(ScanError::read(image, request.not_found)),
        status => Err(ScanError::read(
            image,
            format!("the registry answered {status}"),
        )),
    }
}

async fn send(
    http: &reqwest::Client,
    image: &ImageName,
    request: &Request<'_>,
    options: &ScanOptions,
    authorization: Option<&str>,
) -> Result<reqwest::Response, ScanError> {
    let mut builder = http
        .request(request.method.clone(), request.url)
        .timeout(options.timeout);
    if let Some(accept) = request.accept {
        builder = builder.header(ACCEPT, accept);
    }
    if let Some(authorization) = authorization {
        builder = builder.header(AUTHORIZATION, authorization);
    }
    builder
        .send()
        .await
        .map_err(|error| ScanError::read(image, describe_transport_error(&error)))
}

fn describe_transport_error(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The `Authorization` header value that answers `challenge`.
async fn answer_challenge(
    http: &reqwest::Client,
    image: &ImageName,
    challenge: &str,
    options: &ScanOptions,
) -> Result<String, ScanError> {
    let refused = |detail: String| ScanError::Authentication {
        registry: image.registry.clone(),
        detail,
    };
    let (scheme, parameters) = parse_challenge(challenge);
    if scheme.eq_ignore_ascii_case("basic") {
        let credentials = options.credentials.as_ref().ok_or_else(|| {
            refused("the registry requires credentials and no secretRef gives any".to_owned())
        })?;
        return Ok(basic_header(credentials));
    }
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(refused(format!("unsupported auth challenge '{challenge}'")));
    }
    let realm = parameter(&parameters, "realm")
        .ok_or_else(|| refused("Bearer challenge without a realm".to_owned()))?;
    let mut query = Vec::new();
    if let Some(service) = parameter(&parameters, "service") {
        query.push(("service", service.to_owned()));
    }
    let scope = parameter(&parameters, "scope")
        .map(str::to_owned)
        .unwrap_or_else(|| format!("repository:{}:pull", image.repository));
    query.push(("scope", scope));
    let token_url = url::Url::parse_with_params(realm, &query)
        .map_err(|error| refused(format!("Bearer realm '{realm}' is not a URL: {error}")))?;
    let mut request = http.get(token_url).timeout(options.timeout);
    if let Some(credentials) = &options.credentials {
        request = request.header(AUTHORIZATION, basic_header(credentials));
    }
    let response = request.send().await.map_err(|error| {
        refused(format!(
            "token request to {realm} failed: {}",
            describe_transport_error(&error)
        ))
    })?;
    if !response.status().is_success() {
        return Err(refused(format!(
            "token request to {realm} answered {}",
            response.status()
        )));
    }
    let answer: TokenAnswer = response
        .json()
        .await
        .map_err(|error| refused(format!("token answer from {realm} is not JSON: {error}")))?;
    let token = answer
        .token
        .or(answer.access_token)
        .ok_or_else(|| refused(format!("token answer from {realm} has no token")))?;
    Ok(format!("Bearer {token}"))
}

fn basic_header(credentials: &BasicCredentials) -> String {
    use base64::Engine;
    let pair = format!("{}:{}", credentials.username, credentials.password);
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// `Bearer realm="…",service="…"` → (`Bearer`, [(realm, …), (service, …)]).
fn parse_challenge(challenge: &str) -> (&str, Vec<(String, String)>) {
    let challenge = challenge.trim();
    let (scheme, rest) = challenge.split_once(' ').unwrap_or((challenge, ""));
    let mut parameters = Vec::new();
    let mut remaining = rest.trim();
    while let Some((key, after)) = remaining.split_once('=') {
        let key = key
            .trim()
            .trim_start_matches(',')
            .trim()
            .to_ascii_lowercase();
        let after = after.trim_start();
        let (value, tail) = match after.strip_prefix('"') {
            Some(quoted) => quoted.split_once('"').unwrap_or((quoted, "")),
            None => after.split_once(',').unwrap_or((after, "")),
        };
        parameters.push((key, value.to_owned()));
        remaining = tail.trim_start_matches([',', ' ']);
    }
    (scheme, parameters)
}

fn parameter<'a>(parameters: &'a [(String, String)], name: &str) -> Option<&'a str> {
    parameters
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.as_str())
}

/// The next page from a `Link: <url>; rel="next"` header, made absolute against `base`.
fn next_page(base: &str, response: &reqwest::Response) -> Option<String> {
    let link = response.headers().get(LINK)?.to_str().ok()?;
    next_link(base, link)
}

fn next_link(base: &str, header: &str) -> Option<String> {
    header.split(',').find_map(|entry| {
        let (target, attributes) = entry.split_once(';')?;
        let is_next = attributes.split(';').any(|attribute| {
            let attribute = attribute.trim().replace('"', "");
            attribute.eq_ignore_ascii_case("rel=next")
        });
        let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
        is_next.then(|| {
            if target.starts_with("http://") || target.starts_with("https://") {
                target.to_owned()
            } else {
                format!("{base}{target}")
            }
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_header_gives_the_next_page() {
        let base = "http://127.0.0.1:5000";
        assert_eq!(
            next_link(base, r#"</v2/app/tags/list?last=b&n=2>; rel="next""#),
            Some("http://127.0.0.1:5000/v2/app/tags/list?last=b&n=2".to_owned())
        );
        assert_eq!(
            next_link(base, r#"<https://r.example/v2/x?last=1>; rel="next""#),
            Some("https://r.example/v2/x?last=1".to_owned())
        );
        assert_eq!(next_link(base, r#"</v2/x>; rel="prev""#), None);
    }

    #[test]
    fn bearer_challenge_parameters() {
        let (scheme, parameters) = parse_challenge(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull""#,
        );
        assert_eq!(scheme, "Bearer");
        assert_eq!(
            parameter(&parameters, "realm"),
            Some("https://auth.example/token")
        );
        assert_eq!(parameter(&parameters, "service"), Some("registry.example"));
        assert_eq!(parameter(&parameters, "scope"), Some("repository:a/b:pull"));
        let (scheme, parameters) = parse_challenge(r#"Basic realm="eddy-test""#);
        assert_eq!(scheme, "Basic");
        assert_eq!(parameter(&parameters, "realm"), Some("eddy-test"));
    }
}
