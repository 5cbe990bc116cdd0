//! `cargo xtask bench kustomize-controller`: how fast kustomize-controller brings N
//! Kustomizations (each a small app: Deployment, ServiceAccount, Service, ConfigMap, all from
//! one repository artifact) to Ready, and what it costs; next to a raw server-side-apply loop
//! over the same objects as the ceiling.
//!
//! Phases per count: `initial` (controller started with N Kustomizations and a published
//! artifact, until all are Ready), `commit` (a new revision changing every ConfigMap, until all
//! applied it), and `raw SSA` (this process applying the same objects itself, no controller).
//! The artifact is served by a minimal HTTP server in this process; the GitRepository's status
//! is written directly, as source-controller would. Services are headless: the testenv's service
//! IP range holds far fewer than 1000 addresses.

use std::{
    path::Path,
    process::Command,
    sync::Arc,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use clap::Parser;
use eddy_test_support::TestNamespace;
use kube::api::{
    Api, ApiResource, DynamicObject, GroupVersionKind, ListParams, Patch, PatchParams,
};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::process::{Figures, MeasuredProcess, RUN_LABEL, build_controller};

#[derive(Parser, Debug)]
#[command(name = "cargo xtask bench kustomize-controller")]
struct KustomizeBenchArgs {
    /// How many Kustomizations per run, comma separated.
    #[arg(long, value_delimiter = ',', default_value = "100,1000")]
    counts: Vec<usize>,
    /// `--concurrent` of the controller.
    #[arg(long, default_value_t = 4)]
    concurrent: usize,
    /// Measure a debug build instead of the release build.
    #[arg(long)]
    debug: bool,
    /// Give up on a phase after this many seconds.
    #[arg(long, default_value_t = 900)]
    timeout_secs: u64,
}

pub fn run(rest: &[String]) -> anyhow::Result<()> {
    let args = KustomizeBenchArgs::try_parse_from(
        std::iter::once("kustomize-controller".to_owned()).chain(rest.iter().cloned()),
    )?;
    let binary = build_controller("kustomize-controller", args.debug)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let client = eddy_test_support::client().await?;
        eddy_test_support::install_crds(&client).await?;
        let server = ArtifactServer::start().await?;
        println!(
            "kustomize-controller ({} build, --concurrent {}), apps of Deployment (0 replicas) + ServiceAccount + Service + ConfigMap, wait: true",
            if args.debug { "debug" } else { "release" },
            args.concurrent
        );
        println!(
            "{:>7}  {:<8}  {:>9}  {:>9}  {:>13}",
            "objects", "phase", "seconds", "cpu s", "peak RSS MiB"
        );
        for &count in &args.counts {
            for (phase, figures) in measure(&client, &binary, &server, count, &args).await? {
                let cpu = figures.cpu_seconds;
                let rss = figures.peak_rss_mib;
                let (cpu, rss) = if rss > 0.0 {
                    (format!("{cpu:.2}"), format!("{rss:.1}"))
                } else {
                    ("-".to_owned(), "-".to_owned())
                };
                println!(
                    "{count:>7}  {phase:<8}  {:>9.2}  {cpu:>9}  {rss:>13}",
                    figures.seconds
                );
            }
        }
        anyhow::Ok(())
    })
}

/// The manifests of app `index`; `generation` changes the ConfigMap (a "commit").
pub(super) fn app_manifests(index: usize, generation: u32) -> Vec<(String, String)> {
    let name = format!("app-{index}");
    vec![
        (
            "serviceaccount.yaml".into(),
            format!("apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {name}\n"),
        ),
        (
            "configmap.yaml".into(),
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}\ndata:\n  generation: \"{generation}\"\n"
            ),
        ),
        (
            "service.yaml".into(),
            format!(
                "apiVersion: v1\nkind: Service\nmetadata:\n  name: {name}\nspec:\n  clusterIP: None\n  selector:\n    app: {name}\n  ports:\n  - port: 80\n    targetPort: 8080\n"
            ),
        ),
        (
            "deployment.yaml".into(),
            format!(
                "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {name}\nspec:\n  replicas: 0\n  selector:\n    matchLabels:\n      app: {name}\n  template:\n    metadata:\n      labels:\n        app: {name}\n    spec:\n      serviceAccountName: {name}\n      containers:\n      - name: app\n        image: registry.example.com/app:1.0.0\n        ports:\n        - containerPort: 8080\n"
            ),
        ),
    ]
}

/// Writes the repository for `count` apps and packs it with the system `tar`.
fn pack_repository(dir: &Path, count: usize, generation: u32) -> anyhow::Result<Vec<u8>> {
    let root = dir.join(format!("repo-{generation}"));
    for index in 0..count {
        let app = root.join("apps").join(format!("app-{index}"));
        std::fs::create_dir_all(&app)?;
        for (file, text) in app_manifests(index, generation) {
            std::fs::write(app.join(file), text)?;
        }
    }
    let archive = dir.join(format!("artifact-{generation}.tar.gz"));
    let status = Command::new("tar")
        .arg("-czf")
        .arg(&archive)
        .arg("-C")
        .arg(&root)
        .arg(".")
        .status()
        .context("cannot run tar")?;
    if !status.success() {
        bail!("tar failed");
    }
    Ok(std::fs::read(archive)?)
}

