//! Alerts: what redline tells its users when an article appears or changes, and
//! the sinks that deliver it.
//!
//! An [`Alert`] is one JSON object per line on stdout (the contract newsfarm's
//! scorer reads), or a readable coloured diff with `--format human`, and a signed
//! POST to each configured webhook ([`webhook`]). Delivery is at least once: an
//! alert is written to the store's outbox in the same transaction as the version
//! it describes, and one worker per sink ([`outbox`]) delivers its queue in order,
//! retrying with backoff, removing an entry only once it is delivered. A slow or
//! failing sink never stalls ingestion or the other sinks.

pub mod outbox;
mod stdout;
pub mod story;
pub mod webhook;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::store::OutboxEntry;

use crate::changes::ChangeClass;
use crate::diff::{VersionDiff, word_diff_markup};

pub use stdout::{human, json_line, stdout_has_colour};
pub use webhook::{WebhookSink, sign};

/// How alerts (and CLI output) are written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum OutputFormat {
    /// One JSON object per line.
    #[default]
    Json,
    /// Readable text with a coloured word diff.
    Human,
}

/// What happened to the article.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Event {
    New,
    Updated,
    /// The page now answers 410 Gone (or 404 twice in a row).
    Removed,
    /// The page redirects permanently to another article URL.
    Moved,
    /// A feed has gone silent or failing, or recovered (see `source`).
    Source,
}

/// A feed's state as a `source` alert reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceState {
    /// No new items for much longer than the feed usually takes.
    Silent,
    /// Every poll has failed for longer than `schedule.failing_after`.
    Failing,
    /// New items again, or polls succeed again, after a silent or failing episode.
    Recovered,
}

/// What a `source` alert says about its feed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceReport {
    pub state: SourceState,
    /// The episode that recovered (on `recovered`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<SourceState>,
    /// When the episode began: the last new item, or the first failed poll.
    pub since: DateTime<Utc>,
    /// The feed's usual gap between new items, in seconds, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usual_gap_secs: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// One alert.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    pub event: Event,
    /// Short article id, usable with `redline show`.
    pub id: String,
    /// Canonical article URL.
    pub url: String,
    /// The version this alert announces (1-based).
    pub version: u32,
    pub previous_version: Option<u32>,
    pub title: String,
    /// URL of the feed the article was found in.
    pub feed: String,
    pub language: Option<String>,
    /// Topic ids the article matches.
    pub topics: Vec<String>,
    /// The story (wire-copy cluster) the article belongs to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    pub detected_at: DateTime<Utc>,
    /// What changed since `previous_version`; absent on `new`.
    pub diff: Option<AlertDiff>,
    /// The kinds of change of an `updated` alert (headline, paragraph_added, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub changes: Vec<ChangeClass>,
    /// On an update that returns to an earlier text: that version.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reverts_to: Option<u32>,
    /// On `moved`: the new URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_to: Option<String>,
    /// On `removed`: the HTTP status the page answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// On `updated`: the other copies of the story that made the same change
    /// within the story window (see [`story`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub copies: Vec<CopyUpdate>,
    /// On `updated` of an article whose story has other copies: none of them
    /// made this change within the story window, so it is this outlet's own edit
    /// (or a wire update that no copy followed).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub own_edit: bool,
    /// On `source`: the feed's state (`url` and `feed` are then the feed's URL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceReport>,
}

impl Alert {
    /// An alert about `url` with only its identity set (detected now); callers
    /// fill in the fields their event carries.
    pub fn new(
        event: Event,
        id: String,
        url: String,
        version: u32,
        title: String,
        feed: String,
    ) -> Alert {
        Alert {
            event,
            id,
            url,
            version,
            previous_version: None,
            title,
            feed,
            language: None,
            topics: Vec::new(),
            cluster: None,
            detected_at: Utc::now(),
            diff: None,
            changes: Vec::new(),
            reverts_to: None,
            moved_to: None,
            status: None,
            copies: Vec::new(),
            own_edit: false,
            source: None,
        }
    }
}

/// A copy of the story that received the update an alert announces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CopyUpdate {
    pub url: String,
    /// The copy's version that carries the update.
    pub version: u32,
}

/// The diff carried by an `updated` alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertDiff {
    pub title_changed: bool,
    pub added_words: usize,
    pub removed_words: usize,
    /// Unified diff of the paragraphs (title first).
    pub unified: String,
    /// The changed paragraphs with `[-removed-]{+added+}` markup.
    pub words: String,
}

impl From<&VersionDiff> for AlertDiff {
    fn from(diff: &VersionDiff) -> AlertDiff {
        AlertDiff {
            title_changed: diff.title_changed,
            added_words: diff.added_words,
            removed_words: diff.removed_words,
            unified: diff.unified.clone(),
            words: word_diff_markup(diff),
        }
    }
}

/// The outcome of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    Delivered,
    /// Try again later (after `after`, if the receiver said so).
    Retry {
        after: Option<std::time::Duration>,
        error: String,
    },
    /// Will never be accepted: goes to the failed list.
    Reject {
        error: String,
    },
}

/// Stories a webhook delivers concurrently.
const WEBHOOK_LANES: usize = 8;

/// Somewhere alerts go.
pub enum Sink {
    /// Standard output, in the given format.
    Stdout(OutputFormat),
    /// An HTTP endpoint that receives signed POSTs.
    Webhook(WebhookSink),
    /// An in-process channel (the demo and tests listen on it).
    Channel {
        name: String,
        tx: mpsc::UnboundedSender<Alert>,
    },
}

impl Sink {
    /// The sink's stable name: its outbox queue is kept under it across restarts.
    pub fn name(&self) -> String {
        match self {
            Sink::Stdout(_) => "stdout".to_string(),
            Sink::Webhook(hook) => format!("webhook:{}", hook.name()),
            Sink::Channel { name, .. } => format!("channel:{name}"),
        }
    }

    /// Whether the sink wants this alert (webhooks can filter by topic).
    pub fn accepts(&self, alert: &Alert) -> bool {
        match self {
            Sink::Webhook(hook) => hook.accepts(alert),
            _ => true,
        }
    }

    /// Whether its queue is emptied before the daemon exits (local sinks), or
    /// left for the next start (remote ones).
    pub fn drains_on_shutdown(&self) -> bool {
        !matches!(self, Sink::Webhook(_))
    }

    /// Stories delivered at once: a receiver that fails one alert holds back
    /// only that story's later alerts. Local sinks keep one global order.
    pub fn lanes(&self) -> usize {
        match self {
            Sink::Webhook(_) => WEBHOOK_LANES,
            _ => 1,
        }
    }

    /// How long an alert may wait for this sink before it is given up.
    pub fn max_age(&self) -> std::time::Duration {
        match self {
            Sink::Webhook(hook) => hook.max_age(),
            _ => std::time::Duration::MAX,
        }
    }

    pub async fn deliver(&self, entry: &OutboxEntry) -> Delivery {
        match self {
            Sink::Stdout(format) => stdout::deliver(*format, &entry.alert).await,
            Sink::Webhook(hook) => hook.deliver(entry).await,
            Sink::Channel { tx, .. } => {
                // A closed receiver means nobody listens any more; that is not an error.
                let _ = tx.send(entry.alert.clone());
                Delivery::Delivered
            }
        }
    }
}
