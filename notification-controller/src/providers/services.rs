//! Other services: GitHub `repository_dispatch`, Webex, Grafana annotations, Datadog events and
//! Lark cards.

use reqwest::Method;
use serde_json::{Value, json};

use super::{
    OutgoingRequest, ProviderError, ProviderSettings, commit_status::Repository,
    generic::basic_credentials, metadata_lines, plain_text, require_address, require_token,
};
use crate::event::FluxEvent;

const WEBEX_MESSAGES_URL: &str = "https://webexapis.com/v1/messages";
const DATADOG_BASE_URL: &str = "https://api.datadoghq.com";

/// GitHub `repository_dispatch`: `event_type` `<Kind>/<name>.<namespace>`, the event as
/// `client_payload`, so workflows can react to Flux events.
pub fn github_dispatch(
    settings: &ProviderSettings,
    event: &FluxEvent,
) -> Result<OutgoingRequest, ProviderError> {
    let repository = Repository::parse(require_address(settings)?)?;
    let token = require_token(settings)?;
    let api = if repository.host == "github.com" {
        "https://api.github.com".to_owned()
    } else {
        format!("{}://{}/api/v3", repository.scheme, repository.host)
    };
    let name = repository.path.last().cloned().unwrap_or_default();
    let owner = repository.path[..repository.path.len() - 1].join("/");
    let payload = json!({"event_type": event.object_title(), "client_payload": event});
    Ok(OutgoingRequest::json(
        Method::POST,
        format!("{api}/repos/{owner}/{name}/dispatches"),
        &payload,
    )
    .header("Authorization", format!("Bearer {token}"))
    .header("Accept", "application/vnd.github+json"))
}

/// Webex: a markdown message to the room in `channel`, bot token as bearer.
pub fn webex(
    settings: &ProviderSettings,
    event: &FluxEvent,
) -> Result<OutgoingRequest, ProviderError> {
    let token = require_token(settings)?;
    if settings.channel.is_empty() {
        return Err(ProviderError::MissingChannel);
    }
    let url = match settings.address.trim() {
        "" => WEBEX_MESSAGES_URL,
        address => address,
    };
    let mut markdown = format!("**{}**\n\n{}", event.object_title(), event.message);
    let metadata = metadata_lines(event);
    if !metadata.is_empty() {
        markdown.push_str("\n\n");
        markdown.push_str(&metadata);
    }
    Ok(OutgoingRequest::json(
        Method::POST,
        url,
        &json!({"roomId": settings.channel, "markdown": markdown}),
    )
    .header("Authorization", format!("Bearer {token}")))
}

fn tags(event: &FluxEvent) -> Vec<String> {
    let mut tags = vec![
        "flux".to_owned(),
        format!("kind:{}", event.kind()),
        format!("name:{}", event.name()),
        format!("namespace:{}", event.namespace()),
        format!("severity:{}", event.severity),
    ];
    tags.extend(
        event
            .metadata
            .iter()
            .map(|(key, value)| format!("{key}:{value}")),
    );
    tags
}

/// Grafana annotations API (`address` is `…/api/annotations`): bearer token or basic auth.
pub fn grafana(
    settings: &ProviderSettings,
    event: &FluxEvent,
) -> Result<OutgoingRequest, ProviderError> {
    let address = require_address(settings)?;
    let payload = json!({
        "text": format!("{}: {}", event.object_title(), event.message),
        "tags": tags(event),
    });
    let mut request = OutgoingRequest::json(Method::POST, address, &payload);
    if let Ok(token) = require_token(settings) {
        request = request.header("Authorization", format!("Bearer {token}"));
    } else if let (Some(password), false) = (&settings.password, settings.username.is_empty()) {
        request = request.header(
            "Authorization",
            format!("Basic {}", basic_credentials(&settings.username, password)),
        );
    }
    Ok(request)
}

/// Datadog events API v1 with the API key in `DD-API-KEY`; the address, when set, is the site.
pub fn datadog(
    settings: &ProviderSettings,
    event: &FluxEvent,
) -> Result<OutgoingRequest, ProviderError> {
    let token = require_token(settings)?;
    let base = match settings.address.trim() {
        "" => DATADOG_BASE_URL,
        address => address.trim_end_matches('/'),
    };
    let payload = json!({
        "title": event.object_title(),
        "text": plain_text(event),
        "tags": tags(event),
        "alert_type": if event.is_error() { "error" } else { "info" },
        "source_type_name": "fluxcd",
    });
    Ok(
        OutgoingRequest::json(Method::POST, format!("{base}/api/v1/events"), &payload)
            .header("DD-API-KEY", token),
    )
}

/// Lark (Feishu) custom bot: an interactive card, red for errors.
pub fn lark(
    settings: &ProviderSettings,
    event: &FluxEvent,
) -> Result<OutgoingRequest, ProviderError> {
    let address = require_address(settings)?;
    let mut content = event.message.clone();
    let metadata = metadata_lines(event);
    if !metadata.is_empty() {
        content.push_str("\n\n");
        content.push_str(&metadata);
    }
    let card: Value = json!({
        "config": {"wide_screen_mode": true},
        "header": {
            "title": {"tag": "plain_text", "content": event.object_title()},
            "template": if event.is_error() { "red" } else { "green" },
        },
        "elements": [{"tag": "div", "text": {"tag": "lark_md", "content": content}}],
    });
    Ok(OutgoingRequest::json(
        Method::POST,
        address,
        &json!({"msg_type": "interactive", "card": card}),
    ))
}

