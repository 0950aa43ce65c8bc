//! Group commit: new versions from many article tasks written in one store
//! transaction.
//!
//! Each sled transaction writes out its own log buffer (two, in fact), which
//! made commits and sled's I/O threads two fifths of the daemon's CPU during a
//! first ingest. A task with a new version queues its commit here and waits;
//! a writer task lets the queue gather for [`GROUP_WINDOW`], commits what is
//! queued as one group on the blocking pool, answers each task, and goes on
//! until the queue is empty. A group is atomic as a whole, so each of its
//! commits still lands entirely or not at all; alerts still go out only after a
//! flush (see [`crate::alerts::outbox`]). If a group fails, each of its commits
//! is tried alone, so that each task gets its own error.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

use crate::alerts::story::HeldAlert;
use crate::store::{ArticleRecord, Commit, OutboxEntry, RawSnapshot, Store, StoreError, Version};

/// Commits in one transaction at most (sled keeps a transaction's writes in memory).
const MAX_GROUP: usize = 128;
/// How long a group gathers before it is written: at a first ingest's 1,000
/// commits a second, about ten a group; a lone commit waits this long more.
const GROUP_WINDOW: Duration = Duration::from_millis(5);

/// The queue of commits waiting for the writer.
pub(crate) struct GroupCommit {
    store: Arc<dyn Store>,
    queue: Mutex<Queue>,
}

#[derive(Default)]
struct Queue {
    jobs: Vec<Job>,
    /// Whether a writer is running (it empties the queue before it stops).
    writing: bool,
}

struct Job {
    commit: OwnedCommit,
    done: oneshot::Sender<Result<(), StoreError>>,
}

impl GroupCommit {
    pub(crate) fn new(store: Arc<dyn Store>) -> Arc<GroupCommit> {
        Arc::new(GroupCommit {
            store,
            queue: Mutex::new(Queue::default()),
        })
    }

    /// Commits `commit` with whatever else is queued; returns once it is written
    /// (as [`Store::commit`] does: durable at the next flush).
    pub(crate) async fn commit(self: &Arc<Self>, commit: &Commit<'_>) -> Result<(), StoreError> {
        let (done, result) = oneshot::channel();
        let job = Job {
            commit: OwnedCommit::from(commit),
            done,
        };
        let start_writer = {
            let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
            queue.jobs.push(job);
            !std::mem::replace(&mut queue.writing, true)
        };
        if start_writer {
            tokio::spawn(self.clone().write_queued());
        }
        result.await.unwrap_or(Err(StoreError::WriterStopped))
    }

    /// Writes queued groups, each after [`GROUP_WINDOW`], until the queue is empty.
    async fn write_queued(self: Arc<Self>) {
        loop {
            tokio::time::sleep(GROUP_WINDOW).await;
            let jobs: Vec<Job> = {
                let mut queue = self.queue.lock().unwrap_or_else(|e| e.into_inner());
                if queue.jobs.is_empty() {
                    queue.writing = false;
                    return;
                }
                let take = queue.jobs.len().min(MAX_GROUP);
                queue.jobs.drain(..take).collect()
            };
            let store = self.store.clone();
            let written = tokio::task::spawn_blocking(move || write_group(store.as_ref(), jobs));
            if written.await.is_err() {
                // Its tasks are told with `WriterStopped`; the next group is
                // written all the same.
                tracing::error!("a group commit panicked");
            }
        }
    }
}

/// Commits `jobs` as one group and answers each.
fn write_group(store: &dyn Store, jobs: Vec<Job>) {
    let commits: Vec<Commit<'_>> = jobs.iter().map(|j| j.commit.borrow()).collect();
    let results: Vec<Result<(), StoreError>> = match store.commit_group(&commits) {
        Ok(()) => commits.iter().map(|_| Ok(())).collect(),
        // The group failed as a whole: each commit alone, for its own error.
        Err(_) => commits.iter().map(|c| store.commit(c)).collect(),
    };
    drop(commits);
    for (job, result) in jobs.into_iter().zip(results) {
        // A task that stopped waiting (shutdown) needs no answer.
        let _ = job.done.send(result);
    }
}

/// A [`Commit`] that owns its records, to wait in the queue.
struct OwnedCommit {
    article: Option<ArticleRecord>,
    version: Option<Version>,
    links: Vec<String>,
    previous_check: Option<chrono::DateTime<chrono::Utc>>,
    outbox: Vec<OutboxEntry>,
    fingerprint: Option<Vec<u8>>,
    hold: Option<HeldAlert>,
    raw: Option<RawSnapshot>,
}

impl OwnedCommit {
    fn from(commit: &Commit<'_>) -> OwnedCommit {
        OwnedCommit {
            article: commit.article.cloned(),
            version: commit.version.cloned(),
            links: commit.links.to_vec(),
            previous_check: commit.previous_check,
            outbox: commit.outbox.to_vec(),
            fingerprint: commit.fingerprint.map(<[u8]>::to_vec),
            hold: commit.hold.cloned(),
            raw: commit.raw.cloned(),
        }
    }

    fn borrow(&self) -> Commit<'_> {
        Commit {
            article: self.article.as_ref(),
            version: self.version.as_ref(),
            links: &self.links,
            previous_check: self.previous_check,
            outbox: &self.outbox,
            fingerprint: self.fingerprint.as_deref(),
            hold: self.hold.as_ref(),
            raw: self.raw.as_ref(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SledStore;

    #[tokio::test]
    async fn concurrent_commits_are_all_stored_and_answered() {
        let dir = tempfile::tempdir().unwrap();
        let store: Arc<dyn Store> = Arc::new(SledStore::open(dir.path(), 16).unwrap());
        let group = GroupCommit::new(store.clone());
        let ids: Vec<String> = (0..20).map(|i| format!("{i:010}")).collect();
        let commits = ids.iter().map(|id| {
            let group = group.clone();
            let id = id.clone();
            async move {
                let now = chrono::Utc::now();
                let article = crate::store::test_article(&id, 1);
                let version = Version {
                    number: 1,
                    title: "t".into(),
                    body: id.clone(),
                    content_hash: Version::hash_content("t", &id),
                    first_seen: now,
                    reverts_to: None,
                    changes: Vec::new(),
                };
                let commit = Commit {
                    article: Some(&article),
                    version: Some(&version),
                    ..Commit::default()
                };
                group.commit(&commit).await
            }
        });
        for result in futures_util::future::join_all(commits).await {
            result.unwrap();
        }
        for id in &ids {
            assert_eq!(store.version(id, 1).unwrap().unwrap().body, *id);
        }
    }
}
