//! Webhooks: each alert POSTed as the same JSON object as on stdout, signed with
//! HMAC-SHA256 so receivers can check it came from this redline.
//!
//! Headers: `X-Redline-Event` (new, updated, removed, moved), `X-Redline-Delivery`
//! (unique per alert and sink, the same on every retry, so receivers can drop
//! duplicates), `X-Redline-Timestamp` (Unix seconds) and `X-Redline-Signature`:
//! `sha256=` + hex HMAC-SHA256(secret, timestamp + "." + body).

use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use reqwest::StatusCode;
use serde::Deserialize;
use sha2::Sha256;

use super::{Alert, Delivery, stdout::json_line};
use crate::fetch::retry_after;
use crate::store::OutboxEntry;

/// One webhook in the config (`[[alerts.webhook]]`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Names the webhook's delivery queue; defaults to the URL.
    pub name: Option<String>,
    pub url: String,
    /// The signing secret, or the environment variable that holds it.
    pub secret: Option<String>,
    pub secret_env: Option<String>,
    /// Only alerts about these topics (all when empty).
    #[serde(default)]
    pub topics: Vec<String>,
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// How long an alert is retried before it goes to the failed list.
    #[serde(default = "default_max_age", with = "humantime_serde")]
    pub max_age: Duration,
}

fn default_timeout() -> Duration {
    Duration::from_secs(10)
}

fn default_max_age() -> Duration {
    Duration::from_secs(24 * 3600)
}

impl WebhookConfig {
    /// A webhook with the defaults, as `--webhook URL` gives.
    pub fn new(url: &str) -> WebhookConfig {
        WebhookConfig {
            name: None,
            url: url.to_string(),
            secret: None,
            secret_env: None,
            topics: Vec::new(),
            timeout: default_timeout(),
            max_age: default_max_age(),
        }
    }
}

/// Why a webhook could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("webhook {url}: environment variable {var} is not set")]
    MissingSecret { url: String, var: String },
    #[error("webhook {url}: {source}")]
    Client { url: String, source: reqwest::Error },
}

/// A configured webhook, ready to deliver.
pub struct WebhookSink {
    config: WebhookConfig,
    secret: Option<Vec<u8>>,
    client: reqwest::Client,
}

/// `sha256=` + hex HMAC-SHA256(secret, timestamp + "." + body).
pub fn sign(secret: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

impl WebhookSink {
    pub fn new(config: WebhookConfig) -> Result<WebhookSink, WebhookError> {
        let secret = match (&config.secret, &config.secret_env) {
            (Some(secret), _) => Some(secret.clone().into_bytes()),
            (None, Some(var)) => Some(
                std::env::var(var)
                    .map_err(|_| WebhookError::MissingSecret {
                        url: config.url.clone(),
                        var: var.clone(),
                    })?
                    .into_bytes(),
            ),
            (None, None) => None,
        };
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("redline/", env!("CARGO_PKG_VERSION"), " webhook"))
            .build()
            .map_err(|source| WebhookError::Client {
                url: config.url.clone(),
                source,
            })?;
        Ok(WebhookSink {
            config,
            secret,
            client,
        })
    }

    pub fn name(&self) -> &str {
        self.config.name.as_deref().unwrap_or(&self.config.url)
    }

    pub fn max_age(&self) -> Duration {
        self.config.max_age
    }

    pub fn accepts(&self, alert: &Alert) -> bool {
        self.config.topics.is_empty() || alert.topics.iter().any(|t| self.config.topics.contains(t))
    }

    pub async fn deliver(&self, entry: &OutboxEntry) -> Delivery {
        let body = json_line(&entry.alert).trim_end().to_string();
        let timestamp = chrono::Utc::now().timestamp();
        let event = serde_json::to_value(entry.alert.event)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string));
        let mut request = self
            .client
            .post(&self.config.url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("X-Redline-Event", event.unwrap_or_default())
            .header("X-Redline-Delivery", entry.delivery_id())
            .header("X-Redline-Timestamp", timestamp.to_string());
        if let Some(secret) = &self.secret {
            request = request.header(
                "X-Redline-Signature",
                sign(secret, timestamp, body.as_bytes()),
            );
        }
        match request.body(body).send().await {
            Ok(response) => outcome(response.status(), retry_after(response.headers())),
            Err(error) => Delivery::Retry {
                after: None,
                error: format!("{}: {error}", self.config.url),
            },
        }
    }
}

/// 2xx delivers; 408, 429 and 5xx are retried; any other status is final.
fn outcome(status: StatusCode, retry_after: Option<Duration>) -> Delivery {
    if status.is_success() {
        return Delivery::Delivered;
    }
    let error = format!("HTTP {status}");
    let retry = status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT;
    if retry {
        Delivery::Retry {
            after: retry_after,
            error,
        }
    } else {
        Delivery::Reject { error }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // Reference value from `printf '1700000000.{"a":1}' | openssl dgst -sha256 -hmac secret`.
        let got = sign(b"secret", 1_700_000_000, br#"{"a":1}"#);
        assert_eq!(
            got,
            "sha256=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686"
        );
        assert!(got.starts_with("sha256=") && got.len() == 7 + 64);
        assert_ne!(got, sign(b"other", 1_700_000_000, br#"{"a":1}"#));
    }

    #[test]
    fn statuses_map_to_retry_or_reject() {
        assert_eq!(outcome(StatusCode::NO_CONTENT, None), Delivery::Delivered);
        assert!(matches!(
            outcome(StatusCode::SERVICE_UNAVAILABLE, None),
            Delivery::Retry { .. }
        ));
        assert!(matches!(
            outcome(StatusCode::TOO_MANY_REQUESTS, Some(Duration::from_secs(3))),
            Delivery::Retry { after: Some(_), .. }
        ));
        assert!(matches!(
            outcome(StatusCode::REQUEST_TIMEOUT, None),
            Delivery::Retry { .. }
        ));
        assert!(matches!(
            outcome(StatusCode::GONE, None),
            Delivery::Reject { .. }
        ));
        assert!(matches!(
            outcome(StatusCode::BAD_REQUEST, None),
            Delivery::Reject { .. }
        ));
    }
}
