//! Smart HTTP(S) Git server: `git http-backend` run as a CGI program behind axum, with optional
//! basic auth, bearer token and TLS (a freshly generated CA).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;

use anyhow::{Context, bail};
use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use tokio::io::AsyncWriteExt as _;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

const HTTP_BACKEND: &str = "/usr/lib/git-core/git-http-backend";

/// Which protections the server enforces.
#[derive(Debug, Clone, Default)]
pub struct HttpServerOptions {
    /// Require `Authorization: Basic` with this user and password.
    pub basic_auth: Option<(String, String)>,
    /// Require `Authorization: Bearer <token>`.
    pub bearer_token: Option<String>,
    /// Serve HTTPS with a certificate for `127.0.0.1` and `localhost` from a generated CA.
    pub tls: bool,
    /// With `tls`: require a client certificate issued by the same CA (mTLS). The certificate
    /// and key to present are [`GitHttpServer::client_identity`].
    pub client_auth: bool,
}

/// A client certificate and its key, PEM encoded.
#[derive(Debug, Clone)]
pub struct ClientIdentity {
    pub cert_pem: String,
    pub key_pem: String,
}

/// The TLS material of an HTTPS server.
struct TlsMaterial {
    acceptor: tokio_rustls::TlsAcceptor,
    ca_pem: String,
    client: Option<ClientIdentity>,
}

/// A running server; stops when dropped.
pub struct GitHttpServer {
    addr: SocketAddr,
    tls: bool,
    ca_pem: Option<String>,
    client: Option<ClientIdentity>,
    task: JoinHandle<()>,
}

struct Config {
    project_root: PathBuf,
    options: HttpServerOptions,
}

impl GitHttpServer {
    /// Starts serving the bare repositories under `project_root` on a free loopback port.
    pub async fn start(project_root: &Path, options: HttpServerOptions) -> anyhow::Result<Self> {
        if !Path::new(HTTP_BACKEND).exists() {
            bail!("{HTTP_BACKEND} is missing (package git)");
        }
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let tls = options.tls;
        let client_auth = options.client_auth;
        if client_auth && !tls {
            bail!("client_auth needs tls");
        }
        let config = Arc::new(Config {
            project_root: project_root.to_path_buf(),
            options,
        });
        let router = axum::Router::new().fallback(handle).with_state(config);
        let (task, ca_pem, client) = if tls {
            let material = tls_material(client_auth)?;
            let task = tokio::spawn(serve_tls(listener, material.acceptor, router));
            (task, Some(material.ca_pem), material.client)
        } else {
            let task = tokio::spawn(async move {
                let _ = axum::serve(listener, router).await;
            });
            (task, None, None)
        };
        Ok(GitHttpServer {
            addr,
            tls,
            ca_pem,
            client,
            task,
        })
    }

    /// The URL of the repository `<name>.git`.
    pub fn url(&self, name: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}/{name}.git", self.addr)
    }

    /// The PEM of the CA that signed the server certificate (TLS servers only).
    pub fn ca_pem(&self) -> Option<&str> {
        self.ca_pem.as_deref()
    }

    /// The client certificate the server accepts (servers with `client_auth` only).
    pub fn client_identity(&self) -> Option<&ClientIdentity> {
        self.client.as_ref()
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for GitHttpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn tls_material(client_auth: bool) -> anyhow::Result<TlsMaterial> {
    let ca_key = rcgen::KeyPair::generate()?;
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "eddy test git CA");
    ca_params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let ca = rcgen::CertifiedIssuer::self_signed(ca_params, ca_key)?;
    let server_key = rcgen::KeyPair::generate()?;
    let mut server_params =
        rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])?;
    server_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "127.0.0.1");
    let server_cert = server_params.signed_by(&server_key, &ca)?;
    let key_der = rustls::pki_types::PrivateKeyDer::try_from(server_key.serialize_der())
        .map_err(|err| anyhow::anyhow!("server key: {err}"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let (builder, client) = if client_auth {
        let mut roots = rustls::RootCertStore::empty();
        roots.add(ca.der().clone())?;
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()?;
        let client_key = rcgen::KeyPair::generate()?;
        let mut client_params = rcgen::CertificateParams::new(vec!["eddy-client".to_string()])?;
        client_params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
        let client_cert = client_params.signed_by(&client_key, &ca)?;
        let identity = ClientIdentity {
            cert_pem: client_cert.pem(),
            key_pem: client_key.serialize_pem(),
        };
        (builder.with_client_cert_verifier(verifier), Some(identity))
    } else {
        (builder.with_no_client_auth(), None)
    };
    let config = builder.with_single_cert(vec![server_cert.der().clone()], key_der)?;
    Ok(TlsMaterial {
        acceptor: tokio_rustls::TlsAcceptor::from(Arc::new(config)),
        ca_pem: ca.pem(),
        client,
    })
}

async fn serve_tls(
    listener: TcpListener,
    acceptor: tokio_rustls::TlsAcceptor,
    router: axum::Router,
) {
    loop {
        let Ok((stream, _)) = listener.accept().await else {
            continue;
        };
        let acceptor = acceptor.clone();
        let router = router.clone();
        tokio::spawn(async move {
            let Ok(tls) = acceptor.accept(stream).await else {
                return;
            };
            let service = hyper_util::service::TowerToHyperService::new(router);
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(hyper_util::rt::TokioIo::new(tls), service)
                .await;
        });
    }
}

fn unauthorized() -> Response {
    // libgit2 only asks its credentials callback for schemes it knows, so challenge with Basic
    // even when a bearer token is expected.
    let mut response = (StatusCode::UNAUTHORIZED, "authentication required").into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"git\""),
    );
    response
}

