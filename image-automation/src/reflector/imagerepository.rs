//! The ImageRepository reconciler: validate → resolve credentials → scan (unless the stored scan
//! is fresh) → store the tags → report `canonicalImageName`, `lastScanResult` and
//! `observedExclusionList`.

use std::{sync::Arc, time::Duration};

use eddy_api::image::{
    ImageRepository, ImageRepositoryStatus, imagerepository::ScanResult, reasons,
};
use eddy_runtime::{
    conclude::{Ending, Outlet, conclude},
    conditions,
    events::{Event, EventRecorder},
    outcome::{self, Failure, Timing},
    requeue::Backoff,
    time, watch,
};
use kube::{Api, Client, ResourceExt, runtime::controller::Action};

use super::connection::connect;
use super::image::{ImageName, compile_exclusions, exclude_tags, summarise};
use super::registry::{ScanError, list_tags};
use super::storage::{StoredTags, TagStore};

/// Field manager of the status this controller writes.
pub const FIELD_MANAGER: &str = "image-reflector-controller";
/// Reason of a spec field Eddy does not implement yet (Stalled: no retry can help).
pub const NOT_SUPPORTED: &str = "NotSupported";
/// Flux's default scan timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

pub struct Context {
    pub client: Client,
    pub recorder: EventRecorder,
    pub failure_backoff: Backoff,
    pub http: reqwest::Client,
    pub store: Arc<TagStore>,
}

#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("cannot write status: {0}")]
    Status(#[source] kube::Error),
}

/// Spec fields this controller does not implement yet: a Stalled condition names the field.
pub fn unsupported_field(repository: &ImageRepository) -> Option<&'static str> {
    let spec = &repository.spec;
    let provider_set = spec.provider.is_some_and(|provider| {
        provider != eddy_api::image::imagerepository::RegistryProvider::Generic
    });
    [
        (provider_set, "spec.provider"),
        (spec.proxy_secret_ref.is_some(), "spec.proxySecretRef"),
    ]
    .into_iter()
    .find_map(|(set, field)| set.then_some(field))
}

/// One reconcile of an ImageRepository.
pub async fn reconcile(
    repository: Arc<ImageRepository>,
    ctx: Arc<Context>,
) -> Result<Action, ReconcileError> {
    if repository.spec.suspend == Some(true) {
        tracing::info!("reconciliation is suspended for this object");
        return Ok(Action::await_change());
    }
    let namespace = repository.namespace().unwrap_or_default();
    let generation = repository.metadata.generation;
    let interval = time::interval(&repository.spec.interval);
    let previous = repository.status.clone().unwrap_or_default();
    let mut status = ImageRepositoryStatus {
        last_handled_reconcile_at: watch::requested_at(repository.as_ref())
            .or(previous.last_handled_reconcile_at.clone()),
        ..previous.clone()
    };
    let mut conditions = status.conditions.take().unwrap_or_default();

    let ending = match scan(&repository, &ctx, &previous, interval).await {
        Ok(scanned) => {
            let message = format!("successful scan: found {} tags", scanned.result.tag_count);
            let changed = previous
                .last_scan_result
                .as_ref()
                .and_then(|r| r.revision.as_ref())
                != scanned.result.revision.as_ref()
                || !conditions::is_true(&conditions, conditions::READY);
            outcome::report_success(
                &mut conditions,
                &[],
                conditions::SUCCEEDED,
                &message,
                generation,
            );
            status.canonical_image_name = Some(scanned.canonical);
            status.observed_exclusion_list = Some(scanned.exclusions);
            status.last_scan_result = Some(scanned.result);
            status.observed_generation = generation;
            Ending::succeeded(changed.then(|| Event::info(conditions::SUCCEEDED, message)))
        }
        Err(failure) => Ending::failed(
            &mut conditions,
            &failure,
            generation,
            &mut status.observed_generation,
        ),
    };
    status.conditions = Some(conditions);
    let api: Api<ImageRepository> = Api::namespaced(ctx.client.clone(), &namespace);
    let outlet = Outlet {
        field_manager: FIELD_MANAGER,
        recorder: &ctx.recorder,
        backoff: &ctx.failure_backoff,
    };
    let previous = repository.status.as_ref();
    conclude(
        repository.as_ref(),
        &api,
        &outlet,
        (previous, &status),
        ending,
        &Timing::fixed(interval),
    )
    .await
    .map_err(ReconcileError::Status)
}