fn sha256_hex(bytes: &[u8], dir: &Path) -> anyhow::Result<String> {
    let file = dir.join("digest-input");
    std::fs::write(&file, bytes)?;
    let output = Command::new("sha256sum")
        .arg(&file)
        .output()
        .context("cannot run sha256sum")?;
    let text = String::from_utf8(output.stdout)?;
    Ok(text
        .split_whitespace()
        .next()
        .context("no sha256sum output")?
        .to_owned())
}

async fn measure(
    client: &kube::Client,
    binary: &Path,
    server: &ArtifactServer,
    count: usize,
    args: &KustomizeBenchArgs,
) -> anyhow::Result<Vec<(&'static str, Figures)>> {
    let namespace = TestNamespace::new(client, "bench-ks").await?;
    let ns = namespace.name().to_owned();
    let work = tempfile::tempdir()?;
    let timeout = Duration::from_secs(args.timeout_secs);

    let first = publish(client, server, work.path(), &ns, count, 1).await?;
    let kustomizations = kustomization_api(client, &ns);
    let params = PatchParams::apply("eddy-bench").force();
    for index in 0..count {
        let name = format!("app-{index}");
        let object = json!({
            "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
            "kind": "Kustomization",
            "metadata": {"name": name, "namespace": ns, "labels": {RUN_LABEL: ns}},
            "spec": {
                "interval": "60m", "path": format!("./apps/{name}"), "prune": true, "wait": true,
                "timeout": "5m", "targetNamespace": ns,
                "sourceRef": {"kind": "GitRepository", "name": "bench"},
            },
        });
        kustomizations
            .patch(&name, &params, &Patch::Apply(&object))
            .await?;
    }

    let mut controller = start_controller(binary, work.path(), &ns, args.concurrent)?;
    let started = Instant::now();
    wait_all(&kustomizations, count, &first, &mut controller, timeout).await?;
    let initial = Figures {
        seconds: started.elapsed().as_secs_f64(),
        cpu_seconds: controller.cpu_seconds()?,
        peak_rss_mib: controller.peak_rss_mib()?,
    };

    let cpu_before = controller.cpu_seconds()?;
    let started = Instant::now();
    let second = publish(client, server, work.path(), &ns, count, 2).await?;
    wait_all(&kustomizations, count, &second, &mut controller, timeout).await?;
    let commit = Figures {
        seconds: started.elapsed().as_secs_f64(),
        cpu_seconds: controller.cpu_seconds()? - cpu_before,
        peak_rss_mib: controller.peak_rss_mib()?,
    };
    controller.stop();

    let raw = raw_apply(client, &ns, count, args.concurrent).await?;
    namespace.cleanup().await?;
    Ok(vec![
        ("initial", initial),
        ("commit", commit),
        ("raw SSA", raw),
    ])
}

/// Packs revision `generation`, serves it and writes the GitRepository status; returns the
/// revision.
async fn publish(
    client: &kube::Client,
    server: &ArtifactServer,
    dir: &Path,
    ns: &str,
    count: usize,
    generation: u32,
) -> anyhow::Result<String> {
    let bytes = pack_repository(dir, count, generation)?;
    let digest = sha256_hex(&bytes, dir)?;
    let size = bytes.len();
    let url = server.serve(&format!("bench-{generation}.tar.gz"), bytes);
    let revision = format!("main@sha1:{}", &digest[..40]);
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("source.toolkit.fluxcd.io", "v1", "GitRepository"),
        "gitrepositories",
    );
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &resource);
    let params = PatchParams::apply("eddy-bench").force();
    let object = json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "metadata": {"name": "bench", "namespace": ns},
        "spec": {"url": "http://example.invalid/bench.git", "interval": "60m"},
    });
    api.patch("bench", &params, &Patch::Apply(&object)).await?;
    let now = "2026-01-01T00:00:00Z";
    let status = json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
        "status": {
            "artifact": {
                "path": "gitrepository/bench/artifact.tar.gz", "url": url, "revision": revision,
                "digest": format!("sha256:{digest}"), "lastUpdateTime": now, "size": size,
            },
            "conditions": [{"type": "Ready", "status": "True", "reason": "Succeeded", "message": "stored", "lastTransitionTime": now}],
        },
    });
    api.patch_status("bench", &params, &Patch::Apply(&status))
        .await?;
    Ok(revision)
}

fn kustomization_api(client: &kube::Client, ns: &str) -> Api<DynamicObject> {
    let resource = ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("kustomize.toolkit.fluxcd.io", "v1", "Kustomization"),
        "kustomizations",
    );
    Api::namespaced_with(client.clone(), ns, &resource)
}

