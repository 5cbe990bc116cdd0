//! Chat services: Slack (and the Slack-compatible Discord and Rocket.Chat webhooks), Microsoft
//! Teams, Google Chat, Telegram and Matrix. Each message names the object, carries the event
//! message and lists the metadata (revision, summary, …) a human needs.

use reqwest::Method;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::{
    OutgoingRequest, ProviderError, ProviderSettings, plain_text, require_address, require_token,
};
use crate::event::FluxEvent;

/// Slack's chat API endpoint, used when the provider authenticates with a token.
pub const SLACK_POST_MESSAGE_URL: &str = "https://slack.com/api/chat.postMessage";
const TELEGRAM_API: &str = "https://api.telegram.org";

/// The Slack message (one attachment coloured by severity, metadata as fields).
pub fn slack_payload(settings: &ProviderSettings, event: &FluxEvent) -> Value {
    let fields: Vec<Value> = event
        .metadata
        .iter()
        .map(|(key, value)| json!({"title": key, "value": value, "short": false}))
        .collect();
    let mut payload = json!({
        "attachments": [{
            "color": if event.is_error() { "danger" } else { "good" },
            "author_name": event.object_title(),
            "text": event.message,
            "mrkdwn_in": ["text"],
            "fields": fields,
        }]
    });
    if !settings.channel.is_empty() {
        payload["channel"] = json!(settings.channel);
    }
    if !settings.username.is_empty() {
        payload["username"] = json!(settings.username);
    }
    payload
}

/// Slack: an incoming webhook (address), or `chat.postMessage` with a bot token and a channel.
pub fn slack(
    settings: &ProviderSettings,
    event: &FluxEvent,
) -> Result<OutgoingRequest, ProviderError> {
    let payload = slack_payload(settings, event);
    if let Ok(token) = require_token(settings) {
        if settings.channel.is_empty() {
            return Err(ProviderError::MissingChannel);
        }
        let url = match settings.address.trim() {
            "" => SLACK_POST_MESSAGE_URL,
            address => address,
        };
        return Ok(OutgoingRequest::json(Method::POST, url, &payload)
            .header("Authorization", format!("Bearer {token}")));
    }
    Ok(OutgoingRequest::json(
        Method::POST,
        require_address(settings)?,
        &payload,
    ))
}

/// Discord: its Slack-compatible endpoint (`<webhook>/slack`) with the Slack payload.
pub fn discord(
    settings: &ProviderSettings,
    event: &FluxEvent,
) -> Result<OutgoingRequest, ProviderError> {
    let address = require_address(settings)?.trim_end_matches('/');
    let url = if address.ends_with("/slack") {
        address.to_owned()
    } else {
        format!("{address}/slack")
    };
    Ok(OutgoingRequest::json(
        Method::POST,
        url,
        &slack_payload(settings, event),
    ))
}

/// Rocket.Chat incoming webhooks accept the Slack payload as is.
pub fn rocket(
    settings: &ProviderSettings,
    event: &FluxEvent,
) -> Result<OutgoingRequest, ProviderError> {
    Ok(OutgoingRequest::json(
        Method::POST,
        require_address(settings)?,
        &slack_payload(settings, event),
    ))
}

/// Microsoft Teams: an Adaptive Card for Workflows webhooks, or the legacy MessageCard for
/// Office 365 connector URLs (`*.webhook.office.com`).
pub fn msteams(
    settings: &ProviderSettings,
    event: &FluxEvent,
) -> Result<OutgoingRequest, ProviderError> {
    let address = require_address(settings)?;
    let host = url::Url::parse(address)
        .map_err(|error| ProviderError::InvalidAddress(error.to_string()))?
        .host_str()
        .unwrap_or_default()
        .to_owned();
    let payload = if host.ends_with(".webhook.office.com") {
        legacy_teams_card(event)
    } else {
        adaptive_card(event)
    };
    Ok(OutgoingRequest::json(Method::POST, address, &payload))
}

fn adaptive_card(event: &FluxEvent) -> Value {
    let facts: Vec<Value> = event
        .metadata
        .iter()
        .map(|(key, value)| json!({"title": key, "value": value}))
        .collect();
    let mut body = vec![
        json!({
            "type": "TextBlock",
            "text": event.object_title(),
            "weight": "bolder",
            "size": "medium",
            "wrap": true,
            "color": if event.is_error() { "attention" } else { "good" },
        }),
        json!({"type": "TextBlock", "text": event.message, "wrap": true}),
    ];
    if !facts.is_empty() {
        body.push(json!({"type": "FactSet", "facts": facts}));
    }
    json!({
        "type": "message",
        "attachments": [{
            "contentType": "application/vnd.microsoft.card.adaptive",
            "content": {
                "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
                "type": "AdaptiveCard",
                "version": "1.4",
                "body": body,
            }
        }]
    })
}

