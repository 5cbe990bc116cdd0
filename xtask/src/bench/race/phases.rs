//! One fleet through the four phases, in a fresh namespace:
//! 1. `initial`: the GitRepository and N Kustomizations exist, the fleet starts; until every
//!    Kustomization is Ready at the first commit.
//! 2. `commit`: a commit changing every app, then a reconcile request on the GitRepository (what
//!    a push webhook does); until every Kustomization applied it.
//! 3. `idle`: nothing happens for `--idle-seconds`; the RSS at its end is the idle RSS.
//! 4. `no-op`: a reconcile request on the GitRepository and every Kustomization, nothing changed;
//!    until every Kustomization handled it.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use anyhow::Context;
use eddy_test_support::TestNamespace;
use futures::StreamExt;
use kube::api::{Api, DynamicObject, Patch, PatchParams};
use serde::Serialize;
use serde_json::json;

use super::{
    apiserver::{self, RequestCounts},
    fleet::{ControllerFigures, Fleet, FleetBinaries, FleetSettings},
    wait::{applied, handled, wait_all},
    workload::{GIT_REPOSITORY, Workload, git_repositories, kustomizations},
};

/// The phases, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    Initial,
    Commit,
    Idle,
    NoOp,
}

impl Phase {
    pub const ALL: [Phase; 4] = [Phase::Initial, Phase::Commit, Phase::Idle, Phase::NoOp];

    pub fn label(self) -> &'static str {
        match self {
            Phase::Initial => "initial",
            Phase::Commit => "commit",
            Phase::Idle => "idle",
            Phase::NoOp => "no-op",
        }
    }
}

/// What one phase cost one fleet.
#[derive(Debug, Clone, Serialize)]
pub struct PhaseFigures {
    pub phase: Phase,
    pub seconds: f64,
    pub controllers: Vec<ControllerFigures>,
    pub requests: RequestCounts,
}

/// Everything one fleet's run produced.
#[derive(Debug, Clone, Serialize)]
pub struct FleetRun {
    pub binaries: FleetBinaries,
    pub namespace: String,
    pub load_average_before: String,
    pub load_average_after: String,
    pub phases: Vec<PhaseFigures>,
}

/// The shared pieces a fleet run needs.
pub struct RaceContext<'a> {
    pub client: &'a kube::Client,
    pub kubeconfig: &'a Path,
    pub workload: &'a Workload,
    pub settings: &'a FleetSettings,
    pub idle: Duration,
    pub timeout: Duration,
}

/// Runs `binaries` through every phase; `generation` is the first of the two commits it gets.
pub async fn run_fleet(
    context: &RaceContext<'_>,
    binaries: &FleetBinaries,
    generation: u32,
) -> anyhow::Result<FleetRun> {
    let prefix = format!(
        "race-{}",
        binaries.implementation.to_string().to_lowercase()
    );
    let namespace = TestNamespace::new(context.client, &prefix).await?;
    let ns = namespace.name().to_owned();
    let work = tempfile::Builder::new().prefix(&prefix).tempdir()?;
    let load_average_before = load_average();
    let sha = context.workload.commit(generation)?;
    let mut own = RequestCounts::default();
    context
        .workload
        .create_objects(context.client, &ns, &ns, &mut own)
        .await?;

    let mut measure = PhaseMeasure::new(context.client);
    measure.begin(None).await?;
    let mut fleet = Fleet::start(
        binaries,
        context.settings,
        context.kubeconfig,
        &ns,
        work.path(),
    )?;
    let outcome = phases(context, &mut fleet, &mut measure, &ns, &sha, generation).await;
    fleet.stop();
    if outcome.is_err() {
        println!(
            "{} fleet failed; its logs are kept in {}",
            binaries.implementation,
            work.keep().display()
        );
    }
    let phases = outcome?;
    release_and_delete(context.client, &ns, namespace).await?;
    Ok(FleetRun {
        binaries: binaries.clone(),
        namespace: ns,
        load_average_before,
        load_average_after: load_average(),
        phases,
    })
}

