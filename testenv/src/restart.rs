//! Stopping and starting again the API server of a running environment, for tests of how
//! controllers ride out an API server restart. etcd keeps running, so every object survives; the
//! new API server listens on the same port with the same certificates, so clients reconnect
//! without noticing anything but the outage.
//!
//! Never use these on the shared environment other tests run against: start a private one
//! (`up_at` with a layout of the test's own) and restart that.

use std::time::{Duration, Instant};

use crate::api;
use crate::components;
use crate::error::{TestenvError, log_tail};
use crate::layout::Layout;
use crate::lifecycle;
use crate::pki::Pki;
use crate::process;
use crate::state::{ProcessRecord, State};
use crate::versions;

const APISERVER_TIMEOUT: Duration = Duration::from_secs(120);

/// Stops the environment's kube-apiserver (SIGTERM, SIGKILL after a grace period) and returns
/// once it is gone. The environment counts as broken until [`start_apiserver_at`].
pub fn stop_apiserver_at(layout: &Layout) -> Result<(), TestenvError> {
    let _lock = lifecycle::lock(layout)?;
    let state = load(layout)?;
    let record = apiserver_record(&state, layout)?;
    process::stop(&record.component, record.pid, &record.binary)
}

/// Starts the environment's kube-apiserver again (after [`stop_apiserver_at`]) and returns once
/// it answers `/readyz`.
pub fn start_apiserver_at(layout: &Layout) -> Result<(), TestenvError> {
    let _lock = lifecycle::lock(layout)?;
    let mut state = load(layout)?;
    let record = apiserver_record(&state, layout)?.clone();
    if process::is_running(record.pid, &record.binary) {
        return Err(TestenvError::Restart {
            reason: format!("it still runs (pid {}); stop it first", record.pid),
        });
    }
    let pki = Pki::in_dir(&layout.pki_dir());
    let args = components::kube_apiserver(&state.ports, &pki, layout);
    let log = layout.log_file(&record.component);
    let mut started = process::spawn_detached(&record.binary, &args, &[], &log)?;
    if let Some(entry) = state
        .processes
        .iter_mut()
        .find(|entry| entry.component == record.component)
    {
        entry.pid = started.pid;
    }
    state.save(layout)?;

    let runtime = lifecycle::runtime()?;
    runtime.block_on(async {
        let client = api::client(&layout.kubeconfig()).await?;
        let deadline = Instant::now() + APISERVER_TIMEOUT;
        loop {
            if let Some(status) = started.exited() {
                return Err(TestenvError::ProcessExited {
                    component: versions::KUBE_APISERVER.binary,
                    status: status.to_string(),
                    tail: log_tail(&log, 15),
                    log,
                });
            }
            if api::is_ready(&client).await {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(TestenvError::Timeout {
                    what: "the restarted kube-apiserver to become ready (/readyz)".to_owned(),
                    after: APISERVER_TIMEOUT,
                    logs: layout.logs_dir(),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
}

fn load(layout: &Layout) -> Result<State, TestenvError> {
    State::load(layout).map_err(|reason| TestenvError::Restart {
        reason: format!("{reason} (is the environment up?)"),
    })
}

fn apiserver_record<'a>(
    state: &'a State,
    layout: &Layout,
) -> Result<&'a ProcessRecord, TestenvError> {
    state
        .processes
        .iter()
        .find(|record| record.component == versions::KUBE_APISERVER.binary)
        .ok_or_else(|| TestenvError::Restart {
            reason: format!(
                "{} records no kube-apiserver (is the environment up?)",
                layout.state_file().display()
            ),
        })
}