fn legacy_teams_card(event: &FluxEvent) -> Value {
    let facts: Vec<Value> = event
        .metadata
        .iter()
        .map(|(key, value)| json!({"name": key, "value": value}))
        .collect();
    json!({
        "@type": "MessageCard",
        "@context": "https://schema.org/extensions",
        "themeColor": if event.is_error() { "FF0000" } else { "0076D7" },
        "summary": event.object_title(),
        "sections": [{
            "activityTitle": event.object_title(),
            "activitySubtitle": event.message,
            "facts": facts,
        }]
    })
}

/// Google Chat: a card with the object as header, the message, and metadata as key/value rows.
pub fn google_chat(
    settings: &ProviderSettings,
    event: &FluxEvent,
) -> Result<OutgoingRequest, ProviderError> {
    let mut sections = vec![json!({"widgets": [{"textParagraph": {"text": event.message}}]})];
    if !event.metadata.is_empty() {
        let rows: Vec<Value> = event
            .metadata
            .iter()
            .map(|(key, value)| json!({"decoratedText": {"topLabel": key, "text": value}}))
            .collect();
        sections.push(json!({"widgets": rows}));
    }
    let payload = json!({
        "cardsV2": [{
            "cardId": "flux-event",
            "card": {
                "header": {
                    "title": event.object_title(),
                    "subtitle": if event.is_error() { "error" } else { "info" },
                },
                "sections": sections,
            }
        }]
    });
    Ok(OutgoingRequest::json(
        Method::POST,
        require_address(settings)?,
        &payload,
    ))
}

/// Telegram `sendMessage`: chat id (or `@channel`, optionally `:<topic id>`) in `channel`, bot
/// token in the Secret. The address, when set, replaces the Bot API base URL.
pub fn telegram(
    settings: &ProviderSettings,
    event: &FluxEvent,
) -> Result<OutgoingRequest, ProviderError> {
    let token = require_token(settings)?;
    if settings.channel.is_empty() {
        return Err(ProviderError::MissingChannel);
    }
    let base = match settings.address.trim() {
        "" => TELEGRAM_API,
        address => address.trim_end_matches('/'),
    };
    let mut payload = json!({"text": plain_text(event)});
    match settings.channel.rsplit_once(':') {
        Some((chat, topic)) if topic.parse::<i64>().is_ok() => {
            payload["chat_id"] = json!(chat);
            payload["message_thread_id"] = json!(topic.parse::<i64>().unwrap_or_default());
        }
        _ => payload["chat_id"] = json!(settings.channel),
    }
    Ok(OutgoingRequest::json(
        Method::POST,
        format!("{base}/bot{token}/sendMessage"),
        &payload,
    ))
}

/// Matrix: `PUT /_matrix/client/v3/rooms/<room>/send/m.room.message/<txn>` with an access token;
/// the transaction id is derived from the content so a retried send is not posted twice.
pub fn matrix(
    settings: &ProviderSettings,
    event: &FluxEvent,
) -> Result<OutgoingRequest, ProviderError> {
    let address = require_address(settings)?.trim_end_matches('/');
    let token = require_token(settings)?;
    if settings.channel.is_empty() {
        return Err(ProviderError::MissingChannel);
    }
    let text = plain_text(event);
    let payload = json!({"msgtype": "m.text", "body": text});
    let transaction = hex::encode(Sha256::digest(
        format!("{}{}{}", event.timestamp, event.object_title(), text).as_bytes(),
    ));
    let room: String = url::form_urlencoded::byte_serialize(settings.channel.as_bytes()).collect();
    Ok(OutgoingRequest::json(
        Method::PUT,
        format!("{address}/_matrix/client/v3/rooms/{room}/send/m.room.message/{transaction}"),
        &payload,
    )
    .header("Authorization", format!("Bearer {token}")))
}

#[cfg(test)]
mod tests {
    use super::super::test_support::*;
    use super::*;

