//! HTTP fetching shared by feed polls and article fetches.
//!
//! One [`Fetcher`] holds the reqwest client and the politeness state of every
//! host ([`hosts`]): requests in flight per host and in all, a minimum gap between
//! request starts, pauses from `Retry-After`, and backoff after repeated failures.
//! It sends conditional GETs with stored validators, retries transient failures
//! with exponential backoff ([`retry`]), follows redirects itself (so each hop is
//! polite to its own host, non-http schemes and https→http downgrades are refused,
//! and permanent moves are reported), and cuts bodies off at a size limit counted
//! after decompression. Before any connection is opened, [`address_policy`]
//! decides whether the address may be fetched at all (the SSRF guard), for the
//! URL asked for and every redirect hop. [`charset`] turns the raw bytes into text.

pub mod address_policy;
pub mod charset;
mod hosts;
mod retry;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::header::{self, HeaderMap};
use reqwest::{StatusCode, redirect};
use serde::{Deserialize, Serialize};
use tokio::sync::{OwnedSemaphorePermit, watch};
use url::Url;

use crate::config::FetchConfig;
use crate::metrics::Metrics;
use crate::priority::ClassedSlots;
use address_policy::{AddressPolicy, GuardedResolver, NameRefused, Refusal};

pub use crate::priority::Priority;
pub use hosts::{HostPolicy, host_key};
pub use retry::{backoff, retry_after, scaled_backoff};

/// Added to every Retry-After pause: the server starts its clock when it has
/// written the response, a little after redline has read it, so waiting exactly
/// as long as asked can still land a request inside the server's pause.
const RETRY_AFTER_MARGIN: Duration = Duration::from_millis(250);
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
    #[error("{url}: redirect refused: {reason}")]
    Redirect { url: Url, reason: String },
    #[error("refusing to fetch {url}: {refusal}")]
    Refused { url: Url, refusal: Refusal },
}

