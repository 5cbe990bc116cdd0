//! A real OCI registry for tests: Debian's `docker-registry` (distribution 2.8) on a free
//! loopback port, storage and config in a temporary directory, optionally behind htpasswd basic
//! auth. Images are pushed over the registry HTTP API itself (config blob, layer blob, schema 2
//! manifest), so no container engine is needed.
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! let registry = eddy_test_support::registry::Registry::start().await?;
//! registry.push_tags("team/app", &["1.0.0", "1.1.0"]).await?;
//! let image = registry.image("team/app"); // "127.0.0.1:<port>/team/app"
//! # Ok(())
//! # }
//! ```

mod artifact;

pub use artifact::{
    ArtifactLayer, FLUX_CONFIG_MEDIA_TYPE, FLUX_CONTENT_MEDIA_TYPE, OCI_MANIFEST_MEDIA_TYPE,
};

use std::net::TcpListener;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use sha2::{Digest, Sha256};
use tempfile::TempDir;
use tokio::process::{Child, Command};
use tokio::task::JoinSet;

/// Where Debian installs the registry (package `docker-registry`).
pub const REGISTRY_BINARY: &str = "/usr/bin/docker-registry";
const MANIFEST_MEDIA_TYPE: &str = "application/vnd.docker.distribution.manifest.v2+json";
const OCI_INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";
const CONFIG_MEDIA_TYPE: &str = "application/vnd.docker.container.image.v1+json";
const LAYER_MEDIA_TYPE: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";
/// The registry's access log, next to its config.
const ACCESS_LOG: &str = "access.log";
/// Concurrent manifest uploads when pushing many tags.
const PUSH_CONCURRENCY: usize = 8;

/// Basic-auth credentials a registry started with [`Registry::start_with_htpasswd`] accepts.
#[derive(Clone, Debug)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

/// A client certificate and its key, PEM, signed by the registry's test CA.
#[derive(Clone, Debug)]
pub struct ClientIdentity {
    pub certificate_pem: String,
    pub key_pem: String,
}

/// Which TLS a registry serves.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Tls {
    None,
    Server,
    /// Server TLS, and a client certificate signed by the test CA required.
    Mutual,
}

/// A running registry; stopped (killed) when dropped.
pub struct Registry {
    process: Child,
    address: String,
    credentials: Option<Credentials>,
    /// The CA that signed the registry's certificate, when it serves HTTPS.
    ca_pem: Option<String>,
    /// A client certificate and key (PEM) the registry accepts, when it requires one (mTLS).
    client_identity: Option<ClientIdentity>,
    http: reqwest::Client,
    dir: TempDir,
}

impl Registry {
    /// A registry without authentication.
    pub async fn start() -> anyhow::Result<Registry> {
        Registry::launch(None, Tls::None).await
    }

    /// A registry serving HTTPS with a certificate for `127.0.0.1` and `localhost` signed by a
    /// fresh test CA ([`Registry::ca_pem`]).
    pub async fn start_tls() -> anyhow::Result<Registry> {
        Registry::launch(None, Tls::Server).await
    }

    /// Like [`Registry::start_tls`], and the registry refuses clients without a certificate
    /// signed by the test CA; [`Registry::client_identity`] is one.
    pub async fn start_mtls() -> anyhow::Result<Registry> {
        Registry::launch(None, Tls::Mutual).await
    }

    /// A registry requiring basic auth with these credentials (htpasswd file made by `htpasswd -Bbn`).
    pub async fn start_with_htpasswd(username: &str, password: &str) -> anyhow::Result<Registry> {
        Registry::launch(
            Some(Credentials {
                username: username.to_owned(),
                password: password.to_owned(),
            }),
            Tls::None,
        )
        .await
    }

