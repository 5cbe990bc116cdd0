//! The real `helm` CLI for tests, and a chart repository served from a directory.
//!
//! `helm` is built once from the pin in `test-support/helm-tools/go.mod` into
//! `~/.cache/eddy/helm/<version>/helm` (or under `$XDG_CACHE_HOME`); it is test tooling, never
//! shipped. [`ChartRepository`] serves a directory where that `helm` ran `helm package` and
//! `helm repo index`, optionally behind basic auth.
#![allow(clippy::unwrap_used)] // test tooling: a failure here is a failed test

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;

use anyhow::{Context, bail};
use base64::Engine as _;

const MODULE: &str = "helm.sh/helm/v4";
static BUILD: Mutex<()> = Mutex::new(());

fn tools_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("helm-tools")
}

/// The module pinning the `helm` that recorded `shared/corpus/helm` (v4.3.2): differential tests
/// of `helm template` compare against it, since capabilities and manifest splitting differ
/// between minor versions.
fn oracle_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("helm-oracle")
}

/// The Helm version `require`d by the tools module, e.g. `v4.2.2`.
pub fn pinned_version() -> anyhow::Result<String> {
    required_version(&tools_dir())
}

fn required_version(module_dir: &Path) -> anyhow::Result<String> {
    let go_mod = std::fs::read_to_string(module_dir.join("go.mod"))?;
    go_mod
        .lines()
        .find_map(|line| {
            line.trim()
                .strip_prefix("require ")?
                .strip_prefix(MODULE)?
                .split_whitespace()
                .next()
                .map(str::to_owned)
        })
        .with_context(|| {
            format!(
                "{}/go.mod does not require helm.sh/helm/v4",
                module_dir.display()
            )
        })
}

fn cache_root() -> anyhow::Result<PathBuf> {
    if let Some(cache) = std::env::var_os("XDG_CACHE_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(cache).join("eddy/helm"));
    }
    let home = std::env::var_os("HOME").context("HOME is not set")?;
    Ok(PathBuf::from(home).join(".cache/eddy/helm"))
}

/// A working `helm`, built first when the cache has none (several minutes on a cold cache).
pub fn binary() -> anyhow::Result<PathBuf> {
    build_cached(&tools_dir())
}

/// The corpus oracle, `helm` v4.3.2, built like [`binary`].
pub fn oracle_binary() -> anyhow::Result<PathBuf> {
    build_cached(&oracle_dir())
}

fn build_cached(module_dir: &Path) -> anyhow::Result<PathBuf> {
    let _guard = BUILD.lock().unwrap_or_else(|p| p.into_inner());
    let dir = cache_root()?.join(required_version(module_dir)?);
    let binary = dir.join("helm");
    if runs(&binary) {
        return Ok(binary);
    }
    std::fs::create_dir_all(&dir)?;
    let partial = dir.join(format!("helm.{}.partial", std::process::id()));
    let log = dir.join("build.log");
    let log_file = std::fs::File::create(&log)?;
    let status = Command::new("go")
        .current_dir(module_dir)
        .args(["build", "-trimpath", "-o"])
        .arg(&partial)
        .arg(format!("{MODULE}/cmd/helm"))
        .env("GOWORK", "off")
        .env("GOFLAGS", "-mod=readonly -buildvcs=false")
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .status()
        .context("cannot run `go build`; is Go installed?")?;
    if !status.success() {
        let _ = std::fs::remove_file(&partial);
        bail!("building helm failed; see {}", log.display());
    }
    std::fs::rename(&partial, &binary)?;
    if !runs(&binary) {
        bail!("the freshly built {} does not run", binary.display());
    }
    Ok(binary)
}

fn runs(binary: &Path) -> bool {
    Command::new(binary)
        .arg("version")
        .output()
        .is_ok_and(|output| output.status.success())
}

/// Runs `helm args…` in `dir` with a private Helm home; fails the test on a non-zero exit.
pub fn helm(dir: &Path, args: &[&str]) -> String {
    let home = dir.join(".helm-home");
    let output = Command::new(binary().unwrap())
        .current_dir(dir)
        .args(args)
        .env("HELM_CACHE_HOME", home.join("cache"))
        .env("HELM_CONFIG_HOME", home.join("config"))
        .env("HELM_DATA_HOME", home.join("data"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "helm {args:?} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A chart repository: a directory served over HTTP, optionally behind basic auth.
pub struct ChartRepository {
    pub addr: SocketAddr,
}

impl ChartRepository {
    /// Serves `dir`; with `basic_auth`, requests without those credentials get 401.
    pub async fn serve(dir: &Path, basic_auth: Option<(&str, &str)>) -> ChartRepository {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let expected = basic_auth.map(|(user, password)| {
            let token =
                base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            format!("Basic {token}")
        });
        let app = axum::Router::new()
            .fallback_service(tower_http::services::ServeDir::new(dir))
            .layer(axum::middleware::from_fn(
                move |request: axum::extract::Request, next: axum::middleware::Next| {
                    let expected = expected.clone();
                    async move {
                        let given = request
                            .headers()
                            .get("authorization")
                            .and_then(|value| value.to_str().ok())
                            .map(str::to_owned);
                        if expected.is_some() && given != expected {
                            return axum::response::IntoResponse::into_response((
                                axum::http::StatusCode::UNAUTHORIZED,
                                "unauthorized",
                            ));
                        }
                        next.run(request).await
                    }
                },
            ));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        ChartRepository { addr }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}
