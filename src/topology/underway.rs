//! Links and articles with a task under way, and what their feed said meanwhile.
//!
//! A feed item that changes (title, summary or updated date) says its article very
//! likely changed: it is revisited at once, ahead of scheduled revisits. When a
//! revisit of that article is already under way, the feed's word is not dropped:
//! a revisit still waiting for its host is raised to the class of a changed feed
//! item, and one whose page was already fetched looks again as soon as it is done.
//! On a host slowed by rate limits, a scheduled revisit can wait for seconds
//! behind others; without this, an edit announced by the feed meanwhile was first
//! seen with the next one, as a single version.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::watch;

use crate::fetch::Priority;

/// One task under way.
pub(crate) struct Underway {
    /// The class its requests queue in at their host; only ever raised.
    priority: watch::Sender<Priority>,
    /// The feed said the article changed since its page was last asked for.
    signalled: AtomicBool,
}

impl Underway {
    fn new() -> Underway {
        Underway {
            priority: watch::Sender::new(Priority::Background),
            signalled: AtomicBool::new(false),
        }
    }

    /// Queues the task's requests at least in class `to`.
    pub fn raise(&self, to: Priority) {
        self.priority.send_if_modified(|class| {
            let raised = to < *class;
            if raised {
                *class = to;
            }
            raised
        });
    }

    /// The class to queue in, following later raises while it waits.
    pub fn priority(&self) -> watch::Receiver<Priority> {
        self.priority.subscribe()
    }

    /// The page was fetched: what the feed said until now is in it.
    pub fn fetched(&self) {
        self.signalled.store(false, Ordering::SeqCst);
    }
}

/// The tasks under way, by link or article id.
#[derive(Default)]
pub(crate) struct Underways {
    tasks: Mutex<HashMap<String, Arc<Underway>>>,
}

impl Underways {
    fn tasks(&self) -> MutexGuard<'_, HashMap<String, Arc<Underway>>> {
        self.tasks.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Marks `key` as under way; `None` if it already was.
    pub fn begin(&self, key: &str) -> Option<Arc<Underway>> {
        match self.tasks().entry(key.to_string()) {
            Entry::Occupied(_) => None,
            Entry::Vacant(slot) => Some(slot.insert(Arc::new(Underway::new())).clone()),
        }
    }

    /// The feed item of article `id` changed. Returns the new task to start, in
    /// class `class`, when none is under way; else raises the one under way to
    /// `class` and marks it to look again if its page was fetched already.
    pub fn feed_item_changed(&self, id: &str, class: Priority) -> Option<Arc<Underway>> {
        let mut tasks = self.tasks();
        if let Some(task) = tasks.get(id) {
            task.raise(class);
            task.signalled.store(true, Ordering::SeqCst);
            return None;
        }
        let task = Arc::new(Underway::new());
        task.raise(class);
        tasks.insert(id.to_string(), task.clone());
        Some(task)
    }

    /// Ends the task for `key`, unless the feed said its article changed since its
    /// page was fetched: then it stays under way and the caller looks again.
    pub fn end_unless_signalled(&self, key: &str, task: &Underway) -> bool {
        let mut tasks = self.tasks();
        if task.signalled.swap(false, Ordering::SeqCst) {
            return false;
        }
        tasks.remove(key);
        true
    }

    /// Ends the task for `key`.
    pub fn end(&self, key: &str) {
        self.tasks().remove(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_under_way_once_until_it_ends() {
        let underways = Underways::default();
        assert!(underways.begin("a").is_some());
        assert!(underways.begin("a").is_none());
        underways.end("a");
        assert!(underways.begin("a").is_some());
    }

    #[test]
    fn a_changed_feed_item_starts_a_revisit_when_none_is_under_way() {
        let underways = Underways::default();
        let task = underways
            .feed_item_changed("a", Priority::Urgent)
            .expect("nothing under way");
        assert_eq!(*task.priority().borrow(), Priority::Urgent);
        assert!(underways.begin("a").is_none());
        assert!(underways.end_unless_signalled("a", &task));
        assert!(underways.begin("a").is_some());
    }

    #[test]
    fn a_changed_feed_item_raises_a_waiting_revisit() {
        let underways = Underways::default();
        let task = underways.begin("a").unwrap();
        task.raise(Priority::Background);
        let priority = task.priority();
        assert!(underways.feed_item_changed("a", Priority::Normal).is_none());
        assert_eq!(*priority.borrow(), Priority::Normal);
        task.raise(Priority::Watched);
        assert_eq!(*priority.borrow(), Priority::Normal, "never lowered");
        task.fetched();
        assert!(underways.end_unless_signalled("a", &task));
    }

    #[test]
    fn a_change_told_after_the_fetch_keeps_the_revisit_going() {
        let underways = Underways::default();
        let task = underways.begin("a").unwrap();
        task.fetched();
        assert!(underways.feed_item_changed("a", Priority::Normal).is_none());
        assert!(!underways.end_unless_signalled("a", &task), "look again");
        assert!(underways.begin("a").is_none(), "still under way");
        task.fetched();
        assert!(underways.end_unless_signalled("a", &task));
        assert!(underways.begin("a").is_some());
    }
}
