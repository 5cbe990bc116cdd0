//! A webhook receiver standing in for Slack: notification-controller's generic provider posts
//! Flux event JSON here, and the demo prints each message as it arrives.

use axum::{Json, Router, http::StatusCode, routing::post};
use serde_json::Value;
use tokio::{net::TcpListener, task::JoinHandle};

const PREFERRED_ADDR: &str = "127.0.0.1:39393";

pub struct PrintingWebhook {
    url: String,
    task: JoinHandle<()>,
}

impl PrintingWebhook {
    pub async fn start() -> anyhow::Result<Self> {
        // The same port every run when it is free: the Provider in the cluster keeps the address
        // of the previous run until the new commit is applied, and would post into the void.
        let listener = match TcpListener::bind(PREFERRED_ADDR).await {
            Ok(listener) => listener,
            Err(_) => TcpListener::bind("127.0.0.1:0").await?,
        };
        let url = format!("http://{}/", listener.local_addr()?);
        let router = Router::new().route("/", post(print_event));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, router).await;
        });
        Ok(Self { url, task })
    }

    pub fn url(&self) -> String {
        self.url.clone()
    }
}

impl Drop for PrintingWebhook {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn print_event(Json(event): Json<Value>) -> StatusCode {
    let object = &event["involvedObject"];
    let revision = event["metadata"]
        .as_object()
        .and_then(|metadata| metadata.iter().find(|(key, _)| key.ends_with("revision")))
        .and_then(|(_, value)| value.as_str())
        .unwrap_or("");
    super::progress::note(&format!(
        "notification: {}/{} [{}] {}{}",
        object["kind"].as_str().unwrap_or("?"),
        object["name"].as_str().unwrap_or("?"),
        event["reason"].as_str().unwrap_or(""),
        event["message"]
            .as_str()
            .unwrap_or("")
            .lines()
            .next()
            .unwrap_or(""),
        if revision.is_empty() {
            String::new()
        } else {
            format!(" ({revision})")
        },
    ));
    StatusCode::OK
}
