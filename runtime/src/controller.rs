//! Running a reconciler for one kind, the same way in every controller.
//!
//! What each controller gets from here: the watch (with Flux's trigger rules and sharding label
//! selector), bounded concurrency (`--concurrent`), a tracing span per reconcile carrying
//! controller-runtime's log keys, the reconcile metrics, exponential per-object backoff for errors
//! (`--min-retry-delay` … `--max-retry-delay`), leader election, graceful shutdown, and quick
//! recovery from an API server outage (watches reconnect within about a second, and every object
//! is reconciled once the server is back, see [`crate::outage`]). A reconciler only writes
//! `reconcile(obj, ctx) -> Result<Action, Error>`.

use std::{fmt::Debug, future::Future, sync::Arc};

use futures::StreamExt;
use kube::{
    Resource, ResourceExt,
    api::Api,
    runtime::{
        Controller, WatchStreamExt,
        controller::{Action, Config},
        reflector,
    },
};
use serde::de::DeserializeOwned;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::{
    cli::CommonArgs,
    leader::{self, LeaderElectionConfig},
    metrics::{Metrics, ObjectLabels},
    outage::{self, OutageRecovery},
    process::{ControllerProcess, shutdown_signal},
    requeue::Backoff,
    watch,
};

/// What the wrapped reconciler sees besides the object: the caller's own context.
struct Wrapped<C> {
    inner: Arc<C>,
    backoff: Backoff,
    metrics: Metrics,
}

/// Hooks to add watches of other kinds (for example a source whose new artifact must trigger its
/// consumers) before the controller starts.
pub type Customize<K> = Box<dyn FnOnce(Controller<K>) -> Controller<K> + Send>;

/// Runs `reconcile` for every object of kind `K` until `stop` is cancelled (see [`lead`]).
pub async fn run<K, C, F, Fut, E>(
    process: &ControllerProcess,
    common: &CommonArgs,
    concurrency: usize,
    context: Arc<C>,
    reconcile: F,
    customize: Option<Customize<K>>,
    stop: CancellationToken,
) where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Debug
        + Send
        + Sync
        + 'static,
    C: Send + Sync + 'static,
    F: Fn(Arc<K>, Arc<C>) -> Fut + Send + Sync + Clone + 'static,
    Fut: Future<Output = Result<Action, E>> + Send + 'static,
    E: std::error::Error + Send + Sync + 'static,
{
    let api: Api<K> = watch::watched_api(&process.client, common);
    let (reader, writer) = reflector::store();
    let (recovery, signals) = OutageRecovery::new(process.client.clone(), K::kind(&()));
    let events = outage::restarting_watch(api, watch::watcher_config(common), signals.restart)
        .inspect(move |event| {
            if let Err(error) = event {
                tracing::debug!(controllerKind = %K::kind(&()), %error, "watch failed; retrying");
                recovery.watch_failed();
            }
        })
        .backoff(watch::reconnect_backoff())
        .reflect(writer);
    let trigger = outage::triggers(events, reader.clone(), signals.resync);
    let mut controller = Controller::for_stream(trigger, reader)
        .with_config(
            Config::default().concurrency(u16::try_from(concurrency.max(1)).unwrap_or(u16::MAX)),
        )
        // Also the watches a `customize` hook adds.
        .trigger_backoff(watch::reconnect_backoff());
    if let Some(customize) = customize {
        controller = customize(controller);
    }
    let wrapped = Arc::new(Wrapped {
        inner: context,
        backoff: Backoff::new(common.min_retry_delay, common.max_retry_delay),
        metrics: process.metrics.clone(),
    });
    let kind = K::kind(&()).into_owned();
    let reconcile_one = move |object: Arc<K>, ctx: Arc<Wrapped<C>>| {
        let reconcile = reconcile.clone();
        let kind = K::kind(&()).into_owned();
        let name = object.name_any();
        let namespace = object.namespace().unwrap_or_default();
        let span = tracing::info_span!(
            "reconcile",
            controllerKind = %kind,
            name = %name,
            namespace = %namespace,
            reconcileID = %reconcile_id(),
        );
        async move {
            let timer = ctx.metrics.start_reconcile(ObjectLabels {
                kind: kind.clone(),
                name: name.clone(),
                namespace: namespace.clone(),
            });
            let result = reconcile(object, ctx.inner.clone()).await;
            timer.finish(result.is_ok());
            if result.is_ok() {
                ctx.backoff.reset(&backoff_key(&namespace, &name));
            }
            result
        }
        .instrument(span)
    };
    let error_policy = |object: Arc<K>, error: &E, ctx: Arc<Wrapped<C>>| {
        let delay = ctx.backoff.next_delay(&backoff_key(
            &object.namespace().unwrap_or_default(),
            &object.name_any(),
        ));
        tracing::error!(
            controllerKind = %K::kind(&()),
            name = %object.name_any(),
            namespace = %object.namespace().unwrap_or_default(),
            error = %error_chain(error),
            retry_in = ?delay,
            "reconcile failed"
        );
        Action::requeue(delay)
    };

    process
        .metrics
        .max_concurrent_reconciles
        .get_or_create(&crate::metrics::ControllerLabels {
            controller: kind.to_lowercase(),
        })
        .set(i64::try_from(concurrency).unwrap_or(i64::MAX));
    tracing::info!(controllerKind = %kind, concurrency, "starting controller");
    controller
        .graceful_shutdown_on(stop.cancelled_owned())
        .run(reconcile_one, error_policy, wrapped)
        .for_each(|_| async {})
        .await;
}

/// Waits for leadership when `--enable-leader-election` is set, then returns a token that is
/// cancelled when the process is asked to stop or loses leadership. Everything that must only run
/// on the leader (reconcilers, source-controller's artifact server) starts after this returns.
pub async fn lead(process: &ControllerProcess, common: &CommonArgs) -> CancellationToken {
    let leadership = if common.enable_leader_election {
        let config = LeaderElectionConfig::from_args(process.name, common);
        Some(leader::acquire(process.client.clone(), config).await)
    } else {
        None
    };
    let stop = CancellationToken::new();
    let trigger = stop.clone();
    tokio::spawn(async move {
        match leadership {
            Some(mut leadership) => {
                tokio::select! {
                    _ = shutdown_signal() => {
                        trigger.cancel();
                        leadership.release().await;
                    }
                    _ = leadership.lost() => {
                        tracing::error!("lost leadership; stopping");
                        trigger.cancel();
                    }
                }
            }
            None => {
                shutdown_signal().await;
                trigger.cancel();
            }
        }
    });
    stop
}

fn backoff_key(namespace: &str, name: &str) -> String {
    format!("{namespace}/{name}")
}

/// A short unique id per reconcile, as controller-runtime logs it.
fn reconcile_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{:016x}", nanos as u64)
}

/// `error: cause: cause`, the way Flux prints wrapped errors.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}
