//! Article tasks: fetch a page, extract it, and store it as version 1 or, when
//! the change detector says its text changed, as a new version — with the alert
//! that says so. Revisits also notice pages that are taken down (410, or 404
//! twice in a row: `removed`) or redirect for good to another URL (`moved`).

use std::sync::Arc;

use chrono::Utc;
use reqwest::StatusCode;
use url::Url;

use super::underway::Underway;
use super::{Context, story_window};
use crate::alerts::{Alert, AlertDiff, Event};
use crate::canonical;
use crate::changes::{Change, ChangeClass, CleanText, Verdict};
use crate::dedup::{self, ChangeSignature, Clusters, StoredFingerprint};
use crate::extract::{self, Extracted};
use crate::fetch::charset::{self, DocKind};
use crate::fetch::{FetchError, FetchOutcome, Page, Priority, Validators, host_key};
use crate::store::{ArticleRecord, Commit, Due, RawSnapshot, Removal, StoreError, Version};
use crate::topics::Document;

/// A link found in a feed that leads to no stored article yet.
pub(super) struct NewArticle {
    pub link: Url,
    /// The class its fetch queues in at its host.
    pub priority: Priority,
    pub feed: String,
    pub feed_title: Option<String>,
    pub feed_language: Option<String>,
}

/// Fetches a newly discovered link and stores the article behind it.
pub(super) async fn discover(ctx: Arc<Context>, job: NewArticle) {
    let key = job.link.to_string();
    if let Err(error) = discover_inner(&ctx, &job).await {
        tracing::warn!(url = %job.link, feed = %job.feed, %error, "article not stored; will retry on the next feed poll");
        ctx.request_refetch(&job.feed);
    }
    ctx.end(&key);
}

async fn discover_inner(ctx: &Context, job: &NewArticle) -> Result<(), String> {
    if !ctx.writable(&ctx.shutdown).await {
        return Ok(());
    }
    let no_validators = Validators::default();
    let fetched = tokio::select! {
        _ = ctx.shutdown.cancelled() => return Ok(()),
        fetched = ctx.fetcher.get_as(&job.link, &no_validators, job.priority) => fetched,
    };
    let page = match fetched.map_err(|e| e.to_string())? {
        FetchOutcome::Fetched(page) => *page,
        FetchOutcome::NotModified => {
            return Err("unexpected 304 to an unconditional request".into());
        }
    };
    // Boxed: the task's own future stays small (about 1.3 KB of fetch instead
    // of 10 KB) while it waits for its host, as thousands do at a first ingest.
    Box::pin(store_page(ctx, job, page)).await
}

/// Extracts and stores a newly fetched page: a new article, a move of a stored
/// one, or a new version of one already stored under its canonical URL.
async fn store_page(ctx: &Context, job: &NewArticle, page: Page) -> Result<(), String> {
    let extracted = extract_page(ctx, &page, job.priority).await;
    let canonical = canonical_url(&extracted, &page);
    let id = canonical::article_id(&canonical);
    let links = link_set(&[&job.link, &page.url, &canonical]);
    let host = host_key(&canonical);
    let title = extracted
        .title
        .clone()
        .or(job.feed_title.clone())
        .unwrap_or_default();
    let mut fetch = Fetched {
        text: ctx.detector.clean(&host, &title, &extracted.paragraphs),
        raw: snapshot(&page),
        validators: page.validators,
        language: extracted.language.or(job.feed_language.clone()),
        links,
        fingerprint: None,
    };
    if ctx.store.article(&id).map_err(|e| e.to_string())?.is_none()
        && let Some(old) = moved_from(ctx, &id, &host, &mut fetch, job.priority).await
    {
        return moved_here(ctx, &old, &canonical, fetch)
            .await
            .map_err(|e| e.to_string());
    }
    let _guard = ctx.article_lock(&id).lock().await;
    let stored = ctx.store.article(&id).map_err(|e| e.to_string())?;
    match stored {
        Some(article) => apply(ctx, article, fetch).await,
        None => store_new(ctx, id, canonical, job.feed.clone(), fetch).await,
    }
    .map_err(|e| e.to_string())
}

/// Whether a feed item's title suggests a watched topic: its article's fetch
/// then goes ahead of the others at its host (at a first ingest, or on a host
/// slowed by rate limits or errors, an edit that comes before the first fetch
/// is never seen).
pub(super) fn looks_on_topic(ctx: &Context, title: Option<&str>, language: Option<&str>) -> bool {
    title.is_some_and(|t| ctx.topics.headline_suggests(t, language))
}

