//! HTTP fetching shared by feed polls and article fetches.
//!
//! One [`Fetcher`] holds the reqwest client and the politeness state: a cap on
//! requests in flight per host and in all, conditional GET with stored
//! validators, retries with exponential backoff that honour `Retry-After`, a body
//! size limit counted after decompression, and a redirect policy that refuses
//! non-http schemes and https→http downgrades. [`charset`] turns the raw bytes
//! into text.

pub mod charset;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use rand::RngExt;
use reqwest::header::{self, HeaderMap};
use reqwest::{StatusCode, redirect};
use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use url::Url;

use crate::config::FetchConfig;

/// What went wrong with a request, naming its URL.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    #[error("cannot build the HTTP client: {0}")]
    Client(#[source] reqwest::Error),
    #[error("{url}: {source}")]
    Http {
        url: Url,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url}: HTTP {status}")]
    Status { url: Url, status: StatusCode },
    #[error("{url}: body larger than the limit of {limit} bytes")]
    TooLarge { url: Url, limit: u64 },
}

impl FetchError {
    /// The HTTP status behind the error, if the server answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            FetchError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// The validators a server sent with a response, replayed as If-None-Match and
/// If-Modified-Since on the next request for the same URL.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

impl Validators {
    fn from_headers(headers: &HeaderMap) -> Validators {
        let get = |name| {
            headers
                .get(name)
                .and_then(|v: &header::HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        Validators {
            etag: get(header::ETAG),
            last_modified: get(header::LAST_MODIFIED),
        }
    }

    fn apply(&self, mut request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        if let Some(etag) = &self.etag {
            request = request.header(header::IF_NONE_MATCH, etag);
        }
        if let Some(date) = &self.last_modified {
            request = request.header(header::IF_MODIFIED_SINCE, date);
        }
        request
    }
}

/// A successful response with its body read in full.
#[derive(Debug, Clone)]
pub struct Page {
    /// The URL after redirects.
    pub url: Url,
    pub content_type: Option<String>,
    pub content_language: Option<String>,
    pub validators: Validators,
    pub body: Bytes,
}

/// The result of a (possibly conditional) GET.
#[derive(Debug)]
pub enum FetchOutcome {
    /// 304: what we have is current; nothing was downloaded.
    NotModified,
    Fetched(Box<Page>),
}

/// The HTTP client with its politeness state.
pub struct Fetcher {
    client: reqwest::Client,
    hosts: Mutex<HashMap<String, Arc<HostState>>>,
    global: Arc<Semaphore>,
    per_host: usize,
    max_body: u64,
    retries: u32,
}

/// Delay before the first retry; doubled on each further one.
const BACKOFF_BASE: Duration = Duration::from_millis(500);
/// Longest wait between two attempts, also for Retry-After.
const BACKOFF_CEILING: Duration = Duration::from_secs(60);

impl Fetcher {
    pub fn new(config: &FetchConfig) -> Result<Fetcher, FetchError> {
        let client = reqwest::Client::builder()
            .user_agent(config.user_agent.clone())
            .connect_timeout(config.connect_timeout)
            .timeout(config.timeout)
            .redirect(redirect_policy(config.max_redirects))
            .build()
            .map_err(FetchError::Client)?;
        Ok(Fetcher {
            client,
            hosts: Mutex::new(HashMap::new()),
            global: Arc::new(Semaphore::new(config.global_concurrency)),
            per_host: config.per_host_concurrency,
            max_body: config.max_body_mb.saturating_mul(1024 * 1024),
            retries: config.retries,
        })
    }

    /// GETs `url`, conditionally when `validators` are given, retrying transient
    /// failures (timeouts, resets, 429, 5xx).
    pub async fn get(
        &self,
        url: &Url,
        validators: &Validators,
    ) -> Result<FetchOutcome, FetchError> {
        let mut attempt = 0;
        loop {
            let result = self.get_once(url, validators).await;
            let wait = match &result {
                Err(e) if attempt < self.retries => retry_delay(e, attempt),
                _ => None,
            };
            let Some(wait) = wait else {
                return result.map_err(|e| e.error);
            };
            let error = result
                .err()
                .map(|e| e.error.to_string())
                .unwrap_or_default();
            tracing::debug!(%url, attempt, wait_ms = wait.as_millis() as u64, %error, "retrying");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    async fn get_once(&self, url: &Url, validators: &Validators) -> Result<FetchOutcome, Attempt> {
        let host = self.host(url);
        let _permits = self.acquire(&host).await;
        let request = validators.apply(self.client.get(url.clone()));
        let response = request.send().await.map_err(|e| Attempt::http(url, e))?;
        let status = response.status();
        if status == StatusCode::NOT_MODIFIED {
            return Ok(FetchOutcome::NotModified);
        }
        if !status.is_success() {
            let retry_after = retry_after(response.headers());
            if let Some(wait) = retry_after.filter(|_| asks_to_wait(status)) {
                host.pause_for(wait.min(BACKOFF_CEILING));
            }
            let error = FetchError::Status {
                url: response.url().clone(),
                status,
            };
            return Err(Attempt { error, retry_after });
        }
        let page = self.read_page(response).await.map_err(Attempt::from)?;
        Ok(FetchOutcome::Fetched(Box::new(page)))
    }

    async fn read_page(&self, mut response: reqwest::Response) -> Result<Page, FetchError> {
        let url = response.url().clone();
        let too_large = || FetchError::TooLarge {
            url: url.clone(),
            limit: self.max_body,
        };
        if response.content_length().is_some_and(|n| n > self.max_body) {
            return Err(too_large());
        }
        let headers = response.headers().clone();
        let mut body = BytesMut::new();
        while let Some(chunk) = response.chunk().await.map_err(|source| FetchError::Http {
            url: url.clone(),
            source,
        })? {
            if (body.len() + chunk.len()) as u64 > self.max_body {
                return Err(too_large());
            }
            body.extend_from_slice(&chunk);
        }
        let text_header = |name| {
            headers
                .get(name)
                .and_then(|v: &header::HeaderValue| v.to_str().ok())
                .map(str::to_string)
        };
        Ok(Page {
            content_type: text_header(header::CONTENT_TYPE),
            content_language: text_header(header::CONTENT_LANGUAGE),
            validators: Validators::from_headers(&headers),
            url,
            body: body.freeze(),
        })
    }

    /// Waits for a slot on the host and for any pause it asked for (Retry-After),
    /// then for a global slot (in that order, so that requests queued behind a
    /// busy host do not hold global slots).
    async fn acquire(&self, host: &HostState) -> (OwnedSemaphorePermit, OwnedSemaphorePermit) {
        let host_permit = host
            .slots
            .clone()
            .acquire_owned()
            .await
            .expect("host semaphores are never closed");
        while let Some(until) = host.paused_until() {
            tokio::time::sleep_until(until).await;
        }
        let global = self.global.clone();
        let global_permit = global
            .acquire_owned()
            .await
            .expect("the global semaphore is never closed");
        (host_permit, global_permit)
    }

    fn host(&self, url: &Url) -> Arc<HostState> {
        let key = host_key(url);
        let mut hosts = self.hosts.lock().unwrap_or_else(|e| e.into_inner());
        hosts
            .entry(key)
            .or_insert_with(|| Arc::new(HostState::new(self.per_host)))
            .clone()
    }
}

/// Politeness state of one host.
struct HostState {
    /// Requests in flight to the host.
    slots: Arc<Semaphore>,
    /// No request starts before this instant (set from Retry-After).
    not_before: Mutex<Option<tokio::time::Instant>>,
}

impl HostState {
    fn new(per_host: usize) -> HostState {
        HostState {
            slots: Arc::new(Semaphore::new(per_host)),
            not_before: Mutex::new(None),
        }
    }

    fn pause_for(&self, wait: Duration) {
        let until = tokio::time::Instant::now() + wait;
        let mut not_before = self.not_before.lock().unwrap_or_else(|e| e.into_inner());
        if not_before.is_none_or(|t| t < until) {
            *not_before = Some(until);
        }
    }

    /// The end of a running pause, if any.
    fn paused_until(&self) -> Option<tokio::time::Instant> {
        let not_before = *self.not_before.lock().unwrap_or_else(|e| e.into_inner());
        not_before.filter(|t| *t > tokio::time::Instant::now())
    }
}

/// Statuses whose Retry-After holds for the whole host.
fn asks_to_wait(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE
}

/// The politeness key of a URL: its host and port.
pub fn host_key(url: &Url) -> String {
    match url.port_or_known_default() {
        Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
        None => url.host_str().unwrap_or_default().to_string(),
    }
}

/// A failed attempt with the server's Retry-After, if it sent one.
struct Attempt {
    error: FetchError,
    retry_after: Option<Duration>,
}

impl Attempt {
    fn http(url: &Url, source: reqwest::Error) -> Attempt {
        FetchError::Http {
            url: url.clone(),
            source,
        }
        .into()
    }
}

impl From<FetchError> for Attempt {
    fn from(error: FetchError) -> Attempt {
        Attempt {
            error,
            retry_after: None,
        }
    }
}

/// How long to wait before retrying, or `None` when the failure is not transient.
fn retry_delay(attempt: &Attempt, n: u32) -> Option<Duration> {
    let transient = match &attempt.error {
        FetchError::Http { source, .. } => !source.is_redirect() && !source.is_builder(),
        FetchError::Status { status, .. } => {
            status.is_server_error()
                || *status == StatusCode::TOO_MANY_REQUESTS
                || *status == StatusCode::REQUEST_TIMEOUT
        }
        FetchError::TooLarge { .. } | FetchError::Client(_) => false,
    };
    if !transient {
        return None;
    }
    if let Some(wait) = attempt.retry_after {
        return Some(wait.min(BACKOFF_CEILING));
    }
    let exp = BACKOFF_BASE
        .saturating_mul(1 << n.min(16))
        .min(BACKOFF_CEILING);
    let jitter = rand::rng().random_range(0..=exp.as_millis() as u64 / 2);
    Some(exp + Duration::from_millis(jitter))
}

/// Parses Retry-After: delay-seconds or an HTTP date.
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let date = httpdate::parse_http_date(value).ok()?;
    Some(
        date.duration_since(std::time::SystemTime::now())
            .unwrap_or_default(),
    )
}

fn redirect_policy(max: usize) -> redirect::Policy {
    redirect::Policy::custom(move |attempt| {
        let next = attempt.url();
        if !matches!(next.scheme(), "http" | "https") {
            let scheme = next.scheme().to_string();
            return attempt.error(format!("redirect to a {scheme}: URL refused"));
        }
        let downgrade = attempt
            .previous()
            .last()
            .is_some_and(|prev| prev.scheme() == "https")
            && next.scheme() == "http";
        if downgrade {
            return attempt.error("redirect from https to http refused");
        }
        if attempt.previous().len() > max {
            return attempt.error(format!("more than {max} redirects"));
        }
        attempt.follow()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(header::RETRY_AFTER, "3".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(3)));
        let later = std::time::SystemTime::now() + Duration::from_secs(120);
        headers.insert(
            header::RETRY_AFTER,
            httpdate::fmt_http_date(later).parse().unwrap(),
        );
        let wait = retry_after(&headers).unwrap();
        assert!(wait > Duration::from_secs(100) && wait <= Duration::from_secs(120));
        headers.insert(header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn host_key_includes_the_port() {
        let url = Url::parse("http://127.0.1.5:8099/a").unwrap();
        assert_eq!(host_key(&url), "127.0.1.5:8099");
        let url = Url::parse("https://example.org/a").unwrap();
        assert_eq!(host_key(&url), "example.org:443");
    }

    #[test]
    fn client_errors_are_not_retried() {
        let url = Url::parse("http://example.org/").unwrap();
        let status = |status| {
            Attempt::from(FetchError::Status {
                url: url.clone(),
                status,
            })
        };
        assert!(retry_delay(&status(StatusCode::NOT_FOUND), 0).is_none());
        assert!(retry_delay(&status(StatusCode::SERVICE_UNAVAILABLE), 0).is_some());
        let limited = Attempt {
            error: FetchError::Status {
                url: url.clone(),
                status: StatusCode::TOO_MANY_REQUESTS,
            },
            retry_after: Some(Duration::from_secs(2)),
        };
        assert_eq!(retry_delay(&limited, 0), Some(Duration::from_secs(2)));
    }
}
