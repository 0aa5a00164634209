//! Sending alerts to webhooks: a generic JSON body or a Slack-compatible
//! `{"text": ...}` message, with retries and exponential backoff.
//!
//! A delivery is retried on connection errors, timeouts, HTTP 429 and 5xx;
//! any other status is final. What could not be delivered comes back as a
//! failed [`Delivery`] for the caller to keep as a dead letter. Webhook URLs
//! often carry a secret (Slack's do), so only their scheme and host appear
//! in logs and records ([`redact_url`]).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use serde_json::{json, Value};

use crate::alert::Alert;

/// The body a webhook expects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookKind {
    /// The alert as a JSON object.
    Json,
    /// Slack's incoming-webhook format (`{"text": ...}`), also understood by
    /// Mattermost, Rocket.Chat and Teams' Slack-compatible endpoints.
    Slack,
}

/// A webhook endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    pub url: String,
    pub kind: WebhookKind,
}

/// How hard to try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all (at least 1).
    pub attempts: u32,
    /// Wait before the second attempt; doubled after each failure.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Time one attempt may take.
    pub timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> RetryPolicy {
        RetryPolicy {
            attempts: 5,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            timeout: Duration::from_secs(10),
        }
    }
}

/// The outcome of sending one payload to one webhook.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Delivery {
    /// The webhook, redacted to scheme and host.
    pub target: String,
    pub kind: WebhookKind,
    pub delivered: bool,
    pub attempts: u32,
    /// The last failure (status or error), when not delivered.
    pub last_error: Option<String>,
    /// The body sent.
    pub payload: String,
}

/// `https://hooks.slack.com/...` -> `https://hooks.slack.com`.
pub fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
            let host = host.rsplit('@').next().unwrap_or_default();
            format!("{scheme}://{host}")
        }
        None => "<invalid url>".to_string(),
    }
}

/// The body for `kind` describing `alert` (`id` is the stored alert's id).
pub fn payload(kind: WebhookKind, alert: &Alert, id: Option<i64>) -> Value {
    match kind {
        WebhookKind::Json => json!({
            "type": "palisade.alert",
            "id": id,
            "rule": alert.rule,
            "title": alert.title,
            "severity": alert.severity,
            "kind": alert.kind,
            "source": alert.source,
            "entity": alert.entity,
            "first_time": alert.first_time,
            "last_time": alert.last_time,
            "count": alert.count,
            "event_ids": alert.event_ids,
        }),
        WebhookKind::Slack => json!({
            "text": format!(
                "*[{}] {}*\nentity: `{}`\n{} event(s) from {} to {}\nrule: `{}`{}",
                alert.severity.as_str().to_uppercase(),
                alert.title,
                alert.entity,
                alert.count,
                alert.first_time.format("%Y-%m-%d %H:%M:%S UTC"),
                alert.last_time.format("%Y-%m-%d %H:%M:%S UTC"),
                alert.rule,
                id.map(|id| format!(" (alert {id})")).unwrap_or_default(),
            ),
        }),
    }
}

/// Whether a status is worth another try.
fn retryable(status: u16) -> bool {
    status == 429 || status == 408 || status >= 500
}

/// Sends webhooks; one per run, reusing connections.
pub struct Sender {
    client: Client<
        hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
        Full<Bytes>,
    >,
    policy: RetryPolicy,
}

impl Sender {
    pub fn new(policy: RetryPolicy) -> Result<Sender, String> {
        let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(provider)
            .map_err(|e| format!("cannot load the system's TLS roots: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Sender {
            client: Client::builder(TokioExecutor::new()).build(https),
            policy,
        })
    }

    /// Posts `body` to `webhook`, retrying as the policy says.
    pub async fn send(&self, webhook: &Webhook, body: &Value) -> Delivery {
        let target = redact_url(&webhook.url);
        let payload = body.to_string();
        let mut delivery = Delivery {
            target: target.clone(),
            kind: webhook.kind,
            delivered: false,
            attempts: 0,
            last_error: None,
            payload: payload.clone(),
        };
        let mut backoff = self.policy.initial_backoff;
        for attempt in 1..=self.policy.attempts.max(1) {
            delivery.attempts = attempt;
            match self.post(&webhook.url, &payload).await {
                Ok(status) if (200..300).contains(&status) => {
                    delivery.delivered = true;
                    delivery.last_error = None;
                    tracing::debug!(%target, attempt, "webhook delivered");
                    return delivery;
                }
                Ok(status) => {
                    delivery.last_error = Some(format!("HTTP status {status}"));
                    if !retryable(status) {
                        break;
                    }
                }
                Err(error) => delivery.last_error = Some(error),
            }
            tracing::info!(%target, attempt, error = delivery.last_error.as_deref().unwrap_or_default(), "webhook attempt failed");
            if attempt < self.policy.attempts {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(self.policy.max_backoff);
            }
        }
        tracing::warn!(%target, attempts = delivery.attempts, error = delivery.last_error.as_deref().unwrap_or_default(), "webhook not delivered");
        delivery
    }

    async fn post(&self, url: &str, payload: &str) -> Result<u16, String> {
        let request = hyper::Request::post(url)
            .header("content-type", "application/json")
            .header(
                "user-agent",
                concat!("palisade/", env!("CARGO_PKG_VERSION")),
            )
            .body(Full::new(Bytes::from(payload.to_string())))
            .map_err(|e| format!("invalid webhook request: {e}"))?;
        let response = tokio::time::timeout(self.policy.timeout, self.client.request(request))
            .await
            .map_err(|_| "timed out".to_string())?
            .map_err(|e| format!("request failed: {}", error_chain(&e)))?;
        let status = response.status().as_u16();
        // Read the body so the connection can be reused.
        let _ = tokio::time::timeout(self.policy.timeout, response.into_body().collect()).await;
        Ok(status)
    }
}

fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted_to_scheme_and_host() {
        assert_eq!(
            redact_url("https://hooks.slack.com/services/T000/B000/XXXX"),
            "https://hooks.slack.com"
        );
        assert_eq!(
            redact_url("http://user:pw@127.0.0.1:8080/x?token=1"),
            "http://127.0.0.1:8080"
        );
        assert_eq!(redact_url("nonsense"), "<invalid url>");
    }
}
