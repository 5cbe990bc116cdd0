//! A controller for a kind Eddy does not reconcile yet: every object of it is marked
//! `NotSupported` (see [`super::status`]), so `flux get` and kstatus show why nothing happens
//! instead of an object without status.

use std::{fmt::Debug, sync::Arc};

use kube::{Api, Resource, ResourceExt, runtime::controller::Action};
use serde::{Serialize, de::DeserializeOwned};
use tokio_util::sync::CancellationToken;

use super::status::{mark_not_supported, reconciled_elsewhere};
use crate::{cli::CommonArgs, controller, process::ControllerProcess};

/// Why a controller that only marks its kinds could not start.
#[derive(Debug, thiserror::Error)]
pub enum MarkerStartError {
    #[error(transparent)]
    Flags(#[from] super::flags::UnsupportedFlags),
    #[error(transparent)]
    Start(#[from] crate::process::StartError),
}

/// What the marker needs per object.
struct Marker {
    client: kube::Client,
    field_manager: &'static str,
    message: String,
}

/// Runs until `stop`: marks every watched object of kind `K` `NotSupported` with `message`
/// (once per generation; a reconcile request is answered the same way).
pub async fn run_not_supported<K>(
    process: &ControllerProcess,
    common: &CommonArgs,
    concurrency: usize,
    message: String,
    stop: CancellationToken,
) where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Serialize
        + Debug
        + Send
        + Sync
        + 'static,
{
    let marker = Arc::new(Marker {
        client: process.client.clone(),
        field_manager: process.name,
        message,
    });
    controller::run(process, common, concurrency, marker, mark::<K>, None, stop).await;
}

async fn mark<K>(object: Arc<K>, marker: Arc<Marker>) -> Result<Action, kube::Error>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + Serialize
        + Debug,
{
    if object.meta().deletion_timestamp.is_some() || reconciled_elsewhere(&*object) {
        return Ok(Action::await_change());
    }
    let api: Api<K> = Api::namespaced(
        marker.client.clone(),
        &object.namespace().unwrap_or_default(),
    );
    mark_not_supported(&api, &object, marker.field_manager, &marker.message).await?;
    Ok(Action::await_change())
}
