//! The story window at work: commits each alert either to the outbox or, for an
//! update of a story that has copies elsewhere, as a held alert that the copies'
//! same changes join; and releases held alerts to the outbox when their window
//! closes (all of them at shutdown). See [`crate::alerts::story`].

use chrono::Utc;

use super::Context;
use crate::alerts::story::HeldAlert;
use crate::alerts::{Alert, CopyUpdate, Event, outbox};
use crate::dedup::ChangeSignature;
use crate::store::{Commit, StoreError};

/// Commits `commit` with its alert: held for the story window when `update`
/// (the change of an article whose story has copies) is given, joined to a held
/// alert of a copy that made the same change, queued behind a held alert about
/// the same article, or queued for the sinks at once.
pub(super) async fn commit(
    ctx: &Context,
    commit: Commit<'_>,
    alert: Option<Alert>,
    update: Option<ChangeSignature>,
) -> Result<(), StoreError> {
    let Some(alert) = alert else {
        return queue(ctx, commit, None).await;
    };
    match commit_held(ctx, &commit, alert, update)? {
        Some(alert) => queue(ctx, commit, Some(alert)).await,
        None => Ok(()),
    }
}

/// Commits `commit` with its alert held, if the alert is to be held; else
/// hands the alert back to be queued. The caller holds the article's lock, so
/// no hold about the article can appear before its alert is queued.
fn commit_held(
    ctx: &Context,
    commit: &Commit<'_>,
    alert: Alert,
    update: Option<ChangeSignature>,
) -> Result<Option<Alert>, StoreError> {
    let mut holds = ctx.holds.lock().unwrap_or_else(|e| e.into_inner());
    let cluster = alert.cluster.clone().unwrap_or_default();
    let update = update.filter(|_| alert.event == Event::Updated && !ctx.story_window.is_zero());
    let held = match update {
        Some(signature) => match holds.matching(&cluster, &alert.id, &signature) {
            Some(held) => joined(held, &alert),
            None => hold(ctx, &holds, alert, cluster, Some(signature))?,
        },
        None if holds.held_until(&alert.id).is_some() => hold(ctx, &holds, alert, cluster, None)?,
        None => return Ok(Some(alert)),
    };
    let version = commit.version.map(|v| v.number);
    ctx.store.commit(&Commit {
        hold: Some(&held),
        ..commit.clone()
    })?;
    holds.put(held);
    drop(holds);
    record_version(ctx, version);
    ctx.holds_changed.notify_one();
    Ok(None)
}

/// `held` with the copy behind `alert` added.
fn joined(held: &HeldAlert, alert: &Alert) -> HeldAlert {
    tracing::info!(url = %alert.url, version = alert.version, story = %held.cluster, with = %held.alert.url, "a copy made the same update; folded into the story's alert");
    let mut held = held.clone();
    let copy = CopyUpdate {
        url: alert.url.clone(),
        version: alert.version,
    };
    held.join(&alert.id, copy);
    held
}

/// A new held alert: an update (with its signature) held for the story window,
/// or any alert held until the article's earlier held alerts are released.
fn hold(
    ctx: &Context,
    holds: &crate::alerts::story::StoryHolds,
    mut alert: Alert,
    cluster: String,
    signature: Option<ChangeSignature>,
) -> Result<HeldAlert, StoreError> {
    let window = chrono::Duration::from_std(ctx.story_window).unwrap_or(chrono::Duration::MAX);
    let behind = holds.held_until(&alert.id);
    let release_at = match signature {
        Some(_) => (Utc::now() + window).max(behind.unwrap_or_default()),
        None => behind.unwrap_or_else(Utc::now),
    };
    alert.own_edit = signature.is_some();
    Ok(HeldAlert {
        seq: ctx.store.next_sequence()?,
        release_at,
        cluster,
        articles: vec![alert.id.clone()],
        alert,
        signature,
    })
}

/// Commits with the alert's outbox entries, then wakes the sinks: the alert is
/// durable before any delivery is tried. A new version goes through the group
/// commit (see [`super::group_commit`]).
async fn queue(ctx: &Context, commit: Commit<'_>, alert: Option<Alert>) -> Result<(), StoreError> {
    let entries = match &alert {
        Some(alert) => outbox::entries_for(&ctx.sinks, ctx.store.as_ref(), alert, ctx.outbox_max)?,
        None => Vec::new(),
    };
    let version = commit.version.map(|v| v.number);
    let commit = Commit {
        outbox: &entries,
        ..commit
    };
    let committed = match version {
        Some(_) => ctx.group_commit.commit(&commit).await,
        None => ctx.store.commit(&commit),
    };
    if committed.is_err() {
        outbox::unqueue(&ctx.sinks, &entries);
    }
    committed?;
    record_version(ctx, version);
    emitted(ctx, &entries, alert);
    Ok(())
}

/// Wakes the sinks of queued `entries` and tells live followers about `alert`.
fn emitted(ctx: &Context, entries: &[crate::store::OutboxEntry], alert: Option<Alert>) {
    outbox::wake(&ctx.sinks, entries);
    ctx.metrics.alerts_emitted.inc_by(entries.len() as u64);
    if let Some(alert) = alert {
        // Nobody following live is not an error.
        let _ = ctx.tail.send(alert);
    }
}

/// Counts a committed version.
fn record_version(ctx: &Context, version: Option<u32>) {
    match version {
        Some(1) => ctx.metrics.articles_new.inc(),
        Some(_) => ctx.metrics.articles_updated.inc(),
        None => return,
    };
    ctx.metrics.versions.inc();
}

/// Releases held alerts as their windows close, until shutdown.
pub(super) async fn release_loop(ctx: std::sync::Arc<Context>) {
    loop {
        let next = ctx
            .holds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .next_release();
        let wait = next.map_or(std::time::Duration::from_secs(3600), |at| {
            (at - Utc::now()).to_std().unwrap_or_default()
        });
        tokio::select! {
            _ = ctx.shutdown.cancelled() => return,
            _ = ctx.holds_changed.notified() => continue,
            _ = tokio::time::sleep(wait) => {}
        }
        if let Err(error) = release(&ctx, false) {
            tracing::error!(%error, "cannot release held story alerts; trying again shortly");
            tokio::select! {
                _ = ctx.shutdown.cancelled() => return,
                _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
            }
        }
    }
}

/// Moves the held alerts that are due (or, with `all`, every one) to the outbox.
pub(super) fn release(ctx: &Context, all: bool) -> Result<(), StoreError> {
    let mut holds = ctx.holds.lock().unwrap_or_else(|e| e.into_inner());
    for held in holds.due((!all).then(Utc::now)) {
        let entries =
            outbox::entries_for(&ctx.sinks, ctx.store.as_ref(), &held.alert, ctx.outbox_max)?;
        if let Err(error) = ctx.store.release_hold(&held, &entries) {
            outbox::unqueue(&ctx.sinks, &entries);
            return Err(error);
        }
        holds.remove(held.seq);
        emitted(ctx, &entries, Some(held.alert));
    }
    Ok(())
}
