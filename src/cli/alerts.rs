//! `redline alerts pending|failed|retry`: the delivery queues and dead letters.

use std::io::Write;

use anyhow::bail;
use clap::Subcommand;

use crate::alerts::story::HeldAlert;
use crate::store::{OutboxEntry, Store};

#[derive(Debug, Subcommand)]
pub(super) enum AlertsCommand {
    /// Alerts waiting for delivery, per sink, in order; then story alerts still
    /// held for their window.
    Pending {
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Alerts that will not be delivered (refused by the receiver, or too old).
    Failed,
    /// Queue failed alerts again: one by its delivery id, or all of them.
    Retry {
        /// The delivery id (as `alerts failed` shows it).
        id: Option<String>,
        #[arg(long, conflicts_with = "id")]
        all: bool,
    },
}

pub(super) fn run(
    store: &dyn Store,
    command: &AlertsCommand,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    match command {
        AlertsCommand::Pending { limit } => {
            list(&store.outbox_all(*limit)?, out)?;
            list_held(&store.holds()?, out)
        }
        AlertsCommand::Failed => list(&store.failed()?, out),
        AlertsCommand::Retry { id, all } => retry(store, id.as_deref(), *all, out),
    }
}

/// Story alerts held for their window (see `alerts.story_window`).
fn list_held(held: &[HeldAlert], out: &mut dyn Write) -> anyhow::Result<()> {
    for h in held {
        let event = serde_json::to_value(h.alert.event)?;
        writeln!(
            out,
            "held until {}  {:<8} v{:<3} +{} copies  {}",
            h.release_at.format("%Y-%m-%d %H:%M:%S"),
            event.as_str().unwrap_or_default(),
            h.alert.version,
            h.alert.copies.len(),
            h.alert.url
        )?;
    }
    Ok(())
}

fn list(entries: &[OutboxEntry], out: &mut dyn Write) -> anyhow::Result<()> {
    for e in entries {
        let event = serde_json::to_value(e.alert.event)?;
        writeln!(
            out,
            "{}  {:<24} {:<8} v{:<3} attempts {:<3} {}  {}",
            e.delivery_id(),
            e.sink,
            event.as_str().unwrap_or_default(),
            e.alert.version,
            e.attempts,
            e.enqueued.format("%Y-%m-%d %H:%M:%S"),
            e.alert.url
        )?;
        if let Some(error) = &e.last_error {
            writeln!(out, "    last error: {error}")?;
        }
    }
    Ok(())
}

fn retry(
    store: &dyn Store,
    id: Option<&str>,
    all: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    if id.is_none() && !all {
        bail!("give a delivery id or --all");
    }
    let queued = store.retry_failed(id)?;
    if id.is_some() && queued == 0 {
        bail!(
            "no failed alert has the delivery id {}",
            id.unwrap_or_default()
        );
    }
    store.flush()?;
    writeln!(out, "{queued} alerts queued again")?;
    Ok(())
}
