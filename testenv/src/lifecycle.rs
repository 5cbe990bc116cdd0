//! `up` and `down`: reuse or clean a previous run, start the processes in order, and wait until
//! the control plane really works (every wait bounded, every failure pointing at a log).

use std::fs::{self, File};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::api;
use crate::components;
use crate::error::{TestenvError, log_tail};
use crate::kubeconfig;
use crate::layout::Layout;
use crate::pki;
use crate::process::{self, Started};
use crate::state::{self, Ports, Previous, ProcessRecord, State};
use crate::toolchain;
use crate::versions::{self, COMPONENTS, Component};

/// Fixes the API server's port instead of picking a free one (handy for a long-lived demo).
pub const API_PORT_ENV: &str = "EDDY_TESTENV_API_PORT";

const ETCD_TIMEOUT: Duration = Duration::from_secs(30);
const APISERVER_TIMEOUT: Duration = Duration::from_secs(120);
const CONTROLLERS_TIMEOUT: Duration = Duration::from_secs(90);
/// How long a running environment may take to answer `/readyz` before it counts as broken.
const REUSE_TIMEOUT: Duration = Duration::from_secs(15);
/// How long to wait for another `up`/`down` (which may be doing the cold build) to finish.
const LOCK_TIMEOUT: Duration = Duration::from_secs(75 * 60);

/// Whether an environment runs, as `status` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Running { kubeconfig: PathBuf },
    Stopped,
    Broken { reason: String },
}

pub fn up(layout: &Layout) -> Result<PathBuf, TestenvError> {
    let started = Instant::now();
    let _lock = lock(layout)?;
    let runtime = runtime()?;
    let names: Vec<&str> = COMPONENTS.iter().map(|c| c.binary).collect();
    match state::assess(layout, &names) {
        Previous::Absent => {}
        Previous::Running(state) if state.versions != versions::cache_key() => {
            progress!(
                "the running environment was built from other pins ({}); restarting it with {}",
                state.versions,
                versions::cache_key()
            );
            state::clean(layout, Some(&state))?;
        }
        Previous::Running(state) => {
            let kubeconfig = layout.kubeconfig();
            if runtime.block_on(api_answers(&kubeconfig, REUSE_TIMEOUT)) {
                progress!(
                    "reusing the running environment (checked in {:.1}s)",
                    started.elapsed().as_secs_f64()
                );
                return Ok(kubeconfig);
            }
            progress!(
                "the previous environment runs but its API server does not answer; restarting it"
            );
            state::clean(layout, Some(&state))?;
        }
        Previous::Broken { state, reason } => {
            progress!("cleaning up the previous environment: {reason}");
            state::clean(layout, state.as_ref())?;
        }
    }

    toolchain::ensure_binaries(layout)?;
    let kubeconfig = runtime.block_on(start(layout))?;
    progress!(
        "control plane up in {:.1}s",
        started.elapsed().as_secs_f64()
    );
    Ok(kubeconfig)
}

pub fn down(layout: &Layout) -> Result<bool, TestenvError> {
    let _lock = lock(layout)?;
    let existed = layout.state_dir().exists();
    let state = State::load(layout).ok();
    state::clean(layout, state.as_ref())?;
    Ok(existed)
}

pub fn status(layout: &Layout) -> Result<Status, TestenvError> {
    let names: Vec<&str> = COMPONENTS.iter().map(|c| c.binary).collect();
    Ok(match state::assess(layout, &names) {
        Previous::Absent => Status::Stopped,
        Previous::Broken { reason, .. } => Status::Broken { reason },
        Previous::Running(_) => {
            let kubeconfig = layout.kubeconfig();
            if runtime()?.block_on(api_answers(&kubeconfig, REUSE_TIMEOUT)) {
                Status::Running { kubeconfig }
            } else {
                Status::Broken {
                    reason: "the processes run but the API server does not answer".to_owned(),
                }
            }
        }
    })
}

/// Takes the testenv-wide lock: one `up`/`down` at a time across processes (parallel test
/// binaries all call `up`). Released when the returned file is dropped.
pub(crate) fn lock(layout: &Layout) -> Result<File, TestenvError> {
    let root = layout.root();
    fs::create_dir_all(root).map_err(|e| TestenvError::io("cannot create", root, e))?;
    let path = layout.lock_file();
    let file = File::create(&path).map_err(|e| TestenvError::io("cannot open", &path, e))?;
    let deadline = Instant::now() + LOCK_TIMEOUT;
    let mut told = false;
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(file),
            Err(fs::TryLockError::WouldBlock) => {
                if !told {
                    progress!(
                        "waiting for another testenv up/down to finish (lock {})",
                        path.display()
                    );
                    told = true;
                }
                if Instant::now() >= deadline {
                    return Err(TestenvError::Timeout {
                        what: format!("the testenv lock {}", path.display()),
                        after: LOCK_TIMEOUT,
                        logs: layout.logs_dir(),
                    });
                }
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(fs::TryLockError::Error(e)) => {
                return Err(TestenvError::io("cannot lock", &path, e));
            }
        }
    }
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, TestenvError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| TestenvError::io("cannot start an async runtime for", "the testenv", e))
}

