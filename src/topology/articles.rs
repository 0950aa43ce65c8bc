//! Article tasks: fetch a page, extract it, and store it as version 1 or as a new
//! version when its text changed, with the alert that says so.

use std::sync::Arc;

use chrono::Utc;
use url::Url;

use super::Context;
use crate::alerts::{Alert, AlertDiff, Event};
use crate::canonical;
use crate::diff::{self, Side};
use crate::extract::{self, Extracted};
use crate::fetch::charset::{self, DocKind};
use crate::fetch::{FetchOutcome, Page, Validators};
use crate::store::{ArticleRecord, Commit, StoreError, Version};

/// A link found in a feed that leads to no stored article yet.
pub(super) struct NewArticle {
    pub link: Url,
    pub feed: String,
    pub feed_title: Option<String>,
    pub feed_language: Option<String>,
}

/// Fetches a newly discovered link and stores the article behind it.
pub(super) async fn discover(ctx: Arc<Context>, job: NewArticle) {
    let key = job.link.to_string();
    let result = discover_inner(&ctx, &job).await;
    if let Err(error) = result {
        tracing::warn!(url = %job.link, feed = %job.feed, %error, "article not stored; will retry on the next feed poll");
        ctx.request_refetch(&job.feed);
    }
    ctx.end(&key);
}

async fn discover_inner(ctx: &Context, job: &NewArticle) -> Result<(), String> {
    let no_validators = Validators::default();
    let fetched = tokio::select! {
        _ = ctx.shutdown.cancelled() => return Ok(()),
        fetched = ctx.fetcher.get(&job.link, &no_validators) => fetched,
    };
    let page = match fetched.map_err(|e| e.to_string())? {
        FetchOutcome::Fetched(page) => page,
        FetchOutcome::NotModified => {
            return Err("unexpected 304 to an unconditional request".into());
        }
    };
    let extracted = extract_page(ctx, &page).await;
    let canonical = canonical_url(&extracted, &page);
    let id = canonical::article_id(&canonical);
    let links = link_set(&[&job.link, &page.url, &canonical]);
    let _guard = ctx.article_lock(&id).lock().await;
    let fetch = Fetched {
        extracted,
        validators: page.validators,
        fallback_title: job.feed_title.clone(),
        links,
    };
    match ctx.store.article(&id).map_err(|e| e.to_string())? {
        Some(article) => apply(ctx, article, fetch).await.map_err(|e| e.to_string()),
        None => {
            let language = fetch
                .extracted
                .language
                .clone()
                .or(job.feed_language.clone());
            let new = Arrival {
                id,
                url: canonical,
                feed: job.feed.clone(),
                language,
            };
            store_new(ctx, new, fetch).await.map_err(|e| e.to_string())
        }
    }
}

/// Fetches a stored article again and records a new version if it changed.
pub(super) async fn revisit(ctx: Arc<Context>, id: String) {
    if let Err(error) = revisit_inner(&ctx, &id).await {
        tracing::warn!(id = %id, %error, "revisit failed");
    }
    ctx.end(&id);
}

async fn revisit_inner(ctx: &Context, id: &str) -> Result<(), String> {
    let Some(article) = ctx.store.article(id).map_err(|e| e.to_string())? else {
        return Ok(());
    };
    let url = Url::parse(&article.url).map_err(|e| format!("{}: {e}", article.url))?;
    let fetched = tokio::select! {
        _ = ctx.shutdown.cancelled() => return Ok(()),
        fetched = ctx.fetcher.get(&url, &article.validators) => fetched,
    };
    let _guard = ctx.article_lock(id).lock().await;
    let Some(article) = ctx.store.article(id).map_err(|e| e.to_string())? else {
        return Ok(());
    };
    match fetched {
        Ok(FetchOutcome::NotModified) => {
            tracing::debug!(url = %article.url, "article not modified");
            reschedule(ctx, article, None).map_err(|e| e.to_string())
        }
        Ok(FetchOutcome::Fetched(page)) => {
            let extracted = extract_page(ctx, &page).await;
            let fetch = Fetched {
                extracted,
                validators: page.validators,
                fallback_title: None,
                links: Vec::new(),
            };
            apply(ctx, article, fetch).await.map_err(|e| e.to_string())
        }
        Err(error) => {
            reschedule(ctx, article, None).map_err(|e| e.to_string())?;
            Err(error.to_string())
        }
    }
}

/// A page fetched and extracted, ready to be compared with what is stored.
struct Fetched {
    extracted: Extracted,
    validators: Validators,
    fallback_title: Option<String>,
    links: Vec<String>,
}

impl Fetched {
    fn title(&self) -> String {
        let title = self.extracted.title.clone().or(self.fallback_title.clone());
        title.unwrap_or_default()
    }
}

/// Where a new article comes from.
struct Arrival {
    id: String,
    url: Url,
    feed: String,
    language: Option<String>,
}

async fn extract_page(ctx: &Context, page: &Page) -> Extracted {
    let body = page.body.clone();
    let content_type = page.content_type.clone();
    let content_language = page.content_language.clone();
    let url = page.url.clone();
    ctx.cpu(move || {
        let text = charset::decode(&body, content_type.as_deref(), DocKind::Html, None).text;
        let mut extracted = extract::extract(&text, &url);
        if extracted.language.is_none() {
            extracted.language = content_language
                .as_deref()
                .and_then(extract::primary_language);
        }
        extracted
    })
    .await
}