struct Scanned {
    canonical: String,
    exclusions: Vec<String>,
    result: ScanResult,
}

async fn scan(
    repository: &ImageRepository,
    ctx: &Context,
    previous: &ImageRepositoryStatus,
    interval: Duration,
) -> Result<Scanned, Failure> {
    if let Some(field) = unsupported_field(repository) {
        return Err(Failure::stalled(
            NOT_SUPPORTED,
            format!("{field} is not supported yet"),
        ));
    }
    let image = ImageName::parse(&repository.spec.image)
        .map_err(|error| Failure::stalled(reasons::IMAGE_URL_INVALID, error.to_string()))?;
    let exclusions = repository.spec.effective_exclusion_list();
    let patterns = compile_exclusions(&exclusions)
        .map_err(|error| Failure::stalled(reasons::IMAGE_URL_INVALID, error.to_string()))?;
    let canonical = image.canonical();
    let namespace = repository.namespace().unwrap_or_default();
    let name = repository.name_any();
    if let Some(result) =
        fresh_stored_scan(repository, ctx, previous, &canonical, &exclusions, interval).await
    {
        return Ok(Scanned {
            canonical,
            exclusions,
            result,
        });
    }
    let connection = connect(repository, &ctx.client, &ctx.http, &image).await?;
    let tags = list_tags(&connection.http, &image, &connection.options)
        .await
        .map_err(|error| match error {
            ScanError::Authentication { .. } => {
                Failure::backoff(reasons::AUTHENTICATION_FAILED, error.to_string())
            }
            ScanError::Read { .. } => {
                Failure::backoff(reasons::READ_OPERATION_FAILED, error.to_string())
            }
        })?;
    let tags = exclude_tags(tags, &patterns);
    let summary = summarise(&tags);
    let store = ctx.store.clone();
    let stored = StoredTags {
        revision: summary.revision.clone(),
        tags,
    };
    tokio::task::spawn_blocking(move || store.save(&namespace, &name, &stored))
        .await
        .map_err(|error| {
            Failure::backoff(
                eddy_api::meta::condition_type::STORAGE_OPERATION_FAILED,
                error.to_string(),
            )
        })?
        .map_err(|error| {
            Failure::backoff(
                eddy_api::meta::condition_type::STORAGE_OPERATION_FAILED,
                error.to_string(),
            )
        })?;
    Ok(Scanned {
        canonical,
        exclusions,
        result: ScanResult {
            revision: Some(summary.revision),
            tag_count: i64::try_from(summary.tag_count).unwrap_or(i64::MAX),
            scan_time: Some(time::now()),
            latest_tags: Some(summary.latest_tags),
        },
    })
}

/// The previous scan, when nothing asks for a new one: same generation, image and exclusions,
/// no pending reconcile request, the interval not yet passed, and its tags still on disk.
async fn fresh_stored_scan(
    repository: &ImageRepository,
    ctx: &Context,
    previous: &ImageRepositoryStatus,
    canonical: &str,
    exclusions: &[String],
    interval: Duration,
) -> Option<ScanResult> {
    let result = previous.last_scan_result.clone()?;
    let unchanged = previous.observed_generation == repository.metadata.generation
        && previous.canonical_image_name.as_deref() == Some(canonical)
        && previous.observed_exclusion_list.as_deref() == Some(exclusions)
        && watch::requested_at(repository) == previous.last_handled_reconcile_at;
    let scanned_at = result.scan_time.as_ref()?.0;
    let age = time::now_timestamp()
        .duration_since(scanned_at)
        .unsigned_abs();
    if !unchanged || age >= interval {
        return None;
    }
    let store = ctx.store.clone();
    let (namespace, name) = (
        repository.namespace().unwrap_or_default(),
        repository.name_any(),
    );
    let stored = tokio::task::spawn_blocking(move || store.load(&namespace, &name))
        .await
        .ok()??;
    (Some(&stored.revision) == result.revision.as_ref()).then_some(result)
}
