//! `eddy get <kind> [-A] [--watch]`: the `flux get` table (NAME, REVISION, SUSPENDED, READY,
//! MESSAGE) for one kind or for `all`.

use anyhow::Context;
use futures::{StreamExt, TryStreamExt};
use kube::{
    api::{DynamicObject, ListParams},
    runtime::{WatchStreamExt, watcher},
};
use serde_json::Value;

use crate::{
    cluster::{
        ConnectionArgs, FluxKind, KINDS, is_suspended, parse_kind, ready_condition, string_at,
    },
    output::{Format, print_table, truncate_hex},
};

#[derive(clap::Args)]
pub struct GetArgs {
    /// The kind (`sources git`, `kustomizations`, `helmreleases`, `images policy`, … or `all`).
    #[arg(required = true, num_args = 1..=2)]
    kind: Vec<String>,
    /// List objects in every namespace.
    #[arg(short = 'A', long)]
    all_namespaces: bool,
    /// Keep printing rows as objects change.
    #[arg(short, long)]
    watch: bool,
    /// Only rows whose Ready status matches, e.g. `ready=false`.
    #[arg(long)]
    status_selector: Option<String>,
    #[arg(short, long, value_enum, default_value_t = Format::Table)]
    output: Format,
}

pub async fn run(args: GetArgs, connection: &ConnectionArgs) -> anyhow::Result<()> {
    let client = connection.client().await?;
    let namespace = (!args.all_namespaces).then_some(connection.namespace.as_str());
    let wanted_ready = parse_status_selector(args.status_selector.as_deref())?;
    if args.kind.first().is_some_and(|word| word == "all") {
        for kind in KINDS {
            let objects = match kind
                .api(&client, namespace)
                .list(&ListParams::default())
                .await
            {
                Ok(list) => list.items,
                // A kind whose CRD is not installed (image automation left out) has nothing to show.
                Err(kube::Error::Api(status)) if status.code == 404 => continue,
                Err(error) => return Err(error).context(format!("cannot list {}", kind.plural)),
            };
            let rows = rows(
                kind,
                &objects,
                args.all_namespaces,
                true,
                wanted_ready.as_deref(),
            );
            if !rows.is_empty() {
                print_table(&headers(args.all_namespaces), &rows);
                println!();
            }
        }
        return Ok(());
    }
    let (kind, rest) = parse_kind(&args.kind)?;
    if let Some(extra) = rest.first() {
        anyhow::bail!(
            "`eddy get` takes no object name ({extra:?}); use `eddy export` to see one object"
        );
    }
    let api = kind.api(&client, namespace);
    if args.watch {
        return watch(kind, api, args.all_namespaces).await;
    }
    let objects = api
        .list(&ListParams::default())
        .await
        .with_context(|| {
            format!(
                "cannot list {} (are the CRDs installed? `eddy check`)",
                kind.plural
            )
        })?
        .items;
    match args.output {
        Format::Table => {
            let rows = rows(
                kind,
                &objects,
                args.all_namespaces,
                false,
                wanted_ready.as_deref(),
            );
            if rows.is_empty() {
                let scope = namespace.map_or("any namespace".to_string(), |ns| {
                    format!("namespace {ns:?}")
                });
                eprintln!("no {} objects found in {scope}", kind.kind);
            } else {
                print_table(&headers(args.all_namespaces), &rows);
            }
        }
        Format::Yaml => print!("{}", serde_yaml_ng::to_string(&objects)?),
        Format::Json => println!("{}", serde_json::to_string_pretty(&objects)?),
    }
    Ok(())
}

async fn watch(
    kind: &FluxKind,
    api: kube::Api<DynamicObject>,
    all_namespaces: bool,
) -> anyhow::Result<()> {
    // Rows arrive one at a time, so columns cannot be aligned; tabs keep them machine-splittable.
    println!("{}", headers(all_namespaces).join("\t"));
    let mut stream = watcher(api, watcher::Config::default())
        .applied_objects()
        .boxed();
    while let Some(object) = stream
        .try_next()
        .await
        .context("the watch on the cluster failed")?
    {
        for row in rows(
            kind,
            std::slice::from_ref(&object),
            all_namespaces,
            false,
            None,
        ) {
            println!("{}", row.join("\t"));
        }
    }
    Ok(())
}

