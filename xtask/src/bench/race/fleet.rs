//! A fleet: one source-controller and one kustomize-controller, Flux's or Eddy's, started with
//! the same flags and measured from `/proc`.

use std::{
    fmt,
    path::{Path, PathBuf},
};

use serde::Serialize;

use crate::bench::process::{MeasuredProcess, RUN_LABEL};

/// Whose controllers a fleet runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Implementation {
    Flux,
    Eddy,
}

impl fmt::Display for Implementation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Flux => "Flux",
            Self::Eddy => "Eddy",
        })
    }
}

/// The binaries of one fleet and what to call their versions.
#[derive(Debug, Clone, Serialize)]
pub struct FleetBinaries {
    pub implementation: Implementation,
    pub source_controller: PathBuf,
    pub kustomize_controller: PathBuf,
    pub versions: String,
}

/// The flags both fleets get, where both controllers have them under Flux's names.
#[derive(Debug, Clone, Serialize)]
pub struct FleetSettings {
    pub concurrent: usize,
    pub requeue_dependency: String,
}

/// What one controller cost in one phase.
#[derive(Debug, Clone, Serialize)]
pub struct ControllerFigures {
    pub controller: String,
    pub cpu_seconds: f64,
    pub peak_rss_mib: f64,
    pub rss_mib: f64,
}

/// A running fleet.
pub struct Fleet {
    controllers: Vec<MeasuredProcess>,
    cpu_at_phase_start: Vec<f64>,
}

impl Fleet {
    /// Starts both controllers on the objects labelled with run `run_id`; artifacts are stored
    /// under `work` and served on a free loopback port, logs go to `work` too.
    pub fn start(
        binaries: &FleetBinaries,
        settings: &FleetSettings,
        kubeconfig: &Path,
        run_id: &str,
        work: &Path,
    ) -> anyhow::Result<Self> {
        let storage = work.join("storage");
        std::fs::create_dir_all(&storage)?;
        let storage_addr = format!("127.0.0.1:{}", free_port()?);
        let mut source_args = common_args(settings, run_id);
        source_args.extend([
            "--storage-path".to_owned(),
            storage.display().to_string(),
            "--storage-addr".to_owned(),
            storage_addr.clone(),
            "--storage-adv-addr".to_owned(),
            storage_addr,
        ]);
        let source = MeasuredProcess::spawn_with_kubeconfig(
            &binaries.source_controller,
            &source_args,
            &work.join("source-controller.log"),
            kubeconfig,
        )?;
        let kustomize = MeasuredProcess::spawn_with_kubeconfig(
            &binaries.kustomize_controller,
            &common_args(settings, run_id),
            &work.join("kustomize-controller.log"),
            kubeconfig,
        );
        let kustomize = match kustomize {
            Ok(process) => process,
            Err(error) => {
                source.stop();
                return Err(error);
            }
        };
        Ok(Self {
            controllers: vec![source, kustomize],
            cpu_at_phase_start: vec![0.0, 0.0],
        })
    }

    /// Fails when a controller has exited.
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        for controller in &mut self.controllers {
            controller.check_alive()?;
        }
        Ok(())
    }

    /// Starts a phase: CPU is counted and the peak RSS measured from here.
    pub fn begin_phase(&mut self) -> anyhow::Result<()> {
        for (controller, start) in self.controllers.iter().zip(&mut self.cpu_at_phase_start) {
            *start = controller.cpu_seconds()?;
            controller.reset_peak_rss()?;
        }
        Ok(())
    }

    /// What each controller cost since the phase began.
    pub fn phase_figures(&self) -> anyhow::Result<Vec<ControllerFigures>> {
        self.controllers
            .iter()
            .zip(&self.cpu_at_phase_start)
            .map(|(controller, start)| {
                Ok(ControllerFigures {
                    controller: controller.name().to_owned(),
                    cpu_seconds: controller.cpu_seconds()? - start,
                    peak_rss_mib: controller.peak_rss_mib()?,
                    rss_mib: controller.rss_mib()?,
                })
            })
            .collect()
    }

    pub fn stop(self) {
        for controller in self.controllers {
            controller.stop();
        }
    }
}

fn common_args(settings: &FleetSettings, run_id: &str) -> Vec<String> {
    [
        "--metrics-addr",
        "127.0.0.1:0",
        "--health-addr",
        "127.0.0.1:0",
        "--watch-all-namespaces=true",
        "--log-level",
        "info",
    ]
    .into_iter()
    .map(str::to_owned)
    .chain([
        "--watch-label-selector".to_owned(),
        format!("{RUN_LABEL}={run_id}"),
        "--concurrent".to_owned(),
        settings.concurrent.to_string(),
        "--requeue-dependency".to_owned(),
        settings.requeue_dependency.clone(),
    ])
    .collect()
}

/// A loopback port free right now (the artifact server binds it a moment later).
fn free_port() -> anyhow::Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}