async fn wait_all(
    api: &Api<DynamicObject>,
    count: usize,
    revision: &str,
    controller: &mut MeasuredProcess,
    timeout: Duration,
) -> anyhow::Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        controller.check_alive()?;
        let list = api.list(&ListParams::default()).await?;
        let done = list
            .items
            .iter()
            .filter(|ks| {
                let applied = ks
                    .data
                    .pointer("/status/lastAppliedRevision")
                    .and_then(Value::as_str);
                let ready = ks
                    .data
                    .pointer("/status/conditions")
                    .and_then(Value::as_array)
                    .is_some_and(|c| {
                        c.iter()
                            .any(|c| c["type"] == "Ready" && c["status"] == "True")
                    });
                applied == Some(revision) && ready
            })
            .count();
        if done >= count {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("only {done}/{count} Kustomizations applied {revision} in time");
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// The ceiling: server-side apply of the same objects (4 per app) straight from this process,
/// `concurrency` at a time, as a controller with no build, diff or status work would.
pub(super) async fn raw_apply(
    client: &kube::Client,
    ns: &str,
    count: usize,
    concurrency: usize,
) -> anyhow::Result<Figures> {
    let mut objects = Vec::new();
    for index in 0..count {
        for (_, text) in app_manifests(index, 3) {
            let value: Value = serde_yaml_ng::from_str(&text)?;
            objects.push(value);
        }
    }
    let client = Arc::new(client.clone());
    let started = Instant::now();
    let semaphore = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut tasks = Vec::new();
    for object in objects {
        let permit = semaphore.clone().acquire_owned().await?;
        let client = client.clone();
        let ns = ns.to_owned();
        tasks.push(tokio::spawn(async move {
            let _permit = permit;
            apply_one(&client, &ns, &object).await
        }));
    }
    for task in tasks {
        task.await??;
    }
    Ok(Figures {
        seconds: started.elapsed().as_secs_f64(),
        cpu_seconds: 0.0,
        peak_rss_mib: 0.0,
    })
}

async fn apply_one(client: &kube::Client, ns: &str, object: &Value) -> anyhow::Result<()> {
    let (group, version) = match object["apiVersion"]
        .as_str()
        .unwrap_or("v1")
        .split_once('/')
    {
        Some((g, v)) => (g.to_owned(), v.to_owned()),
        None => (
            String::new(),
            object["apiVersion"].as_str().unwrap_or("v1").to_owned(),
        ),
    };
    let kind = object["kind"].as_str().unwrap_or_default();
    let plural = format!("{}s", kind.to_ascii_lowercase());
    let resource =
        ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(&group, &version, kind), &plural);
    let api: Api<DynamicObject> = Api::namespaced_with(client.clone(), ns, &resource);
    let name = object
        .pointer("/metadata/name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let params = PatchParams::apply("eddy-bench-raw").force();
    api.patch(name, &params, &Patch::Apply(object)).await?;
    Ok(())
}

/// A minimal HTTP/1.1 file server for the artifacts.
struct ArtifactServer {
    addr: std::net::SocketAddr,
    files: Arc<std::sync::Mutex<std::collections::HashMap<String, Arc<Vec<u8>>>>>,
}

impl ArtifactServer {
    async fn start() -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let files: Arc<std::sync::Mutex<std::collections::HashMap<String, Arc<Vec<u8>>>>> =
            Arc::default();
        let served = files.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let files = served.clone();
                tokio::spawn(async move {
                    let mut buffer = vec![0u8; 8192];
                    let Ok(read) = socket.read(&mut buffer).await else {
                        return;
                    };
                    let request = String::from_utf8_lossy(&buffer[..read]);
                    let path = request
                        .split_whitespace()
                        .nth(1)
                        .unwrap_or("/")
                        .trim_start_matches('/')
                        .to_owned();
                    let body = files
                        .lock()
                        .unwrap_or_else(|p| p.into_inner())
                        .get(&path)
                        .cloned();
                    let response = match body {
                        Some(body) => {
                            let head = format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len());
                            let _ = socket.write_all(head.as_bytes()).await;
                            socket.write_all(&body).await
                        }
                        None => socket.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await,
                    };
                    let _ = response;
                    let _ = socket.shutdown().await;
                });
            }
        });
        Ok(Self { addr, files })
    }

    fn serve(&self, name: &str, bytes: Vec<u8>) -> String {
        self.files
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_owned(), Arc::new(bytes));
        format!("http://{}/{name}", self.addr)
    }
}

/// Starts kustomize-controller on the Kustomizations of run `run_id`.
fn start_controller(
    binary: &Path,
    dir: &Path,
    run_id: &str,
    concurrent: usize,
) -> anyhow::Result<MeasuredProcess> {
    let args = [
        "--metrics-addr".to_owned(),
        "127.0.0.1:0".to_owned(),
        "--health-addr".to_owned(),
        "127.0.0.1:0".to_owned(),
        "--watch-label-selector".to_owned(),
        format!("{RUN_LABEL}={run_id}"),
        "--concurrent".to_owned(),
        concurrent.to_string(),
    ];
    MeasuredProcess::spawn(binary, &args, &dir.join("controller.log"))
}
