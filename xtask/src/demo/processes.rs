//! The controllers, run as local processes against the testenv.

use std::{
    fs::File,
    net::TcpListener,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};

use crate::workspace;

const CONTROLLERS: &[&str] = &[
    "source-controller",
    "kustomize-controller",
    "notification-controller",
];

/// Builds the controller binaries and `eddy` (debug profile: the demo favours a quick first
/// build).
pub fn build_controllers() -> anyhow::Result<()> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .current_dir(workspace::root())
        .args(["build", "--quiet"]);
    for controller in CONTROLLERS {
        command.args(["-p", controller]);
    }
    command.args(["-p", "eddy-cli"]);
    let status = command.status().context("cannot run cargo build")?;
    if !status.success() {
        bail!("building the controllers failed");
    }
    Ok(())
}

/// Running controller processes; they are stopped when this is dropped.
pub struct Controllers {
    children: Vec<(String, Child)>,
    log_dir: PathBuf,
}

fn free_port() -> anyhow::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Controllers {
    pub async fn start(demo_dir: &Path, kubeconfig: &Path) -> anyhow::Result<Self> {
        let log_dir = demo_dir.join("logs");
        std::fs::create_dir_all(&log_dir)?;
        let storage = demo_dir.join("artifacts");
        std::fs::create_dir_all(&storage)?;
        let storage_port = free_port()?;
        let events_port = free_port()?;
        let receiver_port = free_port()?;
        let events_url = format!("http://127.0.0.1:{events_port}/");
        let mut controllers = Self {
            children: Vec::new(),
            log_dir: log_dir.clone(),
        };
        let mut health_ports = Vec::new();
        for name in CONTROLLERS {
            let health = free_port()?;
            let metrics = free_port()?;
            health_ports.push((name.to_string(), health));
            let mut args = vec![
                format!("--health-addr=127.0.0.1:{health}"),
                format!("--metrics-addr=127.0.0.1:{metrics}"),
                "--watch-all-namespaces=false".to_owned(),
                "--log-encoding=json".to_owned(),
            ];
            match *name {
                "source-controller" => args.extend([
                    format!("--storage-path={}", storage.display()),
                    format!("--storage-addr=127.0.0.1:{storage_port}"),
                    format!("--storage-adv-addr=127.0.0.1:{storage_port}"),
                    format!("--events-addr={events_url}"),
                ]),
                "kustomize-controller" => args.extend([
                    format!("--events-addr={events_url}"),
                    // On a second demo run the sync Kustomization first sees its source
                    // re-fetching from the new server; retry soon rather than after Flux's 30s.
                    "--requeue-dependency=3s".to_owned(),
                ]),
                _ => args.extend([
                    format!("--events-addr=127.0.0.1:{events_port}"),
                    format!("--receiverAddr=127.0.0.1:{receiver_port}"),
                ]),
            }
            let log = File::create(log_dir.join(format!("{name}.log")))?;
            let child = Command::new(workspace::root().join("target/debug").join(name))
                .args(&args)
                .env("KUBECONFIG", kubeconfig)
                .env("RUNTIME_NAMESPACE", "flux-system")
                .stdin(Stdio::null())
                .stdout(log.try_clone()?)
                .stderr(log)
                .spawn()
                .with_context(|| format!("cannot start {name}"))?;
            controllers.children.push((name.to_string(), child));
        }
        for (name, port) in health_ports {
            controllers.wait_ready(&name, port).await?;
        }
        Ok(controllers)
    }

    async fn wait_ready(&mut self, name: &str, health_port: u16) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let url = format!("http://127.0.0.1:{health_port}/readyz");
        loop {
            if let Ok(response) = reqwest::get(&url).await
                && response.status().is_success()
            {
                super::progress::note(&format!("{name} is ready"));
                return Ok(());
            }
            if let Some((_, child)) = self.children.iter_mut().find(|(n, _)| n == name)
                && let Ok(Some(status)) = child.try_wait()
            {
                self.print_log_tails();
                bail!("{name} exited with {status}");
            }
            if Instant::now() > deadline {
                self.print_log_tails();
                bail!("{name} did not become ready within a minute");
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    pub fn pids(&self) -> String {
        self.children
            .iter()
            .map(|(_, child)| child.id().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    pub fn log_dir(&self) -> &Path {
        &self.log_dir
    }

    /// The last lines of every controller's log, for when something went wrong.
    pub fn print_log_tails(&self) {
        for (name, _) in &self.children {
            let text = std::fs::read_to_string(self.log_dir.join(format!("{name}.log")))
                .unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            eprintln!("--- last lines of {name}'s log:");
            for line in &lines[lines.len().saturating_sub(15)..] {
                eprintln!("{line}");
            }
        }
    }
}

impl Drop for Controllers {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