    async fn launch(credentials: Option<Credentials>, tls: Tls) -> anyhow::Result<Registry> {
        let dir = tempfile::tempdir()?;
        let port = free_port()?;
        let address = format!("127.0.0.1:{port}");
        let auth = match &credentials {
            Some(credentials) => write_htpasswd(dir.path(), credentials).await?,
            None => String::new(),
        };
        let (tls_config, ca_pem, client_identity) = if tls == Tls::None {
            (String::new(), None, None)
        } else {
            let material = write_tls_material(dir.path(), tls == Tls::Mutual).await?;
            (material.config, Some(material.ca_pem), material.client)
        };
        let storage = dir.path().join("storage");
        let config = format!(
            "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {address}\n{tls_config}{auth}",
            storage.display()
        );
        let config_path = dir.path().join("config.yml");
        tokio::fs::write(&config_path, config).await?;
        // The registry writes its access log (one line per request) to stdout.
        let access_log = std::fs::File::create(dir.path().join(ACCESS_LOG))?;
        let process = Command::new(REGISTRY_BINARY)
            .arg("serve")
            .arg(&config_path)
            .stdout(Stdio::from(access_log))
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| {
                format!("starting {REGISTRY_BINARY} (Debian package docker-registry)")
            })?;
        let _ = rustls::crypto::ring::default_provider().install_default();
        let mut http = reqwest::Client::builder();
        if let Some(ca) = &ca_pem {
            http = http.add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes())?);
        }
        if let Some(identity) = &client_identity {
            let pem = format!("{}\n{}", identity.certificate_pem, identity.key_pem);
            http = http.identity(reqwest::Identity::from_pem(pem.as_bytes())?);
        }
        let registry = Registry {
            process,
            address,
            credentials,
            ca_pem,
            client_identity,
            http: http.build()?,
            dir,
        };
        registry.wait_until_serving().await?;
        Ok(registry)
    }

    /// `127.0.0.1:<port>`.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// The image name for `repository` on this registry, as an ImageRepository's `spec.image`.
    pub fn image(&self, repository: &str) -> String {
        format!("{}/{repository}", self.address)
    }

    pub fn credentials(&self) -> Option<&Credentials> {
        self.credentials.as_ref()
    }

    /// The PEM of the CA a registry from [`Registry::start_tls`] is signed by.
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// The client certificate a registry from [`Registry::start_mtls`] requires.
    pub fn client_identity(&self) -> Option<&ClientIdentity> {
        self.client_identity.as_ref()
    }

    /// How many requests so far had a request line (`"GET /v2/app/tags/list…`) containing
    /// `needle`, read from the registry's access log.
    pub fn requests_matching(&self, needle: &str) -> anyhow::Result<usize> {
        let log = std::fs::read_to_string(self.dir.path().join(ACCESS_LOG))?;
        Ok(log
            .lines()
            .filter_map(|line| line.split('"').nth(1))
            .filter(|request| request.contains(needle))
            .count())
    }

    /// Stops the registry now (to test a registry that is down); the port stays unused.
    pub async fn stop(&mut self) -> anyhow::Result<()> {
        self.process.kill().await?;
        Ok(())
    }

    async fn wait_until_serving(&self) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let answered = self
                .request(reqwest::Method::GET, "/v2/")
                .send()
                .await
                .is_ok_and(|response| response.status().as_u16() < 500);
            if answered {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "registry on {} did not answer /v2/ within 20s",
                    self.address
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn request(&self, method: reqwest::Method, path_or_url: &str) -> reqwest::RequestBuilder {
        let url = if path_or_url.starts_with("http") {
            path_or_url.to_owned()
        } else {
            let scheme = if self.ca_pem.is_some() {
                "https"
            } else {
                "http"
            };
            format!("{scheme}://{}{path_or_url}", self.address)
        };
        let builder = self.http.request(method, url);
        match &self.credentials {
            Some(credentials) => {
                builder.basic_auth(&credentials.username, Some(&credentials.password))
            }
            None => builder,
        }
    }

    /// Pushes one image under every tag in `tags`. The blobs are uploaded once and every tag
    /// points at the same manifest, so thousands of tags are cheap.
    pub async fn push_tags<S: AsRef<str>>(
        &self,
        repository: &str,
        tags: &[S],
    ) -> anyhow::Result<String> {
        self.push_tags_labelled(repository, tags, "").await
    }

    /// Like [`Registry::push_tags`], with `label` written into the image config, so a different
    /// label gives a different manifest digest (to move a tag to a new image). Returns the
    /// manifest digest.
    pub async fn push_tags_labelled<S: AsRef<str>>(
        &self,
        repository: &str,
        tags: &[S],
        label: &str,
    ) -> anyhow::Result<String> {
        let manifest = self.upload_image_blobs(repository, label).await?;
        let digest = sha256_digest(manifest.as_bytes());
        let mut uploads = JoinSet::new();
        for tag in tags {
            if uploads.len() >= PUSH_CONCURRENCY
                && let Some(done) = uploads.join_next().await
            {
                done??;
            }
            let request = self
                .request(
                    reqwest::Method::PUT,
                    &format!("/v2/{repository}/manifests/{}", tag.as_ref()),
                )
                .header(reqwest::header::CONTENT_TYPE, MANIFEST_MEDIA_TYPE)
                .body(manifest.clone());
            let tag = tag.as_ref().to_owned();
            uploads.spawn(async move {
                expect_success(request.send().await, &format!("manifest for tag {tag}")).await
            });
        }
        while let Some(done) = uploads.join_next().await {
            done??;
        }
        Ok(digest)
    }

    /// Uploads a config and a layer blob and returns the manifest that references them.
    async fn upload_image_blobs(&self, repository: &str, label: &str) -> anyhow::Result<String> {
        let config = format!(
            r#"{{"architecture":"amd64","os":"linux","config":{{"Labels":{{"eddy.test":"{label}"}}}},"rootfs":{{"type":"layers","diff_ids":[]}}}}"#
        );
        let layer = b"eddy test layer".to_vec();
        let config_digest = self
            .upload_blob(repository, config.clone().into_bytes())
            .await?;
        let layer_digest = self.upload_blob(repository, layer.clone()).await?;
        Ok(format!(
            r#"{{"schemaVersion":2,"mediaType":"{MANIFEST_MEDIA_TYPE}","config":{{"mediaType":"{CONFIG_MEDIA_TYPE}","size":{},"digest":"{config_digest}"}},"layers":[{{"mediaType":"{LAYER_MEDIA_TYPE}","size":{},"digest":"{layer_digest}"}}]}}"#,
            config.len(),
            layer.len()
        ))
    }

    /// A monolithic upload: POST opens the session, PUT with `?digest=` completes it.
    async fn upload_blob(&self, repository: &str, content: Vec<u8>) -> anyhow::Result<String> {
        let digest = sha256_digest(&content);
        let start = self
            .request(
                reqwest::Method::POST,
                &format!("/v2/{repository}/blobs/uploads/"),
            )
            .send()
            .await?;
        let start = ensure_success(start, "starting a blob upload").await?;
        let location = start
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .context("blob upload answered without a Location")?
            .to_owned();
        let separator = if location.contains('?') { '&' } else { '?' };
        let finish = self
            .request(
                reqwest::Method::PUT,
                &format!("{location}{separator}digest={digest}"),
            )
            .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
            .body(content)
            .send()
            .await;
        expect_success(finish, "finishing a blob upload").await?;
        Ok(digest)
    }

    /// Points every tag in `tags` at the manifest `from` already names, by writing the tag links
    /// into the registry's filesystem storage as the registry itself does on a manifest PUT, but
    /// without a request per tag: benchmarks need hundreds of thousands of tags, which a 2-core
    /// machine takes many minutes to PUT. The registry then lists and resolves them as pushed.
    pub fn link_tags_in_storage<S: AsRef<str>>(
        &self,
        repository: &str,
        from: &str,
        tags: &[S],
    ) -> anyhow::Result<()> {
        let manifests = self
            .dir
            .path()
            .join("storage/docker/registry/v2/repositories")
            .join(repository)
            .join("_manifests/tags");
        let digest = std::fs::read_to_string(manifests.join(from).join("current/link"))
            .with_context(|| format!("tag {from} of {repository} is not in storage"))?;
        let hex = digest
            .strip_prefix("sha256:")
            .context("the stored tag link is not a sha256 digest")?;
        for tag in tags {
            let tag_dir = manifests.join(tag.as_ref());
            let index = tag_dir.join("index/sha256").join(hex);
            std::fs::create_dir_all(&index)?;
            std::fs::create_dir_all(tag_dir.join("current"))?;
            std::fs::write(index.join("link"), &digest)?;
            std::fs::write(tag_dir.join("current/link"), &digest)?;
        }
        Ok(())
    }

    /// Pushes an OCI image index under `tag` listing the manifests `digests` (already in the
    /// repository), as a multi-platform image is published. Returns the index's digest.
    pub async fn push_index(
        &self,
        repository: &str,
        tag: &str,
        digests: &[&str],
    ) -> anyhow::Result<String> {
        let mut entries = Vec::new();
        for (position, digest) in digests.iter().enumerate() {
            let response = self
                .request(
                    reqwest::Method::GET,
                    &format!("/v2/{repository}/manifests/{digest}"),
                )
                .header(reqwest::header::ACCEPT, MANIFEST_MEDIA_TYPE)
                .send()
                .await?;
            let manifest = ensure_success(response, "reading a manifest")
                .await?
                .bytes()
                .await?;
            entries.push(format!(
                r#"{{"mediaType":"{MANIFEST_MEDIA_TYPE}","size":{},"digest":"{digest}","platform":{{"architecture":"arch{position}","os":"linux"}}}}"#,
                manifest.len()
            ));
        }
        let index = format!(
            r#"{{"schemaVersion":2,"mediaType":"{OCI_INDEX_MEDIA_TYPE}","manifests":[{}]}}"#,
            entries.join(",")
        );
        let response = self
            .request(
                reqwest::Method::PUT,
                &format!("/v2/{repository}/manifests/{tag}"),
            )
            .header(reqwest::header::CONTENT_TYPE, OCI_INDEX_MEDIA_TYPE)
            .body(index.clone())
            .send()
            .await;
        expect_success(response, &format!("index for tag {tag}")).await?;
        Ok(sha256_digest(index.as_bytes()))
    }

    /// Deletes the manifest `digest` points at (and so every tag on it).
    pub async fn delete_manifest(&self, repository: &str, digest: &str) -> anyhow::Result<()> {
        let response = self
            .request(
                reqwest::Method::DELETE,
                &format!("/v2/{repository}/manifests/{digest}"),
            )
            .send()
            .await;
        expect_success(response, "deleting a manifest").await
    }
}