/// The class a feed item's article is fetched in: urgent when it is on (or
/// looks on) a topic.
pub(super) fn item_class(on_topic: bool) -> Priority {
    if on_topic {
        Priority::Urgent
    } else {
        Priority::Normal
    }
}

/// Why a stored article is fetched again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Revisit {
    /// Its revisit time came: background work, behind feed polls at its host.
    Scheduled(Due),
    /// Its feed item changed (the article, by id, very likely did too).
    FeedItemChanged(String),
}

impl Revisit {
    fn id(&self) -> &str {
        match self {
            Revisit::Scheduled(due) => &due.id,
            Revisit::FeedItemChanged(id) => id,
        }
    }
}

/// Fetches a stored article again and records a new version if it changed; once
/// more if its feed item changed after the page was fetched.
pub(super) async fn revisit(ctx: Arc<Context>, mut why: Revisit, task: Arc<Underway>) {
    loop {
        if let Err(error) = revisit_inner(&ctx, &why, &task).await {
            tracing::warn!(id = %why.id(), %error, "revisit failed");
        }
        if ctx.shutdown.is_cancelled() {
            ctx.end(why.id());
            return;
        }
        if ctx.underway.end_unless_signalled(why.id(), &task) {
            return;
        }
        tracing::debug!(id = %why.id(), "feed item changed during the revisit; looking again");
        why = Revisit::FeedItemChanged(why.id().to_string());
    }
}

async fn revisit_inner(ctx: &Context, why: &Revisit, task: &Underway) -> Result<(), String> {
    let id = why.id();
    let stored = ctx.store.article(id).map_err(|e| e.to_string())?;
    if let Revisit::Scheduled(due) = why
        && !stored.as_ref().is_some_and(|a| due.is_current(a))
    {
        tracing::debug!(id, "stale revisit queue entry dropped");
        return ctx.store.remove_due(due).map_err(|e| e.to_string());
    }
    let Some(article) = stored else {
        return Ok(());
    };
    if let Revisit::Scheduled(due) = why {
        tracing::trace!(id, url = %article.url, late_ms = (Utc::now() - due.at).num_milliseconds(), "revisit started");
    }
    if !ctx.writable(&ctx.shutdown).await {
        return Ok(());
    }
    let url =
        Url::parse(article.fetch_url()).map_err(|e| format!("{}: {e}", article.fetch_url()))?;
    let fetched = tokio::select! {
        _ = ctx.shutdown.cancelled() => return Ok(()),
        fetched = async {
            task.raise(revisit_priority(ctx, why, &article));
            ctx.fetcher.get_with(&url, &article.validators, task.priority()).await
        } => fetched,
    };
    task.fetched();
    // Extracted before the article's lock is taken: a revisit waits for the
    // CPU behind more urgent work, and must not hold up others meanwhile.
    let fetched = match fetched {
        Ok(FetchOutcome::Fetched(page)) => {
            let class = *task.priority().borrow();
            let extracted = extract_page(ctx, &page, class).await;
            Ok(Some((page, extracted)))
        }
        Ok(FetchOutcome::NotModified) => Ok(None),
        Err(error) => Err(error),
    };
    let _guard = ctx.article_lock(id).lock().await;
    let Some(mut article) = ctx.store.article(id).map_err(|e| e.to_string())? else {
        return Ok(());
    };
    let result = match fetched {
        Ok(None) => {
            article.not_found_strikes = 0;
            reschedule(ctx, article, &[]).await
        }
        // Boxed, as in `discover_inner`: up to REVISITS_RUNNING revisits wait for their hosts.
        Ok(Some((page, extracted))) => Box::pin(revisited(ctx, article, *page, extracted)).await,
        Err(error) => return Box::pin(failed_revisit(ctx, article, &error)).await,
    };
    result.map_err(|e| e.to_string())
}

/// How a revisit queues for its host: a changed feed item like a new article
/// (or more urgently, as [`super::poller`] raised it); scheduled revisits of
/// articles on a topic, or whose story just changed,
/// ahead of the others (on a host slowed by rate limits, they are the ones an
/// alert depends on). A scheduled revisit is raised while it waits if its feed
/// item changes meanwhile.
fn revisit_priority(ctx: &Context, why: &Revisit, article: &ArticleRecord) -> Priority {
    match why {
        Revisit::FeedItemChanged(_) => Priority::Normal,
        Revisit::Scheduled(_) if !article.topics.is_empty() || ctx.hot.is_hot(&article.id) => {
            Priority::Watched
        }
        Revisit::Scheduled(_) => Priority::Background,
    }
}

