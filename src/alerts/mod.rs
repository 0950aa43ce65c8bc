//! Alerts: what redline tells its users when an article appears or changes, and
//! the sinks that deliver it.
//!
//! An [`Alert`] is one JSON object per line on stdout (the contract newsfarm's
//! scorer reads), or a readable coloured diff with `--format human`. Sinks run on
//! their own thread, fed by a channel, so a slow reader never stalls ingestion.

mod stdout;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::changes::ChangeClass;
use crate::diff::{VersionDiff, word_diff_markup};

pub use stdout::{StdoutSink, stdout_has_colour};

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

/// A delivery failure.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("cannot write the alert: {0}")]
    Io(#[from] std::io::Error),
}

/// Somewhere alerts go.
pub trait Sink: Send {
    fn deliver(&mut self, alert: &Alert) -> Result<(), SinkError>;
}

/// Forwards alerts into a channel (for the demo and for tests).
pub struct ChannelSink(pub mpsc::UnboundedSender<Alert>);

impl Sink for ChannelSink {
    fn deliver(&mut self, alert: &Alert) -> Result<(), SinkError> {
        // A closed receiver means nobody listens any more; that is not an error.
        let _ = self.0.send(alert.clone());
        Ok(())
    }
}

/// Delivers every alert from `alerts` to every sink, in order, on a dedicated
/// thread; returns when the channel closes and every alert is delivered.
pub fn spawn_dispatcher(
    mut alerts: mpsc::Receiver<Alert>,
    mut sinks: Vec<Box<dyn Sink>>,
) -> std::thread::JoinHandle<()> {
    std::thread::Builder::new()
        .name("redline-alerts".into())
        .spawn(move || {
            while let Some(alert) = alerts.blocking_recv() {
                for sink in sinks.iter_mut() {
                    if let Err(error) = sink.deliver(&alert) {
                        tracing::error!(url = %alert.url, %error, "alert delivery failed");
                    }
                }
            }
        })
        .expect("the alert thread can be spawned")
}
