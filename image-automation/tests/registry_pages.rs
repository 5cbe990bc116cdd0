//! Link pagination, an endless page chain and garbage answers, against a small paging server:
//! distribution 2.8 (Debian's registry) ignores `n` on tag lists, so it never sends a `Link`.

use std::time::Duration;

use axum::Router;
use axum::extract::Query;
use axum::http::header::LINK;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use eddy_image_automation::reflector::image::ImageName;
use eddy_image_automation::reflector::registry::{ScanError, ScanOptions, list_tags};

#[derive(serde::Deserialize)]
struct Page {
    last: Option<usize>,
}

const TAGS: usize = 2500;
const PER_PAGE: usize = 300;

async fn paged(Query(page): Query<Page>) -> Response {
    let start = page.last.map_or(0, |last| last + 1);
    let end = (start + PER_PAGE).min(TAGS);
    let tags: Vec<String> = (start..end).map(|n| n.to_string()).collect();
    let body = serde_json::json!({"name": "team/paged", "tags": tags}).to_string();
    if end < TAGS {
        let link = format!(
            "</v2/team/paged/tags/list?n={PER_PAGE}&last={}>; rel=\"next\"",
            end - 1
        );
        ([(LINK, link)], body).into_response()
    } else {
        body.into_response()
    }
}

async fn endless() -> Response {
    let link = "</v2/team/endless/tags/list?last=x>; rel=\"next\"";
    ([(LINK, link)], r#"{"tags":["x"]}"#).into_response()
}

async fn serve() -> anyhow::Result<String> {
    let app = Router::new()
        .route("/v2/team/paged/tags/list", get(paged))
        .route("/v2/team/endless/tags/list", get(endless))
        .route(
            "/v2/team/garbage/tags/list",
            get(|| async { "<html>not json" }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let address = listener.local_addr()?.to_string();
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(address)
}

fn http() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

fn options() -> ScanOptions {
    ScanOptions {
        plain_http: true,
        timeout: Duration::from_secs(10),
        credentials: None,
    }
}

#[tokio::test]
async fn follows_link_pages_to_the_end() -> anyhow::Result<()> {
    let address = serve().await?;
    let image = ImageName::parse(&format!("{address}/team/paged"))?;
    let listed = list_tags(&http(), &image, &options()).await?;
    let expected: Vec<String> = (0..TAGS).map(|n| n.to_string()).collect();
    assert_eq!(listed, expected);
    Ok(())
}

#[tokio::test]
async fn endless_chain_and_garbage_are_read_errors() -> anyhow::Result<()> {
    let address = serve().await?;
    let endless = ImageName::parse(&format!("{address}/team/endless"))?;
    let error = list_tags(&http(), &endless, &options()).await;
    assert!(
        matches!(&error, Err(ScanError::Read { detail, .. }) if detail.contains("does not end")),
        "{error:?}"
    );
    let garbage = ImageName::parse(&format!("{address}/team/garbage"))?;
    let error = list_tags(&http(), &garbage, &options()).await;
    assert!(
        matches!(&error, Err(ScanError::Read { detail, .. }) if detail.contains("other than a tag list")),
        "{error:?}"
    );
    Ok(())
}