/// A revisit that got a page: notices a permanent move, then compares the text.
async fn revisited(
    ctx: &Context,
    mut article: ArticleRecord,
    page: Page,
    extracted: Extracted,
) -> Result<(), StoreError> {
    article.not_found_strikes = 0;
    let mut links = Vec::new();
    if page.moved_permanently.is_some() {
        let to = canonical_url(&extracted, &page);
        let known = [article.url.as_str(), article.fetch_url()];
        if !known.contains(&to.as_str()) {
            links = link_set(&[&to, &page.url]);
            record_move(ctx, &mut article, &to, &links).await?;
        }
    }
    let host = host_key(&page.url);
    let title = extracted
        .title
        .clone()
        .unwrap_or_else(|| article.title.clone());
    let fetch = Fetched {
        text: ctx.detector.clean(&host, &title, &extracted.paragraphs),
        raw: snapshot(&page),
        validators: page.validators,
        language: extracted.language,
        links,
        fingerprint: None,
    };
    apply(ctx, article, fetch).await
}

/// Records that `article` now lives at `to`, reached through `links`, with its
/// `moved` alert.
async fn record_move(
    ctx: &Context,
    article: &mut ArticleRecord,
    to: &Url,
    links: &[String],
) -> Result<(), StoreError> {
    tracing::info!(id = %article.id, url = %article.url, moved_to = %to, "article moved");
    article.moved_to = Some(to.to_string());
    let commit = Commit {
        article: Some(article),
        links,
        previous_check: article.next_check,
        ..Commit::default()
    };
    commit_with_alert(ctx, commit, Some(event_alert(article, Event::Moved))).await
}

/// The stored article that a newly found URL (`id`, on `host`) is a move of: one
/// on the same host whose current title and text are identical, or nearly so and
/// whose own URL now redirects to `id`. A site that moves an article links the new
/// URL in its feed, often before the old one is revisited and seen to redirect,
/// and sometimes edits it in the same breath. Keeps the fetch's fingerprint in
/// `fetch` for its story.
async fn moved_from(
    ctx: &Context,
    id: &str,
    host: &str,
    fetch: &mut Fetched,
    class: Priority,
) -> Option<String> {
    let (title, body) = (fetch.text.title.clone(), fetch.text.body.clone());
    let language = fetch.language.clone();
    let fp = ctx
        .cpu(class, move || {
            dedup::fingerprint(&title, &body, language.as_deref())
        })
        .await;
    let similar = ctx
        .clusters
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .similar(&fp);
    fetch.fingerprint = Some(fp);
    let hash = Version::hash_content(&fetch.text.title, &fetch.text.body);
    let live_here = |a: &ArticleRecord| {
        a.id != id
            && a.removed.is_none()
            && a.moved_to.is_none()
            && Url::parse(a.fetch_url()).is_ok_and(|u| host_key(&u) == host)
    };
    let candidates: Vec<ArticleRecord> = similar
        .iter()
        .filter_map(|other| ctx.store.article(other).ok().flatten())
        .filter(live_here)
        .collect();
    let identical = candidates.iter().find(|a| {
        ctx.store
            .version(&a.id, a.versions)
            .ok()
            .flatten()
            .is_some_and(|v| v.content_hash == hash)
    });
    if let Some(a) = identical {
        return Some(a.id.clone());
    }
    for a in &candidates {
        if redirects_to(ctx, a, id).await {
            return Some(a.id.clone());
        }
    }
    None
}

/// Whether `article`'s URL now answers with a permanent redirect to article `id`.
async fn redirects_to(ctx: &Context, article: &ArticleRecord, id: &str) -> bool {
    let Ok(url) = Url::parse(article.fetch_url()) else {
        return false;
    };
    match ctx.fetcher.get(&url, &Validators::default()).await {
        Ok(FetchOutcome::Fetched(page)) => {
            page.moved_permanently.is_some() && canonical::article_id(&page.url) == id
        }
        _ => false,
    }
}

