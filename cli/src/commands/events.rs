//! `eddy events [--for Kind/name] [-A]`: the Kubernetes Events the controllers recorded, oldest
//! first.

use anyhow::Context;
use k8s_openapi::api::core::v1::Event;
use kube::{Api, api::ListParams};

use crate::{cluster::ConnectionArgs, output::print_table};

#[derive(clap::Args)]
pub struct EventsArgs {
    /// Only events about this object, as `Kind/name` (e.g. `Kustomization/apps`).
    #[arg(long = "for")]
    for_object: Option<String>,
    /// Events of every namespace.
    #[arg(short = 'A', long)]
    all_namespaces: bool,
}

pub async fn run(args: EventsArgs, connection: &ConnectionArgs) -> anyhow::Result<()> {
    let client = connection.client().await?;
    let api: Api<Event> = if args.all_namespaces {
        Api::all(client)
    } else {
        Api::namespaced(client, &connection.namespace)
    };
    let mut params = ListParams::default();
    if let Some(target) = &args.for_object {
        let (kind, name) = target
            .split_once('/')
            .with_context(|| format!("--for takes Kind/name, not {target:?}"))?;
        params = params.fields(&format!(
            "involvedObject.kind={kind},involvedObject.name={name}"
        ));
    }
    let mut events = api.list(&params).await.context("cannot list events")?.items;
    events.sort_by_key(last_seen);
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|event| {
            let object = format!(
                "{}/{}",
                event.involved_object.kind.clone().unwrap_or_default(),
                event.involved_object.name.clone().unwrap_or_default()
            );
            let mut row = vec![
                last_seen(event),
                event.type_.clone().unwrap_or_default(),
                event.reason.clone().unwrap_or_default(),
                object,
                event.message.clone().unwrap_or_default().replace('\n', " "),
            ];
            if args.all_namespaces {
                row.insert(0, event.metadata.namespace.clone().unwrap_or_default());
            }
            row
        })
        .collect();
    if rows.is_empty() {
        eprintln!("no events found");
        return Ok(());
    }
    let mut headers = vec!["LAST SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE"];
    if args.all_namespaces {
        headers.insert(0, "NAMESPACE");
    }
    print_table(&headers, &rows);
    Ok(())
}

/// The most recent time the event happened, as RFC 3339 (sorts chronologically as text).
fn last_seen(event: &Event) -> String {
    event
        .last_timestamp
        .as_ref()
        .map(|time| time.0.to_string())
        .or_else(|| event.event_time.as_ref().map(|time| time.0.to_string()))
        .or_else(|| {
            event
                .metadata
                .creation_timestamp
                .as_ref()
                .map(|time| time.0.to_string())
        })
        .unwrap_or_default()
}
