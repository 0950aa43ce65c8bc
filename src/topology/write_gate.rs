//! Pausing for a store that cannot write (a full disk): feed polls, article
//! fetches and revisits wait at the store's [`WriteGate`] while it is closed,
//! and [`recovery_loop`] asks the store to recover, with backoff, until it can
//! write again.

use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::Context;

/// The first wait before trying the store again, doubled after each failure.
const FIRST_TRY: Duration = Duration::from_secs(1);
/// The longest wait between two tries.
const MAX_WAIT: Duration = Duration::from_secs(15);

impl Context {
    /// Waits while the store cannot be written (returns at once when it can);
    /// false if `stop` came first.
    pub(super) async fn writable(&self, stop: &CancellationToken) -> bool {
        match self.store.write_gate() {
            Some(gate) if !gate.is_open() => tokio::select! {
                _ = stop.cancelled() => false,
                _ = gate.opened() => true,
            },
            _ => true,
        }
    }

    /// How many times the store has become writable again (0 without a gate).
    pub(super) fn store_reopened(&self) -> u64 {
        self.store.write_gate().map_or(0, |gate| gate.reopened())
    }
}

/// Whenever the store's gate closes, tries to recover the store until it can
/// write again: after 1 s, then twice as long each time, up to 15 s.
pub(super) async fn recovery_loop(ctx: Arc<Context>) {
    let Some(gate) = ctx.store.write_gate() else {
        return;
    };
    loop {
        tokio::select! {
            _ = ctx.shutdown.cancelled() => return,
            _ = gate.closed() => {}
        }
        let mut wait = FIRST_TRY;
        while !gate.is_open() {
            tokio::select! {
                _ = ctx.shutdown.cancelled() => return,
                _ = tokio::time::sleep(wait) => {}
            }
            let store = ctx.store.clone();
            let tried = tokio::task::spawn_blocking(move || store.recover()).await;
            match tried.expect("store recovery does not panic") {
                Ok(()) => break,
                Err(error) => {
                    wait = (wait * 2).min(MAX_WAIT);
                    tracing::warn!(%error, retry_in_ms = wait.as_millis() as u64, "the store still cannot write");
                }
            }
        }
    }
}