async fn api_answers(kubeconfig: &std::path::Path, timeout: Duration) -> bool {
    let Ok(client) = api::client(kubeconfig).await else {
        return false;
    };
    tokio::time::timeout(timeout, api::is_ready(&client))
        .await
        .unwrap_or(false)
}

/// The processes being started, so every wait can notice one of them dying.
struct Launch<'a> {
    layout: &'a Layout,
    state: State,
    running: Vec<(&'static str, Started)>,
}

impl Launch<'_> {
    fn spawn(
        &mut self,
        component: Component,
        args: Vec<String>,
        envs: &[(&str, PathBuf)],
    ) -> Result<(), TestenvError> {
        let binary = self.layout.binary(component.binary);
        let log = self.layout.log_file(component.binary);
        let started = process::spawn_detached(&binary, &args, envs, &log)?;
        self.state.processes.push(ProcessRecord {
            component: component.binary.to_owned(),
            pid: started.pid,
            binary,
        });
        self.state.save(self.layout)?;
        self.running.push((component.binary, started));
        Ok(())
    }

    /// The first started process that has exited, as an error pointing at its log.
    fn check_alive(&mut self) -> Result<(), TestenvError> {
        for (component, started) in &mut self.running {
            if let Some(status) = started.exited() {
                let log = self.layout.log_file(component);
                let mut tail = log_tail(&log, 15);
                if tail.contains("address already in use") {
                    tail.push_str("\n(a port it was given was taken by another program in the meantime: run `up` again)");
                }
                return Err(TestenvError::ProcessExited {
                    component,
                    status: status.to_string(),
                    log,
                    tail,
                });
            }
        }
        Ok(())
    }

    /// Polls `check` until it holds, failing early when a process dies and after `timeout`.
    async fn wait_for(
        &mut self,
        what: &str,
        timeout: Duration,
        mut check: impl AsyncFnMut() -> bool,
    ) -> Result<(), TestenvError> {
        let deadline = Instant::now() + timeout;
        loop {
            self.check_alive()?;
            if check().await {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(TestenvError::Timeout {
                    what: what.to_owned(),
                    after: timeout,
                    logs: self.layout.logs_dir(),
                });
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
}

async fn start(layout: &Layout) -> Result<PathBuf, TestenvError> {
    // First, so a taken port fails before anything is written.
    let ports = choose_ports(std::env::var(API_PORT_ENV).ok().as_deref())?;
    for dir in [
        layout.state_dir(),
        layout.logs_dir(),
        layout.etcd_data_dir(),
        layout.home_dir("kwok"),
    ] {
        fs::create_dir_all(&dir).map_err(|e| TestenvError::io("cannot create", &dir, e))?;
    }
    let pki = pki::generate(&layout.pki_dir())?;
    let kubeconfig_path = layout.kubeconfig();
    let rendered = kubeconfig::render(ports.apiserver, &pki)?;
    fs::write(&kubeconfig_path, rendered)
        .map_err(|e| TestenvError::io("cannot write", &kubeconfig_path, e))?;

    let mut launch = Launch {
        layout,
        state: State {
            versions: versions::cache_key(),
            ports,
            processes: Vec::new(),
            complete: false,
        },
        running: Vec::new(),
    };
    launch.state.save(layout)?;
    let result = bring_up(&mut launch, &pki, &kubeconfig_path).await;
    if let Err(error) = result {
        // Stop what runs, but keep the state dir: its logs explain the failure, and the next
        // `up` (or `down`) removes it.
        for record in launch.state.processes.iter().rev() {
            let _ = process::stop(&record.component, record.pid, &record.binary);
        }
        return Err(error);
    }
    launch.state.complete = true;
    launch.state.save(layout)?;
    Ok(kubeconfig_path)
}

async fn bring_up(
    launch: &mut Launch<'_>,
    pki: &pki::Pki,
    kubeconfig_path: &std::path::Path,
) -> Result<(), TestenvError> {
    let layout = launch.layout;
    let ports = launch.state.ports;

    progress!("starting etcd on 127.0.0.1:{}", ports.etcd_client);
    launch.spawn(versions::ETCD, components::etcd(layout, &ports), &[])?;
    launch
        .wait_for("etcd to accept connections", ETCD_TIMEOUT, async || {
            process::port_accepts(ports.etcd_client)
        })
        .await?;

    progress!(
        "starting kube-apiserver on https://127.0.0.1:{}",
        ports.apiserver
    );
    launch.spawn(
        versions::KUBE_APISERVER,
        components::kube_apiserver(&ports, pki, layout),
        &[],
    )?;
    let client = api::client(kubeconfig_path).await?;
    launch
        .wait_for(
            "kube-apiserver to become ready (/readyz)",
            APISERVER_TIMEOUT,
            async || api::is_ready(&client).await,
        )
        .await?;

    progress!("starting kube-controller-manager, kube-scheduler and kwok");
    launch.spawn(
        versions::KUBE_CONTROLLER_MANAGER,
        components::kube_controller_manager(&ports, pki, layout),
        &[],
    )?;
    launch.spawn(
        versions::KUBE_SCHEDULER,
        components::kube_scheduler(&ports, layout),
        &[],
    )?;
    // kwok would also read ~/.kwok/kwok.yaml; a private HOME keeps a developer's config out.
    launch.spawn(
        versions::KWOK,
        components::kwok(layout),
        &[("HOME", layout.home_dir("kwok"))],
    )?;

    api::ensure_kwok_node(&client).await?;
    launch
        .wait_for(
            "kwok to mark Node kwok-node-0 Ready",
            CONTROLLERS_TIMEOUT,
            async || api::node_is_ready(&client).await,
        )
        .await?;
    launch
        .wait_for(
            "kube-controller-manager to create the default ServiceAccount",
            CONTROLLERS_TIMEOUT,
            async || api::default_service_account_exists(&client).await,
        )
        .await?;
    Ok(())
}

/// Picks the ports: the API server's from [`API_PORT_ENV`] when set (failing clearly if it is
/// taken), every other one free at this moment.
fn choose_ports(api_port_override: Option<&str>) -> Result<Ports, TestenvError> {
    let override_port = match api_port_override.filter(|v| !v.is_empty()) {
        Some(value) => {
            let port = parse_port(value).ok_or_else(|| TestenvError::BadSetting {
                name: API_PORT_ENV,
                reason: format!("{value:?} is not a port number (1-65535)"),
            })?;
            process::ensure_port_free(
                port,
                "the API server",
                "set EDDY_TESTENV_API_PORT to another port, or unset it to let the testenv pick a free one",
            )?;
            Some(port)
        }
        None => None,
    };
    let free = process::free_ports(5)
        .map_err(|e| TestenvError::io("cannot find free ports on", "127.0.0.1", e))?;
    Ok(Ports {
        etcd_client: free[0],
        etcd_peer: free[1],
        apiserver: override_port.unwrap_or(free[2]),
        controller_manager: free[3],
        scheduler: free[4],
    })
}

fn parse_port(value: &str) -> Option<u16> {
    value.trim().parse::<u16>().ok().filter(|port| *port != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_overrides_are_validated() {
        assert_eq!(parse_port("6443"), Some(6443));
        assert_eq!(parse_port(" 8443 "), Some(8443));
        assert_eq!(parse_port("0"), None);
        assert_eq!(parse_port("70000"), None);
        assert_eq!(parse_port("https"), None);
    }

    #[test]
    fn a_taken_api_port_is_refused_and_free_ports_are_distinct() {
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let taken = listener.local_addr().unwrap().port().to_string();
        let error = choose_ports(Some(&taken)).unwrap_err();
        assert!(matches!(error, TestenvError::PortInUse { .. }), "{error}");
        assert!(error.to_string().contains(API_PORT_ENV), "{error}");
        assert!(matches!(
            choose_ports(Some("http")),
            Err(TestenvError::BadSetting { .. })
        ));

        let ports = choose_ports(None).unwrap();
        let mut all = [
            ports.etcd_client,
            ports.etcd_peer,
            ports.apiserver,
            ports.controller_manager,
            ports.scheduler,
        ];
        all.sort_unstable();
        assert!(all.windows(2).all(|pair| pair[0] != pair[1]), "{all:?}");
    }

    #[test]
    fn down_without_an_environment_is_a_no_op_and_status_says_stopped() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::at(dir.path());
        assert!(!down(&layout).unwrap());
        assert_eq!(status(&layout).unwrap(), Status::Stopped);
    }

    #[test]
    fn a_crashed_run_is_reported_broken_and_removed_by_down() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::at(dir.path());
        fs::create_dir_all(layout.logs_dir()).unwrap();
        fs::write(layout.state_file(), "{").unwrap();
        assert!(matches!(status(&layout).unwrap(), Status::Broken { .. }));
        assert!(down(&layout).unwrap());
        assert!(!layout.state_dir().exists());
    }

    #[test]
    fn the_lock_is_exclusive_between_handles() {
        let dir = tempfile::tempdir().unwrap();
        let layout = Layout::at(dir.path());
        let held = lock(&layout).unwrap();
        let other = File::open(layout.lock_file()).unwrap();
        assert!(matches!(
            other.try_lock(),
            Err(fs::TryLockError::WouldBlock)
        ));
        drop(held);
        other.try_lock().unwrap();
    }
}
