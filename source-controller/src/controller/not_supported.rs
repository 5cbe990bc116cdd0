//! The source kinds source-controller does not fetch yet (Bucket): each object is marked
//! `NotSupported` so it does not sit without status as if no controller watched it. A kind
//! leaves this list when its reconciler lands.

use eddy_api::source::Bucket;
use eddy_runtime::{
    cli::CommonArgs, process::ControllerProcess, unsupported::kind::run_not_supported,
};
use tokio_util::sync::CancellationToken;

/// The condition message of an object of a kind nothing fetches yet.
pub fn message(kind: &str) -> String {
    format!("source-controller does not reconcile {kind} objects yet")
}

/// Marks the objects of every kind above until `stop`.
pub async fn run(
    process: &ControllerProcess,
    common: &CommonArgs,
    concurrency: usize,
    stop: CancellationToken,
) {
    tokio::join!(run_not_supported::<Bucket>(
        process,
        common,
        concurrency,
        message("Bucket"),
        stop
    ),);
}