fn authorised(headers: &HeaderMap, options: &HttpServerOptions) -> Option<String> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    if let Some((user, password)) = &options.basic_auth {
        let expected =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        return (given == Some(format!("Basic {expected}").as_str())).then(|| user.clone());
    }
    if let Some(token) = &options.bearer_token {
        return (given == Some(format!("Bearer {token}").as_str())).then(|| "bearer".to_string());
    }
    Some(String::new())
}

async fn handle(State(config): State<Arc<Config>>, request: Request) -> Response {
    match run_backend(&config, request).await {
        Ok(response) => response,
        Err(err) => (StatusCode::INTERNAL_SERVER_ERROR, format!("{err:#}")).into_response(),
    }
}

async fn run_backend(config: &Config, request: Request) -> anyhow::Result<Response> {
    let (parts, body) = request.into_parts();
    let Some(remote_user) = authorised(&parts.headers, &config.options) else {
        return Ok(unauthorized());
    };
    let body = axum::body::to_bytes(body, 64 << 20).await?;
    let header_text = |name: header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string()
    };
    let mut command = tokio::process::Command::new(HTTP_BACKEND);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("GIT_PROJECT_ROOT", &config.project_root)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("REQUEST_METHOD", parts.method.as_str())
        .env("PATH_INFO", parts.uri.path())
        .env("QUERY_STRING", parts.uri.query().unwrap_or_default())
        .env("CONTENT_TYPE", header_text(header::CONTENT_TYPE))
        .env("CONTENT_LENGTH", body.len().to_string())
        .env(
            "HTTP_CONTENT_ENCODING",
            header_text(header::CONTENT_ENCODING),
        )
        .env(
            "GIT_PROTOCOL",
            header_text(header::HeaderName::from_static("git-protocol")),
        )
        .env("REMOTE_USER", remote_user)
        .env("REMOTE_ADDR", "127.0.0.1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let mut child = command.spawn().context("starting git http-backend")?;
    let mut stdin = child.stdin.take().context("no stdin")?;
    // Feed the request body concurrently: the backend may start answering before reading it all.
    let writer = tokio::spawn(async move {
        let _ = stdin.write_all(&body).await;
    });
    let output = child.wait_with_output().await?;
    let _ = writer.await;
    cgi_response(&output.stdout).with_context(|| {
        format!(
            "backend stderr: {}",
            String::from_utf8_lossy(&output.stderr)
        )
    })
}

/// Turns CGI output (headers, blank line, body) into an HTTP response.
fn cgi_response(raw: &[u8]) -> anyhow::Result<Response> {
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|at| (at, 4))
        .or_else(|| raw.windows(2).position(|w| w == b"\n\n").map(|at| (at, 2)))
        .context("CGI output has no header terminator")?;
    let head = std::str::from_utf8(&raw[..split.0])?;
    let body = Bytes::copy_from_slice(&raw[split.0 + split.1..]);
    let mut response = Response::new(Body::from(body));
    for line in head.lines() {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("status") {
            let code = value
                .split_whitespace()
                .next()
                .unwrap_or("200")
                .parse::<u16>()?;
            *response.status_mut() = StatusCode::from_u16(code)?;
        } else {
            response.headers_mut().append(
                header::HeaderName::from_bytes(name.trim().as_bytes())?,
                HeaderValue::from_str(value)?,
            );
        }
    }
    Ok(response)
}