fn sha256_digest(content: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(content)))
}

async fn expect_success(
    response: reqwest::Result<reqwest::Response>,
    what: &str,
) -> anyhow::Result<()> {
    ensure_success(response?, what).await.map(drop)
}

async fn ensure_success(
    response: reqwest::Response,
    what: &str,
) -> anyhow::Result<reqwest::Response> {
    if response.status().is_success() {
        return Ok(response);
    }
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    bail!("registry refused {what}: {status} {body}")
}

async fn write_htpasswd(dir: &Path, credentials: &Credentials) -> anyhow::Result<String> {
    let output = Command::new("htpasswd")
        .args(["-Bbn", &credentials.username, &credentials.password])
        .output()
        .await
        .context("running htpasswd (Debian package apache2-utils)")?;
    if !output.status.success() {
        bail!(
            "htpasswd failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let path = dir.join("htpasswd");
    tokio::fs::write(&path, &output.stdout).await?;
    Ok(format!(
        "auth:\n  htpasswd:\n    realm: eddy-test\n    path: {}\n",
        path.display()
    ))
}

struct TlsMaterial {
    /// The registry's `tls:` config block.
    config: String,
    ca_pem: String,
    client: Option<ClientIdentity>,
}

/// A CA and a server certificate for `127.0.0.1`/`localhost`, written next to the config; with
/// `mutual`, the CA is also the one client certificates must be signed by, and one is made.
async fn write_tls_material(dir: &Path, mutual: bool) -> anyhow::Result<TlsMaterial> {
    let ca_key = rcgen::KeyPair::generate()?;
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "eddy test registry CA");
    ca_params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key)?;
    let server_key = rcgen::KeyPair::generate()?;
    let server_params =
        rcgen::CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()])?;
    let server_cert = server_params.signed_by(&server_key, &ca)?;
    let cert_path = dir.join("registry.crt");
    let key_path = dir.join("registry.key");
    tokio::fs::write(&cert_path, server_cert.pem()).await?;
    tokio::fs::write(&key_path, server_key.serialize_pem()).await?;
    let mut config = format!(
        "  tls:\n    certificate: {}\n    key: {}\n",
        cert_path.display(),
        key_path.display()
    );
    let client = if mutual {
        let ca_path = dir.join("client-ca.crt");
        tokio::fs::write(&ca_path, ca.pem()).await?;
        config.push_str(&format!("    clientcas:\n      - {}\n", ca_path.display()));
        let client_key = rcgen::KeyPair::generate()?;
        let mut client_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
        client_params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "eddy test client");
        client_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let client_cert = client_params.signed_by(&client_key, &ca)?;
        Some(ClientIdentity {
            certificate_pem: client_cert.pem(),
            key_pem: client_key.serialize_pem(),
        })
    } else {
        None
    };
    Ok(TlsMaterial {
        config,
        ca_pem: ca.pem(),
        client,
    })
}

fn free_port() -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