async fn phases(
    context: &RaceContext<'_>,
    fleet: &mut Fleet,
    measure: &mut PhaseMeasure<'_>,
    ns: &str,
    first_sha: &str,
    generation: u32,
) -> anyhow::Result<Vec<PhaseFigures>> {
    let count = context.workload.objects();
    let kustomizations = kustomizations(context.client, ns);
    let mut figures = Vec::new();

    // The fleet started just before `begin(None)` returned; its CPU counts from process start.
    wait_all(
        &kustomizations,
        count,
        fleet,
        context.timeout,
        &mut measure.own,
        |o| applied(o, first_sha),
    )
    .await
    .context("initial sync")?;
    figures.push(measure.end(Phase::Initial, fleet).await?);

    // The push happens before the clock starts: both fleets only notice it on the request.
    let sha = context.workload.commit(generation + 1)?;
    measure.begin(Some(fleet)).await?;
    request_reconcile(
        &git_repositories(context.client, ns),
        GIT_REPOSITORY,
        "commit",
        &mut measure.own,
    )
    .await?;
    wait_all(
        &kustomizations,
        count,
        fleet,
        context.timeout,
        &mut measure.own,
        |o| applied(o, &sha),
    )
    .await
    .context("commit")?;
    figures.push(measure.end(Phase::Commit, fleet).await?);

    measure.begin(Some(fleet)).await?;
    let idle_until = Instant::now() + context.idle;
    while Instant::now() < idle_until {
        fleet.check_alive()?;
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    figures.push(measure.end(Phase::Idle, fleet).await?);

    measure.begin(Some(fleet)).await?;
    let token = format!("race-noop-{}", unix_seconds());
    request_reconcile(
        &git_repositories(context.client, ns),
        GIT_REPOSITORY,
        &token,
        &mut measure.own,
    )
    .await?;
    request_reconcile_all(&kustomizations, count, &token, &mut measure.own).await?;
    wait_all(
        &kustomizations,
        count,
        fleet,
        context.timeout,
        &mut measure.own,
        |o| handled(o, &token),
    )
    .await
    .context("no-op reconcile")?;
    figures.push(measure.end(Phase::NoOp, fleet).await?);
    Ok(figures)
}

/// The clock, the API server's request counter and the bench's own requests of one phase.
struct PhaseMeasure<'a> {
    client: &'a kube::Client,
    started: Instant,
    before: apiserver::MetricsSnapshot,
    own: RequestCounts,
}

impl<'a> PhaseMeasure<'a> {
    fn new(client: &'a kube::Client) -> Self {
        Self {
            client,
            started: Instant::now(),
            before: apiserver::MetricsSnapshot::default(),
            own: RequestCounts::default(),
        }
    }

    /// Starts a phase (and the fleet's counters, when it is already running).
    async fn begin(&mut self, fleet: Option<&mut Fleet>) -> anyhow::Result<()> {
        self.before = apiserver::scrape(self.client).await?;
        self.own = RequestCounts::default();
        if let Some(fleet) = fleet {
            fleet.begin_phase()?;
        }
        self.started = Instant::now();
        Ok(())
    }

    async fn end(&mut self, phase: Phase, fleet: &Fleet) -> anyhow::Result<PhaseFigures> {
        let seconds = self.started.elapsed().as_secs_f64();
        let controllers = fleet.phase_figures()?;
        // The bench's watch ends with the wait; give the API server a moment to count it.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let after = apiserver::scrape(self.client).await?;
        // The scrape that opened the phase is counted in it.
        self.own.add("GET", 1);
        Ok(PhaseFigures {
            phase,
            seconds,
            controllers,
            requests: apiserver::requests_between(&self.before, &after, &self.own),
        })
    }
}

/// Sets `reconcile.fluxcd.io/requestedAt` (what `flux reconcile` does).
async fn request_reconcile(
    api: &Api<DynamicObject>,
    name: &str,
    token: &str,
    own: &mut RequestCounts,
) -> anyhow::Result<()> {
    let patch = json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": token}}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .with_context(|| format!("cannot request a reconcile of {name}"))?;
    own.add("PATCH", 1);
    Ok(())
}

/// Requests a reconcile of every Kustomization, a few requests at a time (as many clients
/// annotating at once would), so the requests take little of the phase's time.
async fn request_reconcile_all(
    api: &Api<DynamicObject>,
    count: usize,
    token: &str,
    own: &mut RequestCounts,
) -> anyhow::Result<()> {
    let patch = json!({"metadata": {"annotations": {"reconcile.fluxcd.io/requestedAt": token}}});
    let patch = &patch;
    let mut requests = futures::stream::iter(0..count)
        .map(|index| async move {
            let name = format!("app-{index}");
            api.patch(&name, &PatchParams::default(), &Patch::Merge(patch))
                .await
                .with_context(|| format!("cannot request a reconcile of {name}"))
        })
        .buffer_unordered(16);
    while let Some(result) = requests.next().await {
        result?;
        own.add("PATCH", 1);
    }
    Ok(())
}

/// With the controllers gone nothing would remove the finalizers, and the namespace would never
/// go away; so they are dropped here first.
async fn release_and_delete(
    client: &kube::Client,
    ns: &str,
    namespace: TestNamespace,
) -> anyhow::Result<()> {
    let patch = json!({"metadata": {"finalizers": null}});
    for api in [kustomizations(client, ns), git_repositories(client, ns)] {
        for object in api.list(&Default::default()).await?.items {
            let name = object.metadata.name.clone().unwrap_or_default();
            api.patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
                .await?;
        }
    }
    namespace.cleanup().await
}

fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|text| {
            text.split_whitespace()
                .take(3)
                .collect::<Vec<_>>()
                .join(" ")
        })
        .unwrap_or_default()
}

fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}
