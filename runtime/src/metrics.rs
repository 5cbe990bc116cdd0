//! Prometheus metrics under the names Flux dashboards already query.
//!
//! `gotk_reconcile_duration_seconds` is the one per-object metric Flux 2.9 still emits; the
//! controller-runtime style counters let the upstream Grafana dashboards work unchanged.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use prometheus_client::{
    encoding::{EncodeLabelSet, text::encode},
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

/// Labels identifying one reconciled object.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ObjectLabels {
    pub kind: String,
    pub name: String,
    pub namespace: String,
}

/// Labels identifying one controller (one kind) inside a binary.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ControllerLabels {
    pub controller: String,
}

/// Labels for a reconcile outcome, as controller-runtime reports them.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabels {
    pub controller: String,
    pub result: String,
}

/// Labels of the work-queue metrics, keyed by controller name as controller-runtime does.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct QueueLabels {
    pub name: String,
}

/// Every metric a controller binary exports.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    pub reconcile_duration: Family<ObjectLabels, Histogram>,
    pub reconcile_total: Family<ResultLabels, Counter>,
    pub reconcile_errors_total: Family<ControllerLabels, Counter>,
    pub active_workers: Family<ControllerLabels, Gauge>,
    pub max_concurrent_reconciles: Family<ControllerLabels, Gauge>,
    pub queue_adds: Family<QueueLabels, Counter>,
    pub queue_retries: Family<QueueLabels, Counter>,
    pub queue_work_duration: Family<QueueLabels, Histogram>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::default();
        // Flux's buckets: 10 exponential buckets from 10ms to 1800s (factor ≈ 3.8).
        let reconcile_duration = Family::<ObjectLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(duration_buckets())
        });
        registry.register(
            "gotk_reconcile_duration_seconds",
            "How long a reconcile of one object took",
            reconcile_duration.clone(),
        );
        let reconcile_total = Family::<ResultLabels, Counter>::default();
        registry.register(
            "controller_runtime_reconcile",
            "Reconciles per controller and result",
            reconcile_total.clone(),
        );
        let reconcile_errors_total = Family::<ControllerLabels, Counter>::default();
        registry.register(
            "controller_runtime_reconcile_errors",
            "Reconciles that ended in an error",
            reconcile_errors_total.clone(),
        );
        let active_workers = Family::<ControllerLabels, Gauge>::default();
        registry.register(
            "controller_runtime_active_workers",
            "Reconciles running right now",
            active_workers.clone(),
        );
        let max_concurrent_reconciles = Family::<ControllerLabels, Gauge>::default();
        registry.register(
            "controller_runtime_max_concurrent_reconciles",
            "How many reconciles of one controller may run at once (--concurrent)",
            max_concurrent_reconciles.clone(),
        );
        // kube-runtime keeps its queue internal, so the work-queue family is measured at the
        // reconcile boundary: every reconcile that starts was an add, every error a retry.
        let queue_adds = Family::<QueueLabels, Counter>::default();
        registry.register(
            "workqueue_adds",
            "Reconcile requests taken off the queue",
            queue_adds.clone(),
        );
        let queue_retries = Family::<QueueLabels, Counter>::default();
        registry.register(
            "workqueue_retries",
            "Reconciles requeued with backoff after an error",
            queue_retries.clone(),
        );
        let queue_work_duration = Family::<QueueLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(duration_buckets())
        });
        registry.register(
            "workqueue_work_duration_seconds",
            "How long processing one queue item took",
            queue_work_duration.clone(),
        );
        Self {
            registry: Arc::new(registry),
            max_concurrent_reconciles,
            queue_adds,
            queue_retries,
            queue_work_duration,
            reconcile_duration,
            reconcile_total,
            reconcile_errors_total,
            active_workers,
        }
    }

    /// Records one finished reconcile.
    pub fn observe_reconcile(&self, object: ObjectLabels, elapsed: Duration, succeeded: bool) {
        let controller = object.kind.to_lowercase();
        self.reconcile_duration
            .get_or_create(&object)
            .observe(elapsed.as_secs_f64());
        let queue = QueueLabels {
            name: controller.clone(),
        };
        self.queue_adds.get_or_create(&queue).inc();
        self.queue_work_duration
            .get_or_create(&queue)
            .observe(elapsed.as_secs_f64());
        let result = if succeeded { "success" } else { "error" };
        self.reconcile_total
            .get_or_create(&ResultLabels {
                controller: controller.clone(),
                result: result.into(),
            })
            .inc();
        if !succeeded {
            self.queue_retries.get_or_create(&queue).inc();
            self.reconcile_errors_total
                .get_or_create(&ControllerLabels { controller })
                .inc();
        }
    }

    /// Starts timing a reconcile; the result is recorded when [`ReconcileTimer::finish`] is called.
    pub fn start_reconcile(&self, object: ObjectLabels) -> ReconcileTimer {
        let workers = self
            .active_workers
            .get_or_create(&ControllerLabels {
                controller: object.kind.to_lowercase(),
            })
            .clone();
        workers.inc();
        ReconcileTimer {
            metrics: self.clone(),
            object,
            started: Instant::now(),
            workers,
        }
    }

    /// The text exposition format served on `/metrics`.
    pub fn render(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

fn duration_buckets() -> impl Iterator<Item = f64> {
    let factor = (1800.0f64 / 0.01).powf(1.0 / 9.0);
    (0..10).map(move |i| 0.01 * factor.powi(i))
}

/// Measures one reconcile; dropping it without `finish` counts nothing but frees the worker gauge.
pub struct ReconcileTimer {
    metrics: Metrics,
    object: ObjectLabels,
    started: Instant,
    workers: Gauge,
}

impl ReconcileTimer {
    pub fn finish(self, succeeded: bool) {
        self.metrics
            .observe_reconcile(self.object.clone(), self.started.elapsed(), succeeded);
    }
}

impl Drop for ReconcileTimer {
    fn drop(&mut self) {
        self.workers.dec();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconcile_duration_is_exported_under_the_flux_name() {
        let metrics = Metrics::new();
        let object = ObjectLabels {
            kind: "GitRepository".into(),
            name: "podinfo".into(),
            namespace: "flux-system".into(),
        };
        metrics.start_reconcile(object).finish(false);
        let text = metrics.render().unwrap();
        assert!(text.contains("gotk_reconcile_duration_seconds_count{kind=\"GitRepository\",name=\"podinfo\",namespace=\"flux-system\"} 1"), "{text}");
        assert!(
            text.contains(
                "controller_runtime_reconcile_errors_total{controller=\"gitrepository\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("controller_runtime_active_workers{controller=\"gitrepository\"} 0"),
            "{text}"
        );
        for line in [
            "workqueue_adds_total{name=\"gitrepository\"} 1",
            "workqueue_retries_total{name=\"gitrepository\"} 1",
            "workqueue_work_duration_seconds_count{name=\"gitrepository\"} 1",
        ] {
            assert!(text.contains(line), "{line} missing from {text}");
        }
    }

    #[test]
    fn buckets_span_ten_milliseconds_to_half_an_hour() {
        let buckets: Vec<f64> = duration_buckets().collect();
        assert_eq!(buckets.len(), 10);
        assert!((buckets[0] - 0.01).abs() < 1e-9);
        assert!((buckets[9] - 1800.0).abs() < 1e-6);
    }
}