    #[test]
    fn slack_webhook_message_names_object_message_and_metadata() {
        let mut settings = settings("https://hooks.slack.com/services/T/B/X");
        settings.channel = "ops".into();
        settings.username = "flux".into();
        let request = slack(&settings, &event("error")).unwrap();
        assert_eq!(request.url, "https://hooks.slack.com/services/T/B/X");
        let json = body(&request);
        assert_eq!(json["channel"], "ops");
        assert_eq!(json["username"], "flux");
        let attachment = &json["attachments"][0];
        assert_eq!(attachment["color"], "danger");
        assert_eq!(attachment["author_name"], "Kustomization/apps.team");
        assert!(
            attachment["text"]
                .as_str()
                .unwrap()
                .starts_with("Applied revision")
        );
        assert_eq!(attachment["fields"][0]["title"], "revision");
    }

    #[test]
    fn slack_with_token_uses_the_chat_api_and_needs_a_channel() {
        let mut settings = settings("");
        settings.token = Some("xoxb-1".into());
        assert_eq!(
            slack(&settings, &event("info")).unwrap_err(),
            ProviderError::MissingChannel
        );
        settings.channel = "C123".into();
        let request = slack(&settings, &event("info")).unwrap();
        assert_eq!(request.url, SLACK_POST_MESSAGE_URL);
        assert!(
            request
                .headers
                .contains(&("Authorization".into(), "Bearer xoxb-1".into()))
        );
        assert_eq!(body(&request)["attachments"][0]["color"], "good");
    }

    #[test]
    fn discord_uses_the_slack_compatible_path() {
        let request = discord(
            &settings("https://discord.com/api/webhooks/1/abc"),
            &event("info"),
        )
        .unwrap();
        assert_eq!(request.url, "https://discord.com/api/webhooks/1/abc/slack");
        let again = discord(
            &settings("https://discord.com/api/webhooks/1/abc/slack"),
            &event("info"),
        )
        .unwrap();
        assert_eq!(again.url, request.url);
    }

    #[test]
    fn teams_sends_an_adaptive_card_or_a_legacy_card_for_office_hosts() {
        let request = msteams(
            &settings("https://prod.westeurope.logic.azure.com/workflows/1"),
            &event("error"),
        )
        .unwrap();
        let json = body(&request);
        let card = &json["attachments"][0]["content"];
        assert_eq!(
            json["attachments"][0]["contentType"],
            "application/vnd.microsoft.card.adaptive"
        );
        assert_eq!(card["type"], "AdaptiveCard");
        assert_eq!(card["body"][0]["text"], "Kustomization/apps.team");
        assert_eq!(card["body"][0]["color"], "attention");
        assert_eq!(card["body"][2]["facts"][0]["title"], "revision");
        let legacy = msteams(
            &settings("https://acme.webhook.office.com/webhookb2/x"),
            &event("info"),
        )
        .unwrap();
        assert_eq!(body(&legacy)["@type"], "MessageCard");
    }

    #[test]
    fn google_chat_telegram_and_matrix_shapes() {
        let chat = body(
            &google_chat(
                &settings("https://chat.googleapis.com/v1/spaces/x"),
                &event("info"),
            )
            .unwrap(),
        );
        assert_eq!(
            chat["cardsV2"][0]["card"]["header"]["title"],
            "Kustomization/apps.team"
        );

        let mut telegram_settings = settings("");
        telegram_settings.token = Some("123:abc".into());
        telegram_settings.channel = "-100200:7".into();
        let request = telegram(&telegram_settings, &event("info")).unwrap();
        assert_eq!(
            request.url,
            "https://api.telegram.org/bot123:abc/sendMessage"
        );
        let json = body(&request);
        assert_eq!(json["chat_id"], "-100200");
        assert_eq!(json["message_thread_id"], 7);
        assert!(
            json["text"]
                .as_str()
                .unwrap()
                .contains("Kustomization/apps.team")
        );

        let mut matrix_settings = settings("https://matrix.example/");
        matrix_settings.token = Some("tok".into());
        matrix_settings.channel = "!room:example".into();
        let request = matrix(&matrix_settings, &event("info")).unwrap();
        assert_eq!(request.method, Method::PUT);
        assert!(request.url.starts_with(
            "https://matrix.example/_matrix/client/v3/rooms/%21room%3Aexample/send/m.room.message/"
        ), "{}", request.url);
        assert_eq!(body(&request)["msgtype"], "m.text");
    }
}