/// Zoom Team Chat incoming webhook: the rich "full" message format (object as head, severity as
/// sub head, message, metadata as fields); the verification token goes raw in `Authorization`.
pub fn zoom(
    settings: &ProviderSettings,
    event: &FluxEvent,
) -> Result<OutgoingRequest, ProviderError> {
    let address = require_address(settings)?;
    let token = require_token(settings)?;
    let mut url = url::Url::parse(address)
        .map_err(|error| ProviderError::InvalidAddress(error.to_string()))?;
    if !url.query_pairs().any(|(key, _)| key == "format") {
        url.query_pairs_mut().append_pair("format", "full");
    }
    let mut body = vec![json!({"type": "message", "text": event.message})];
    if !event.metadata.is_empty() {
        let items: Vec<Value> = event
            .metadata
            .iter()
            .map(|(key, value)| json!({"key": key, "value": value}))
            .collect();
        body.push(json!({"type": "fields", "items": items}));
    }
    let payload = json!({
        "content": {
            "head": {"text": event.object_title(), "sub_head": {"text": event.severity}},
            "body": body,
        }
    });
    Ok(
        OutgoingRequest::json(Method::POST, url.to_string(), &payload)
            .header("Authorization", token),
    )
}

/// incident.io HTTP alert source: errors fire an alert, other events resolve it (deduplicated
/// per object); metadata travels as alert metadata.
pub fn incident_io(
    settings: &ProviderSettings,
    event: &FluxEvent,
) -> Result<OutgoingRequest, ProviderError> {
    let address = require_address(settings)?;
    let token = require_token(settings)?;
    let payload = json!({
        "title": format!("{}: {}", event.object_title(), event.reason),
        "description": event.message,
        "deduplication_key": format!("{}/{}/{}", event.kind(), event.namespace(), event.name()),
        "status": if event.is_error() { "firing" } else { "resolved" },
        "metadata": event.metadata,
    });
    Ok(OutgoingRequest::json(Method::POST, address, &payload)
        .header("Authorization", format!("Bearer {token}")))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn github_dispatch_posts_the_event_as_client_payload() {
        let mut settings = settings("https://github.com/org/app");
        settings.token = Some("ghp".into());
        let request = github_dispatch(&settings, &event("info")).unwrap();
        assert_eq!(
            request.url,
            "https://api.github.com/repos/org/app/dispatches"
        );
        let json = body(&request);
        assert_eq!(json["event_type"], "Kustomization/apps.team");
        assert_eq!(json["client_payload"]["reason"], "ReconciliationSucceeded");
    }

    #[test]
    fn webex_grafana_datadog_and_lark_shapes() {
        let mut settings = settings("");
        settings.token = Some("tok".into());
        assert_eq!(
            webex(&settings, &event("info")).unwrap_err(),
            ProviderError::MissingChannel
        );
        settings.channel = "room".into();
        let request = webex(&settings, &event("info")).unwrap();
        assert_eq!(request.url, WEBEX_MESSAGES_URL);
        assert!(
            body(&request)["markdown"]
                .as_str()
                .unwrap()
                .starts_with("**Kustomization/apps.team**")
        );

        let request = datadog(&settings, &event("error")).unwrap();
        assert_eq!(request.url, "https://api.datadoghq.com/api/v1/events");
        assert!(
            request
                .headers
                .contains(&("DD-API-KEY".into(), "tok".into()))
        );
        assert_eq!(body(&request)["alert_type"], "error");

        settings.address = "https://grafana.local/api/annotations".into();
        let request = grafana(&settings, &event("info")).unwrap();
        let tags = body(&request)["tags"].clone();
        assert!(
            tags.as_array()
                .unwrap()
                .contains(&json!("kind:Kustomization")),
            "{tags}"
        );

        let request = lark(&settings, &event("error")).unwrap();
        assert_eq!(body(&request)["card"]["header"]["template"], "red");

        settings.address = "https://integrations.zoom.us/chat/webhooks/incomingwebhook/abc".into();
        let request = zoom(&settings, &event("info")).unwrap();
        assert!(request.url.ends_with("/abc?format=full"), "{}", request.url);
        assert!(
            request
                .headers
                .contains(&("Authorization".into(), "tok".into()))
        );
        let json = body(&request);
        assert_eq!(json["content"]["head"]["text"], "Kustomization/apps.team");
        assert_eq!(json["content"]["body"][1]["items"][0]["key"], "revision");
        settings.address.push_str("?format=message");
        assert!(
            zoom(&settings, &event("info"))
                .unwrap()
                .url
                .ends_with("?format=message")
        );

        settings.address = "https://api.incident.io/v2/alert_events/http/src".into();
        let json = body(&incident_io(&settings, &event("error")).unwrap());
        assert_eq!(json["status"], "firing");
        assert_eq!(json["deduplication_key"], "Kustomization/team/apps");
    }
}