fn headers(all_namespaces: bool) -> Vec<&'static str> {
    let mut headers = vec!["NAME", "REVISION", "SUSPENDED", "READY", "MESSAGE"];
    if all_namespaces {
        headers.insert(0, "NAMESPACE");
    }
    headers
}

/// `ready=false` → `Some("False")`.
fn parse_status_selector(selector: Option<&str>) -> anyhow::Result<Option<String>> {
    let Some(selector) = selector else {
        return Ok(None);
    };
    match selector.split_once('=') {
        Some((condition, status)) if condition.eq_ignore_ascii_case("ready") => {
            let mut status = status.to_ascii_lowercase();
            if let Some(first) = status.get_mut(0..1) {
                first.make_ascii_uppercase();
            }
            Ok(Some(status))
        }
        _ => anyhow::bail!("--status-selector takes ready=true|false|unknown, not {selector:?}"),
    }
}

fn rows(
    kind: &FluxKind,
    objects: &[DynamicObject],
    all_namespaces: bool,
    prefix_kind: bool,
    wanted_ready: Option<&str>,
) -> Vec<Vec<String>> {
    objects
        .iter()
        .filter_map(|object| {
            let (ready, message) = ready_and_message(kind, object);
            if wanted_ready.is_some_and(|wanted| wanted != ready) {
                return None;
            }
            let name = object.metadata.name.clone().unwrap_or_default();
            let name = if prefix_kind {
                format!("{}/{name}", kind.lowercase())
            } else {
                name
            };
            let mut row = vec![
                name,
                truncate_hex(&revision(kind, &object.data)),
                if is_suspended(object) {
                    "True"
                } else {
                    "False"
                }
                .to_string(),
                ready,
                message,
            ];
            if all_namespaces {
                row.insert(0, object.metadata.namespace.clone().unwrap_or_default());
            }
            Some(row)
        })
        .collect()
}

/// The Ready condition as `flux get` shows it: static kinds are always ready, and an object no
/// controller has looked at yet is "False / waiting to be reconciled".
fn ready_and_message(kind: &FluxKind, object: &DynamicObject) -> (String, String) {
    if kind.is_static {
        return ("True".into(), format!("{} is Ready", kind.kind));
    }
    let (ready, message) = match ready_condition(object) {
        Some(ready) => (ready.status, ready.message),
        None => ("False".into(), "waiting to be reconciled".into()),
    };
    (ready, with_holds(kind, &object.data, message))
}

/// Eddy's holds after a manual change, appended to an ImageUpdateAutomation's message so
/// `eddy get images update` shows what the automation leaves alone.
fn with_holds(kind: &FluxKind, data: &Value, message: String) -> String {
    if kind.kind != "ImageUpdateAutomation" {
        return message;
    }
    let holds = super::image::held_markers(data);
    if holds.is_empty() {
        return message;
    }
    format!("{message}; holding {}", holds.join(", "))
}

/// The REVISION column: what the object last produced or applied.
pub fn revision(kind: &FluxKind, data: &Value) -> String {
    let text = match kind.kind {
        "Kustomization" => string_at(data, &["status", "lastAppliedRevision"]).map(str::to_string),
        "HelmRelease" => data
            .pointer("/status/history/0/chartVersion")
            .and_then(Value::as_str)
            .or_else(|| string_at(data, &["status", "lastAttemptedRevision"]))
            .map(str::to_string),
        "ImagePolicy" => data.pointer("/status/latestRef").and_then(|latest| {
            let image = latest.get("name")?.as_str()?;
            let tag = latest.get("tag")?.as_str()?;
            Some(format!("{image}:{tag}"))
        }),
        "ImageRepository" => {
            string_at(data, &["status", "lastScanResult", "scanTime"]).map(str::to_string)
        }
        "ImageUpdateAutomation" => {
            string_at(data, &["status", "lastPushCommit"]).map(str::to_string)
        }
        _ => string_at(data, &["status", "artifact", "revision"]).map(str::to_string),
    };
    text.unwrap_or_default()
}
