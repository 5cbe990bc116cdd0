//! Running kustomize-controller in-process for one test, confined to that test's objects.

use clap::Parser;
use eddy_runtime::{admin::Readiness, metrics::Metrics, process::ControllerProcess};
use tokio_util::sync::CancellationToken;

/// The label a test puts on its Kustomizations so only its own controller reconciles them.
pub const SHARD_LABEL: &str = "e2e.eddy.dev/run";

/// A controller running until dropped.
pub struct RunningController {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RunningController {
    fn drop(&mut self) {
        self.stop.cancel();
        self.task.abort();
    }
}

/// Starts kustomize-controller watching Kustomizations labelled `SHARD_LABEL=<shard>`, with
/// `extra_args` appended to the command line.
pub fn start_kustomize_controller(
    client: &kube::Client,
    shard: &str,
    extra_args: &[&str],
) -> anyhow::Result<RunningController> {
    let mut argv = vec![
        "kustomize-controller".to_owned(),
        format!("--watch-label-selector={SHARD_LABEL}={shard}"),
        "--requeue-dependency=2s".to_owned(),
        "--min-retry-delay=200ms".to_owned(),
        "--max-retry-delay=5s".to_owned(),
        "--http-retry=2".to_owned(),
    ];
    argv.extend(extra_args.iter().map(|a| (*a).to_owned()));
    let args = kustomize_controller::Args::try_parse_from(argv)?;
    // Controller logs go to the test's stderr (shown when a test fails).
    eddy_runtime::logging::init(
        args.common.log_level,
        eddy_runtime::cli::LogEncoding::Console,
    );
    let process = ControllerProcess {
        name: kustomize_controller::CONTROLLER_NAME,
        client: client.clone(),
        metrics: Metrics::new(),
        readiness: Readiness::default(),
    };
    let stop = CancellationToken::new();
    let token = stop.clone();
    let task = tokio::spawn(async move {
        if let Err(error) = kustomize_controller::run_with(&process, &args, None, token).await {
            eprintln!("kustomize-controller stopped: {error}");
        }
    });
    Ok(RunningController { stop, task })
}