impl FetchError {
    /// The HTTP status behind the error, if the server answered.
    pub fn status(&self) -> Option<StatusCode> {
        match self {
            FetchError::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether trying again later may succeed (timeouts, resets, 408, 429, 5xx).
    pub fn is_transient(&self) -> bool {
        match self {
            FetchError::Http { .. } => true,
            FetchError::Status { status, .. } => {
                status.is_server_error()
                    || *status == StatusCode::TOO_MANY_REQUESTS
                    || *status == StatusCode::REQUEST_TIMEOUT
            }
            FetchError::TooLarge { .. }
            | FetchError::Client(_)
            | FetchError::Redirect { .. }
            | FetchError::Refused { .. } => false,
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
    /// Set when every redirect on the way was permanent (301/308): the address
    /// the requested URL has moved to for good.
    pub moved_permanently: Option<Url>,
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
    policy: AddressPolicy,
    hosts: hosts::Hosts,
    /// Request slots over all hosts, served by class.
    global: ClassedSlots,
    max_body: u64,
    max_redirects: usize,
    retries: u32,
    /// Longest wait between attempts, and longest host pause.
    ceiling: Duration,
    metrics: Arc<Metrics>,
}

/// One step of a redirect chain.
enum Hop {
    Done(FetchOutcome),
    Redirect { to: Url, permanent: bool },
}

impl Fetcher {
    /// A fetcher with the configured defaults for every host, except the hosts
    /// listed in `overrides`.
    pub fn new(
        config: &FetchConfig,
        overrides: HashMap<String, HostPolicy>,
    ) -> Result<Fetcher, FetchError> {
        let policy = AddressPolicy::from_config(config);
        let client = reqwest::Client::builder()
            .dns_resolver(GuardedResolver::new(policy))
            .user_agent(config.user_agent.clone())
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .timeout(config.timeout)
            .redirect(redirect::Policy::none())
            // Retries are ours (`retry`); reqwest's own (HTTP/2 refusals, not
            // used here) would clone every request in case it is needed.
            .retry(reqwest::retry::never().max_retries_per_request(0))
            .build()
            .map_err(FetchError::Client)?;
        let default = HostPolicy {
            concurrency: config.per_host_concurrency,
            min_delay: config.min_host_delay,
        };
        Ok(Fetcher {
            client,
            policy,
            hosts: hosts::Hosts::new(default, overrides, config.max_backoff),
            global: ClassedSlots::new(config.global_concurrency),
            max_body: config.max_body_mb.saturating_mul(1024 * 1024),
            max_redirects: config.max_redirects,
            retries: config.retries,
            ceiling: config.max_backoff,
            metrics: Arc::new(Metrics::new()),
        })
    }

    /// Records requests, statuses, bytes and latency in `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<Metrics>) -> Fetcher {
        self.metrics = metrics;
        self
    }

    /// GETs `url`, conditionally when `validators` are given, retrying transient
    /// failures (timeouts, resets, 429, 5xx) with backoff.
    pub async fn get(
        &self,
        url: &Url,
        validators: &Validators,
    ) -> Result<FetchOutcome, FetchError> {
        self.get_as(url, validators, Priority::Normal).await
    }

    /// [`Fetcher::get`] queued for its host in class `priority`.
    pub async fn get_as(
        &self,
        url: &Url,
        validators: &Validators,
        priority: Priority,
    ) -> Result<FetchOutcome, FetchError> {
        let priority = watch::Sender::new(priority).subscribe();
        self.get_with(url, validators, priority).await
    }

    /// [`Fetcher::get`] queued for its host by `priority`: each class waits
    /// behind the more urgent ones (see [`Priority`]), with at most one request
    /// per host slot of a lower class waiting ahead. A request whose class is raised
    /// while it waits queues again in its new class.
    pub async fn get_with(
        &self,
        url: &Url,
        validators: &Validators,
        mut priority: watch::Receiver<Priority>,
    ) -> Result<FetchOutcome, FetchError> {
        let mut attempt = 0;
        let mut unexplained = 0;
        let mut kept = None;
        loop {
            let error = match self.follow(url, validators, &mut priority, &mut kept).await {
                Ok(outcome) => return Ok(outcome),
                Err(error) => error,
            };
            if attempt >= self.retries || !error.error.is_transient() {
                return Err(error.error);
            }
            kept = error.kept;
            let wait = retry_wait(error.retry_after, &mut unexplained, self.ceiling);
            tracing::debug!(%url, attempt, wait_ms = wait.as_millis() as u64, error = %error.error, "retrying");
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    /// One attempt, following redirects.
    async fn follow(
        &self,
        url: &Url,
        validators: &Validators,
        priority: &mut watch::Receiver<Priority>,
        kept: &mut Option<KeptSlot>,
    ) -> Result<FetchOutcome, Attempt> {
        let mut current = url.clone();
        let mut permanent = true;
        for hop in 0..=self.max_redirects {
            // Validators belong to the URL asked for, not to where it redirects.
            let sent = if hop == 0 {
                validators.clone()
            } else {
                Validators::default()
            };
            match self.request(&current, &sent, priority, kept).await? {
                Hop::Done(FetchOutcome::Fetched(mut page)) => {
                    if hop > 0 && permanent {
                        page.moved_permanently = Some(page.url.clone());
                    }
                    return Ok(FetchOutcome::Fetched(page));
                }
                Hop::Done(outcome) => return Ok(outcome),
                Hop::Redirect { to, permanent: p } => {
                    check_redirect(&current, &to)?;
                    permanent &= p;
                    current = to;
                }
            }
        }
        let reason = format!("more than {} redirects", self.max_redirects);
        Err(FetchError::Redirect {
            url: url.clone(),
            reason,
        }
        .into())
    }

    /// One request to one host, politely, if the guard allows its address; in
    /// the slot `kept` from an earlier hop or attempt when that was at this host.
    /// A redirect leaves its slot in `kept` for the next hop.
    async fn request(
        &self,
        url: &Url,
        validators: &Validators,
        priority: &mut watch::Receiver<Priority>,
        kept: &mut Option<KeptSlot>,
    ) -> Result<Hop, Attempt> {
        self.policy
            .check_url(url)
            .map_err(|refusal| refused(url, refusal))?;
        let host = self.hosts.get(url);
        let slot = match kept.take().filter(|k| Arc::ptr_eq(&k.host, &host)) {
            Some(k) => match host.slots.urgent_waiting_ahead_of(*priority.borrow()) {
                None => Slot::Kept(k.permit),
                // The slot goes to them; this request keeps its place right
                // behind them rather than queueing again behind its own class.
                Some(ahead) => Slot::Behind(ahead),
            },
            None => Slot::Queue,
        };
        let queued = std::time::Instant::now();
        let (host_permit, _global_permit) = self.acquire(&host, priority, slot).await;
        let request = validators.apply(self.client.get(url.clone()));
        let started = std::time::Instant::now();
        let sent = request.send().await;
        tracing::trace!(%url, priority = ?*priority.borrow(), queued_ms = (started - queued).as_millis() as u64, took_ms = started.elapsed().as_millis() as u64, status = sent.as_ref().map(|r| r.status().as_u16()).unwrap_or(0), "request");
        self.metrics
            .fetch_seconds
            .observe(started.elapsed().as_secs_f64());
        let response = match sent {
            Ok(response) => response,
            Err(source) => {
                if let Some(name) = name_refused(&source) {
                    return Err(refused(url, name.refusal).into());
                }
                self.metrics.response(None);
                host.failed();
                return Err(Attempt::http(url, source));
            }
        };
        let status = response.status();
        self.metrics.response(Some(status.as_u16()));
        if status.is_server_error() {
            host.failed();
        } else {
            host.succeeded();
        }
        if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
            let hop = redirect_target(url, &response).map_err(Attempt::from)?;
            *kept = Some(KeptSlot {
                host: host.clone(),
                permit: host_permit,
            });
            return Ok(hop);
        }
        if status == StatusCode::NOT_MODIFIED {
            self.metrics.not_modified.inc();
            return Ok(Hop::Done(FetchOutcome::NotModified));
        }
        if !status.is_success() {
            let retry_after = retry_after(response.headers());
            let mut kept = None;
            if let Some(wait) = retry_after.filter(|_| asks_to_wait(status)) {
                host.pause_for(wait + RETRY_AFTER_MARGIN);
                kept = Some(KeptSlot {
                    host: host.clone(),
                    permit: host_permit,
                });
            }
            let error = FetchError::Status {
                url: url.clone(),
                status,
            };
            return Err(Attempt {
                error,
                retry_after,
                kept,
            });
        }
        let page = self.read_page(response).await.map_err(Attempt::from)?;
        Ok(Hop::Done(FetchOutcome::Fetched(Box::new(page))))
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
        self.metrics.bytes.inc_by(body.len() as u64);
        Ok(Page {
            content_type: header_text(&headers, header::CONTENT_TYPE),
            content_language: header_text(&headers, header::CONTENT_LANGUAGE),
            validators: Validators::from_headers(&headers),
            moved_permanently: None,
            url,
            body: body.freeze(),
        })
    }

    /// Waits for a slot on the host (unless one is `kept`), its pause and its
    /// start spacing, then for a global slot (in that order, so that requests
    /// queued behind a busy host do not hold global slots), each in its class.
    async fn acquire(
        &self,
        host: &hosts::HostState,
        priority: &mut watch::Receiver<Priority>,
        slot: Slot,
    ) -> (OwnedSemaphorePermit, OwnedSemaphorePermit) {
        let (host_permit, class) = match slot {
            Slot::Kept(permit) => (permit, *priority.borrow()),
            Slot::Behind(class) => (host.slots.acquire(class).await, class),
            Slot::Queue => (
                host.slots.acquire_raisable(priority).await,
                *priority.borrow(),
            ),
        };
        host.ready().await;
        (host_permit, self.global.acquire(class).await)
    }
}

fn refused(url: &Url, refusal: Refusal) -> FetchError {
    tracing::warn!(%url, %refusal, "fetch refused");
    FetchError::Refused {
        url: url.clone(),
        refusal,
    }
}

/// The guard's refusal behind a failed request, when the host name resolved
/// to refused addresses only.
fn name_refused(error: &reqwest::Error) -> Option<&NameRefused> {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(error) = source {
        if let Some(refusal) = error.downcast_ref::<NameRefused>() {
            return Some(refusal);
        }
        source = error.source();
    }
    None
}

fn header_text(headers: &HeaderMap, name: header::HeaderName) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// Where a 3xx response points.
fn redirect_target(url: &Url, response: &reqwest::Response) -> Result<Hop, FetchError> {
    let refused = |reason: &str| FetchError::Redirect {
        url: url.clone(),
        reason: reason.to_string(),
    };
    let location = header_text(response.headers(), header::LOCATION)
        .ok_or_else(|| refused("no Location header"))?;
    let to = url
        .join(&location)
        .map_err(|e| refused(&format!("bad Location {location:?}: {e}")))?;
    let status = response.status();
    let permanent =
        status == StatusCode::MOVED_PERMANENTLY || status == StatusCode::PERMANENT_REDIRECT;
    Ok(Hop::Redirect { to, permanent })
}

/// Refuses redirects to other schemes than http(s) and from https to http.
fn check_redirect(from: &Url, to: &Url) -> Result<(), FetchError> {
    let reason = if !matches!(to.scheme(), "http" | "https") {
        format!("to a {}: URL", to.scheme())
    } else if from.scheme() == "https" && to.scheme() == "http" {
        "from https to http".to_string()
    } else {
        return Ok(());
    };
    Err(FetchError::Redirect {
        url: from.clone(),
        reason,
    })
}

/// Statuses whose Retry-After holds for the whole host.
fn asks_to_wait(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS || status == StatusCode::SERVICE_UNAVAILABLE
}

/// How long to wait before the next attempt: the server's Retry-After when it
/// sent one (capped at `ceiling`), else exponential backoff. Only failures the
/// server did not explain (`unexplained`, counted here) grow the backoff: a 500
/// after two 429s that were waited out as asked is a first unexplained failure,
/// not a third.
fn retry_wait(retry_after: Option<Duration>, unexplained: &mut u32, ceiling: Duration) -> Duration {
    match retry_after {
        Some(asked) => asked.min(ceiling),
        None => {
            let wait = backoff(*unexplained, ceiling);
            *unexplained += 1;
            wait
        }
    }
}

/// How a request gets its host slot.
enum Slot {
    /// In the slot it kept.
    Kept(OwnedSemaphorePermit),
    /// It gave its kept slot to the more urgent requests waiting, and queues in
    /// their class, right behind them.
    Behind(Priority),
    /// It queues in its class.
    Queue,
}

/// A failed attempt with the server's Retry-After, if it sent one.
struct Attempt {
    error: FetchError,
    retry_after: Option<Duration>,
    /// The host slot, kept when the host asked to wait.
    kept: Option<KeptSlot>,
}

/// A host slot kept for what comes next of the same fetch, so that it does not
/// queue again behind every request that came after it: the next hop of a
/// redirect (a feed link that redirects to the article on the same host is one
/// fetch, not two turns in the queue), and the retry of a request that its host
/// asked to wait (429 or 503 with Retry-After: while the host is paused no
/// request starts there anyway, and once the pause is over the refused request
/// goes first). It is released instead when the next request is at another
/// host, or when a request of a more urgent class waits at this one by then: a
/// kept slot never lets a request overtake those, but it then queues in their
/// class, right behind them, not behind every request of its own.
struct KeptSlot {
    host: Arc<hosts::HostState>,
    permit: OwnedSemaphorePermit,
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
            kept: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_failures_without_retry_after_grow_the_backoff() {
        let ceiling = Duration::from_secs(60);
        let mut unexplained = 0;
        let asked = Some(Duration::from_secs(2));
        assert_eq!(
            retry_wait(asked, &mut unexplained, ceiling),
            Duration::from_secs(2)
        );
        assert_eq!(
            retry_wait(asked, &mut unexplained, ceiling),
            Duration::from_secs(2)
        );
        let first = retry_wait(None, &mut unexplained, ceiling);
        assert!(first <= retry::BACKOFF_BASE * 3 / 2, "{first:?}");
        let second = retry_wait(None, &mut unexplained, ceiling);
        assert!(second >= retry::BACKOFF_BASE * 2, "{second:?}");
        let long = Some(Duration::from_secs(600));
        assert_eq!(retry_wait(long, &mut unexplained, ceiling), ceiling);
    }

    #[test]
    fn client_errors_are_not_transient() {
        let url = Url::parse("http://example.org/").unwrap();
        let status = |status| FetchError::Status {
            url: url.clone(),
            status,
        };
        assert!(!status(StatusCode::NOT_FOUND).is_transient());
        assert!(!status(StatusCode::GONE).is_transient());
        assert!(status(StatusCode::SERVICE_UNAVAILABLE).is_transient());
        assert!(status(StatusCode::TOO_MANY_REQUESTS).is_transient());
    }

    #[test]
    fn redirects_to_other_schemes_and_downgrades_are_refused() {
        let https = Url::parse("https://example.org/a").unwrap();
        let http = Url::parse("http://example.org/b").unwrap();
        let ftp = Url::parse("ftp://example.org/c").unwrap();
        assert!(check_redirect(&https, &http).is_err());
        assert!(check_redirect(&http, &ftp).is_err());
        assert!(check_redirect(&http, &https).is_ok());
    }
}