/// A newly found URL that is where the stored article `old` moved to.
async fn moved_here(ctx: &Context, old: &str, to: &Url, fetch: Fetched) -> Result<(), StoreError> {
    let _guard = ctx.article_lock(old).lock().await;
    let Some(mut article) = ctx.store.article(old)? else {
        return Ok(());
    };
    record_move(ctx, &mut article, to, &fetch.links).await?;
    apply(ctx, article, fetch).await
}

/// A revisit that failed: 410, or a second 404 in a row, means the article was
/// taken down; anything else is tried again at the next revisit.
async fn failed_revisit(
    ctx: &Context,
    mut article: ArticleRecord,
    error: &FetchError,
) -> Result<(), String> {
    let status = error.status();
    if status == Some(StatusCode::NOT_FOUND) {
        article.not_found_strikes += 1;
    }
    let gone = status == Some(StatusCode::GONE) || article.not_found_strikes >= 2;
    if gone && article.removed.is_none() {
        let code = status.map_or(0, |s| s.as_u16());
        tracing::info!(id = %article.id, url = %article.url, status = code, "article removed");
        article.removed = Some(Removal {
            status: code,
            at: Utc::now(),
        });
        let previous_check = article.next_check.take();
        let commit = Commit {
            article: Some(&article),
            previous_check,
            ..Commit::default()
        };
        let alert = event_alert(&article, Event::Removed);
        return commit_with_alert(ctx, commit, Some(alert))
            .await
            .map_err(|e| e.to_string());
    }
    reschedule(ctx, article, &[])
        .await
        .map_err(|e| e.to_string())?;
    Err(error.to_string())
}

/// A page fetched, extracted and cleaned, ready to be compared with what is stored.
struct Fetched {
    text: CleanText,
    /// The page as served, kept with a new version.
    raw: RawSnapshot,
    validators: Validators,
    language: Option<String>,
    links: Vec<String>,
    /// The text's fingerprint, once computed.
    fingerprint: Option<dedup::Fingerprint>,
}

fn snapshot(page: &Page) -> RawSnapshot {
    RawSnapshot {
        url: page.url.to_string(),
        content_type: page.content_type.clone(),
        content_language: page.content_language.clone(),
        fetched_at: Utc::now(),
        body: page.body.clone(),
    }
}