/// The page's canonical link when it is plausible, else the URL it was served from.
fn canonical_url(extracted: &Extracted, page: &Page) -> Url {
    let own = canonical::canonicalize(page.url.clone());
    match &extracted.canonical {
        // A canonical pointing at a site's front page is a template mistake.
        Some(c) if c.path() == "/" && own.path() != "/" => own,
        Some(c) => c.clone(),
        None => own,
    }
}

fn link_set(urls: &[&Url]) -> Vec<String> {
    let mut links: Vec<String> = urls
        .iter()
        .map(|u| canonical::canonicalize((*u).clone()).to_string())
        .collect();
    links.sort();
    links.dedup();
    links
}

async fn store_new(ctx: &Context, new: Arrival, fetch: Fetched) -> Result<(), StoreError> {
    if fetch.extracted.paragraphs.is_empty() {
        tracing::warn!(url = %new.url, "no article text found on the page; not stored");
        return Ok(());
    }
    let now = Utc::now();
    let title = fetch.title();
    let body = fetch.extracted.body();
    let version = Version {
        number: 1,
        content_hash: Version::hash_content(&title, &body),
        title: title.clone(),
        body,
        first_seen: now,
    };
    let article = ArticleRecord {
        id: new.id,
        url: new.url.to_string(),
        feed: new.feed,
        title,
        language: new.language,
        first_seen: now,
        last_changed: now,
        last_checked: now,
        versions: 1,
        next_check: ctx.revisits.next_check(now, now),
        validators: fetch.validators,
    };
    ctx.store.commit(&Commit {
        article: Some(&article),
        version: Some(&version),
        links: &fetch.links,
        previous_check: None,
    })?;
    tracing::info!(id = %article.id, url = %article.url, feed = %article.feed, "new article");
    emit(ctx, &article, &version, None).await;
    Ok(())
}

/// Compares a fetch with the latest stored version; stores a new version (and
/// alerts) when the title or body changed, else only moves the revisit on.
async fn apply(
    ctx: &Context,
    mut article: ArticleRecord,
    fetch: Fetched,
) -> Result<(), StoreError> {
    let latest = ctx.store.version(&article.id, article.versions)?;
    let title = fetch.title();
    let body = fetch.extracted.body();
    let hash = Version::hash_content(&title, &body);
    let unchanged = latest.as_ref().is_some_and(|v| v.content_hash == hash);
    article.validators = fetch.validators;
    if unchanged || fetch.extracted.paragraphs.is_empty() {
        if fetch.extracted.paragraphs.is_empty() {
            tracing::warn!(url = %article.url, "no article text found on the page; keeping the stored version");
        }
        return reschedule_with_links(ctx, article, None, &fetch.links);
    }
    let now = Utc::now();
    let version = Version {
        number: article.versions + 1,
        title: title.clone(),
        body,
        content_hash: hash,
        first_seen: now,
    };
    article.versions = version.number;
    article.title = title;
    article.last_changed = now;
    article.language = article.language.or(fetch.extracted.language.clone());
    reschedule_with_links(ctx, article.clone(), Some(&version), &fetch.links)?;
    tracing::info!(id = %article.id, url = %article.url, version = version.number, "article updated");
    emit(ctx, &article, &version, latest.as_ref()).await;
    Ok(())
}

fn reschedule(
    ctx: &Context,
    article: ArticleRecord,
    version: Option<&Version>,
) -> Result<(), StoreError> {
    reschedule_with_links(ctx, article, version, &[])
}

/// Stores the article with its next revisit time (and a new version, if any).
fn reschedule_with_links(
    ctx: &Context,
    mut article: ArticleRecord,
    version: Option<&Version>,
    links: &[String],
) -> Result<(), StoreError> {
    let now = Utc::now();
    let previous_check = article.next_check;
    article.last_checked = now;
    article.next_check = ctx.revisits.next_check(article.first_seen, now);
    ctx.store.commit(&Commit {
        article: Some(&article),
        version,
        links,
        previous_check,
    })
}

async fn emit(
    ctx: &Context,
    article: &ArticleRecord,
    version: &Version,
    previous: Option<&Version>,
) {
    let diff = match previous {
        Some(prev) => Some(version_diff(ctx, prev, version).await),
        None => None,
    };
    let alert = Alert {
        event: if previous.is_some() {
            Event::Updated
        } else {
            Event::New
        },
        id: article.id.clone(),
        url: article.url.clone(),
        version: version.number,
        previous_version: previous.map(|p| p.number),
        title: version.title.clone(),
        feed: article.feed.clone(),
        language: article.language.clone(),
        topics: Vec::new(),
        detected_at: version.first_seen,
        diff,
    };
    if ctx.alerts.send(alert).await.is_err() {
        tracing::error!(url = %article.url, "alert channel closed; alert dropped");
    }
}

async fn version_diff(ctx: &Context, old: &Version, new: &Version) -> AlertDiff {
    let (old, new) = (old.clone(), new.clone());
    ctx.cpu(move || {
        let old_label = format!("version {}", old.number);
        let new_label = format!("version {}", new.number);
        let d = diff::diff(
            Side {
                title: &old.title,
                body: &old.body,
                label: &old_label,
            },
            Side {
                title: &new.title,
                body: &new.body,
                label: &new_label,
            },
        );
        AlertDiff::from(&d)
    })
    .await
}