async fn extract_page(ctx: &Context, page: &Page, class: Priority) -> Extracted {
    let body = page.body.clone();
    let content_type = page.content_type.clone();
    let content_language = page.content_language.clone();
    let url = page.url.clone();
    let metrics = ctx.metrics.clone();
    let rules = ctx.rules.clone();
    ctx.cpu(class, move || {
        let started = std::time::Instant::now();
        let text = charset::decode(&body, content_type.as_deref(), DocKind::Html, None).text;
        let extracted = extract::extract_served(&text, &url, content_language.as_deref(), &rules);
        metrics
            .extract_seconds
            .observe(started.elapsed().as_secs_f64());
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

async fn store_new(
    ctx: &Context,
    id: String,
    url: Url,
    feed: String,
    fetch: Fetched,
) -> Result<(), StoreError> {
    if fetch.text.body.is_empty() {
        tracing::warn!(%url, "no article text found on the page; not stored");
        return Ok(());
    }
    let now = Utc::now();
    let version = Version {
        number: 1,
        content_hash: Version::hash_content(&fetch.text.title, &fetch.text.body),
        title: fetch.text.title.clone(),
        body: fetch.text.body,
        first_seen: now,
        reverts_to: None,
        changes: Vec::new(),
    };
    let mut article = ArticleRecord {
        id,
        url: url.to_string(),
        feed,
        title: fetch.text.title,
        language: fetch.language,
        first_seen: now,
        last_changed: now,
        last_checked: now,
        versions: 1,
        next_check: ctx.revisits.next_check(now, now),
        validators: fetch.validators,
        moved_to: None,
        removed: None,
        not_found_strikes: 0,
        topics: Vec::new(),
        cluster: None,
    };
    let story = annotate(ctx, &mut article, &version, fetch.fingerprint).await;
    let commit = Commit {
        article: Some(&article),
        version: Some(&version),
        links: &fetch.links,
        fingerprint: story.record.as_deref(),
        raw: Some(&fetch.raw),
        ..Commit::default()
    };
    commit_with_alert(ctx, commit, Some(version_alert(&article, &version, None))).await?;
    tracing::info!(id = %article.id, url = %article.url, feed = %article.feed, "new article");
    Ok(())
}

/// Compares a fetch with the stored versions; stores a new version (and alerts,
/// unless it is minor rewording or a flip-flop already announced) when the text
/// changed, else only moves the revisit on.
async fn apply(
    ctx: &Context,
    mut article: ArticleRecord,
    fetch: Fetched,
) -> Result<(), StoreError> {
    article.validators = fetch.validators;
    if fetch.text.body.is_empty() {
        tracing::warn!(url = %article.url, "no article text found on the page; keeping the stored version");
        return reschedule(ctx, article, &fetch.links).await;
    }
    // Most revisits find the text as stored: that needs the latest version only.
    let latest = ctx.store.version(&article.id, article.versions)?;
    if latest.is_some_and(|v| v.title == fetch.text.title && v.body == fetch.text.body) {
        return reschedule(ctx, article, &fetch.links).await;
    }
    let history = ctx.store.versions(&article.id)?;
    let host = Url::parse(article.fetch_url())
        .map(|u| host_key(&u))
        .unwrap_or_default();
    let change = match ctx
        .detector
        .compare(&host, &article.id, &history, &fetch.text)
    {
        Verdict::Unchanged => return reschedule(ctx, article, &fetch.links).await,
        Verdict::Changed(change) => change,
    };
    let now = Utc::now();
    let version = Version {
        number: article.versions + 1,
        content_hash: Version::hash_content(&fetch.text.title, &fetch.text.body),
        title: fetch.text.title.clone(),
        body: fetch.text.body,
        first_seen: now,
        reverts_to: change.reverts_to,
        changes: change.classes.clone(),
    };
    article.versions = version.number;
    article.title = fetch.text.title;
    article.last_changed = now;
    article.language = article.language.or(fetch.language);
    let story = annotate(ctx, &mut article, &version, None).await;
    let alert = worth_alerting(ctx, &change, &history)
        .then(|| version_alert(&article, &version, Some(&change)));
    tracing::info!(id = %article.id, url = %article.url, version = version.number, changes = ?change.classes, alerted = alert.is_some(), "article updated");
    let update = (!story.copies.is_empty()).then(|| ChangeSignature::of(&change.diff));
    let story_ids = story.copies.iter().map(String::as_str);
    ctx.hot.warm(story_ids.chain([article.id.as_str()]));
    let new = NewVersion {
        version: &version,
        raw: &fetch.raw,
        fingerprint: story.record.as_deref(),
        alert,
        update,
    };
    reschedule_with(ctx, article, &fetch.links, Some(new)).await
}

/// A new version to commit with what goes with it.
struct NewVersion<'a> {
    version: &'a Version,
    /// The page it was extracted from.
    raw: &'a RawSnapshot,
    fingerprint: Option<&'a [u8]>,
    alert: Option<Alert>,
    /// The change's signature, when the article's story has other copies.
    update: Option<ChangeSignature>,
}

/// What [`annotate`] learnt about the article's story.
struct StoryPlace {
    /// The fingerprint record to store with the version.
    record: Option<Vec<u8>>,
    /// The other articles that are copies of the same story.
    copies: Vec<String>,
}

/// Sets the topics and the story of `article` from its new `version` (whose
/// fingerprint may be `known` already); returns the version's fingerprint
/// record for the story clusters.
async fn annotate(
    ctx: &Context,
    article: &mut ArticleRecord,
    version: &Version,
    known: Option<dedup::Fingerprint>,
) -> StoryPlace {
    let (title, body, language) = (
        version.title.clone(),
        version.body.clone(),
        article.language.clone(),
    );
    let topic_set = ctx.topics.clone();
    // A new version: its alert waits on this, so it goes ahead of revisits.
    let (topics, fingerprint) = ctx
        .cpu(Priority::Normal, move || {
            let doc = Document {
                title: &title,
                body: &body,
                language: language.as_deref(),
            };
            let topics: Vec<String> = topic_set
                .classify(&doc)
                .into_iter()
                .map(|m| m.topic)
                .collect();
            let fingerprint =
                known.unwrap_or_else(|| dedup::fingerprint(&title, &body, language.as_deref()));
            (topics, fingerprint)
        })
        .await;
    article.topics = topics;
    let mut clusters = ctx.clusters.lock().unwrap_or_else(|e| e.into_inner());
    if article.cluster.is_some() && clusters.cluster_of(&article.id).is_none() {
        restore_story(ctx, &mut clusters, &article.id);
    }
    match clusters.assign(&article.id, &fingerprint) {
        Ok(assignment) => {
            article.cluster = Some(assignment.cluster);
            StoryPlace {
                record: clusters.stored(&article.id).map(|s| s.to_bytes()),
                copies: assignment.copies_of,
            }
        }
        Err(error) => {
            tracing::error!(id = %article.id, %error, "cannot place the article in a story");
            StoryPlace {
                record: None,
                copies: Vec::new(),
            }
        }
    }
}

/// Puts an article that is no longer resident back into the story clusters from
/// its stored record, so that it keeps its story when it changes.
fn restore_story(ctx: &Context, clusters: &mut Clusters, id: &str) {
    let record = match ctx.store.fingerprint(id) {
        Ok(Some(bytes)) => StoredFingerprint::from_bytes(&bytes).map_err(|e| e.to_string()),
        Ok(None) => return,
        Err(error) => Err(error.to_string()),
    };
    if let Err(error) = record.and_then(|r| clusters.restore(id, r).map_err(|e| e.to_string())) {
        tracing::warn!(id, %error, "cannot restore the article's story; it is placed anew");
    }
}

/// Minor rewording is alerted only when configured; a flip-flop only the first
/// time the article returns to that version.
fn worth_alerting(ctx: &Context, change: &Change, history: &[Version]) -> bool {
    if change.classes == [ChangeClass::MinorWording] && !ctx.minor_edits {
        return false;
    }
    match change.reverts_to {
        Some(to) => !history.iter().any(|v| v.reverts_to == Some(to)),
        None => true,
    }
}

/// Stores the article with its next revisit time.
async fn reschedule(
    ctx: &Context,
    article: ArticleRecord,
    links: &[String],
) -> Result<(), StoreError> {
    reschedule_with(ctx, article, links, None).await
}

/// [`reschedule`], with a new version, its page and its alert in the same commit.
async fn reschedule_with(
    ctx: &Context,
    mut article: ArticleRecord,
    links: &[String],
    new: Option<NewVersion<'_>>,
) -> Result<(), StoreError> {
    let now = Utc::now();
    let previous_check = article.next_check;
    article.last_checked = now;
    article.next_check = ctx.revisits.next_check(article.first_seen, now);
    let commit = Commit {
        article: Some(&article),
        version: new.as_ref().map(|n| n.version),
        fingerprint: new.as_ref().and_then(|n| n.fingerprint),
        raw: new.as_ref().map(|n| n.raw),
        links,
        previous_check,
        ..Commit::default()
    };
    let (alert, update) = new.map_or((None, None), |n| (n.alert, n.update));
    story_window::commit(ctx, commit, alert, update).await
}

fn alert(article: &ArticleRecord, event: Event, version: u32) -> Alert {
    let (id, url) = (article.id.clone(), article.url.clone());
    let mut alert = Alert::new(
        event,
        id,
        url,
        version,
        article.title.clone(),
        article.feed.clone(),
    );
    alert.language = article.language.clone();
    alert.topics = article.topics.clone();
    alert.cluster = article.cluster.clone();
    alert
}

/// A `new` or `updated` alert for a version.
fn version_alert(article: &ArticleRecord, version: &Version, change: Option<&Change>) -> Alert {
    let event = if change.is_some() {
        Event::Updated
    } else {
        Event::New
    };
    let mut alert = alert(article, event, version.number);
    alert.title = version.title.clone();
    alert.detected_at = version.first_seen;
    if let Some(change) = change {
        alert.previous_version = Some(version.number - 1);
        alert.diff = Some(AlertDiff::from(&change.diff));
        alert.changes = change.classes.clone();
        alert.reverts_to = change.reverts_to;
    }
    alert
}

/// A `removed` or `moved` alert.
fn event_alert(article: &ArticleRecord, event: Event) -> Alert {
    let mut alert = alert(article, event, article.versions);
    alert.moved_to = article.moved_to.clone();
    alert.status = article.removed.as_ref().map(|r| r.status);
    alert
}

/// Commits `commit` with `alert`, queued or held (see [`story_window`]).
pub(super) async fn commit_with_alert(
    ctx: &Context,
    commit: Commit<'_>,
    alert: Option<Alert>,
) -> Result<(), StoreError> {
    story_window::commit(ctx, commit, alert, None).await
}
