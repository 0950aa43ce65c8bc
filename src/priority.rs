//! Classes of work and the slots that serve them in class order.
//!
//! Everything redline does for a feed or an article has a [`Priority`]: the
//! articles an alert depends on first, then feed polls and other new articles,
//! revisits of quiet articles last. Wherever that work queues for something scarce (a host's request slots
//! in [`crate::fetch`], the fetcher's global slots, the CPU pool of
//! [`crate::topology`]), it queues in [`ClassedSlots`], so that on a machine or a
//! host that cannot keep up, the background work waits and the urgent work does
//! not.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

/// How a piece of work queues, the most urgent class first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Priority {
    /// The articles (new, or whose feed item changed) that look on a watched
    /// topic by their feed item or their stored version: those an alert
    /// depends on.
    Urgent,
    /// Feed polls, other new articles and articles whose feed item changed.
    Normal,
    /// Revisits of articles that matter most: those that can raise an alert, or
    /// whose story just changed.
    Watched,
    /// Other scheduled revisits.
    Background,
}

/// How many classes [`Priority`] has.
const CLASSES: usize = 4;

/// The classes, the most urgent first.
const CLASSES_IN_ORDER: [Priority; CLASSES] = [
    Priority::Urgent,
    Priority::Normal,
    Priority::Watched,
    Priority::Background,
];

/// A semaphore whose waiters are served by class: at most `width` requests of
/// a class ever wait ahead of a request of a more urgent one.
pub struct ClassedSlots {
    slots: Arc<Semaphore>,
    /// One gate (as wide as `slots`) per class below the first: a request
    /// passes the gates of its own class and of every class above it, from its
    /// own up, before it queues for a slot, so that few requests of a class ever
    /// wait ahead of those of a more urgent one.
    gates: [Arc<Semaphore>; CLASSES - 1],
    /// Requests waiting for a slot, by class.
    waiting: [AtomicUsize; CLASSES],
}

impl ClassedSlots {
    /// `width` slots (at least one).
    pub fn new(width: usize) -> ClassedSlots {
        let width = width.max(1);
        ClassedSlots {
            slots: Arc::new(Semaphore::new(width)),
            gates: std::array::from_fn(|_| Arc::new(Semaphore::new(width))),
            waiting: Default::default(),
        }
    }

    /// Waits for a slot in `priority`'s class.
    pub async fn acquire(&self, priority: Priority) -> OwnedSemaphorePermit {
        let class = priority as usize;
        let _waiting = Waiting::count(&self.waiting[class]);
        let mut passed = Vec::with_capacity(class);
        for gate in self.gates[..class].iter().rev() {
            passed.push(acquire(gate).await);
        }
        let slot = acquire(&self.slots).await;
        drop(passed);
        slot
    }

    /// [`ClassedSlots::acquire`] for a request whose class may be raised while
    /// it waits: it then leaves its place and queues again in its new class.
    pub async fn acquire_raisable(
        &self,
        priority: &mut watch::Receiver<Priority>,
    ) -> OwnedSemaphorePermit {
        loop {
            let class = *priority.borrow_and_update();
            tokio::select! {
                slot = self.acquire(class) => return slot,
                Ok(()) = priority.changed() => {}
            }
        }
    }

    /// The most urgent class, more urgent than `priority`, with a request
    /// waiting for a slot.
    pub fn urgent_waiting_ahead_of(&self, priority: Priority) -> Option<Priority> {
        self.waiting[..priority as usize]
            .iter()
            .zip(CLASSES_IN_ORDER)
            .find(|(n, _)| n.load(Ordering::SeqCst) > 0)
            .map(|(_, class)| class)
    }

    /// Slots free right now.
    pub fn available(&self) -> usize {
        self.slots.available_permits()
    }
}

/// Counts a request as waiting for a slot until it is dropped.
struct Waiting<'a>(&'a AtomicUsize);

impl Waiting<'_> {
    fn count(counter: &AtomicUsize) -> Waiting<'_> {
        counter.fetch_add(1, Ordering::SeqCst);
        Waiting(counter)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn acquire(semaphore: &Arc<Semaphore>) -> OwnedSemaphorePermit {
    semaphore
        .clone()
        .acquire_owned()
        .await
        .expect("slot semaphores are never closed")
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// The order in which requests get the one slot of busy slots, queued in
    /// `batches`: on a single-threaded runtime each batch runs up to its wait
    /// before the next is queued.
    async fn slot_order(batches: &[&[(&'static str, Priority)]]) -> Vec<&'static str> {
        let slots = Arc::new(ClassedSlots::new(1));
        let busy = slots.acquire(Priority::Normal).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut tasks = Vec::new();
        for batch in batches {
            for &(name, priority) in *batch {
                let (slots, order) = (slots.clone(), order.clone());
                tasks.push(tokio::spawn(async move {
                    let _slot = slots.acquire(priority).await;
                    order.lock().unwrap().push(name);
                }));
            }
            tokio::task::yield_now().await;
        }
        drop(busy);
        for task in tasks {
            task.await.unwrap();
        }
        order.lock().unwrap().clone()
    }

    #[tokio::test(flavor = "current_thread")]
    async fn background_requests_queue_behind_normal_ones_but_one() {
        use Priority::{Background, Normal};
        let order = slot_order(&[
            &[("b1", Background), ("b2", Background), ("b3", Background)],
            &[("n", Normal)],
        ])
        .await;
        assert_eq!(order, ["b1", "n", "b2", "b3"]);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn watched_requests_queue_ahead_of_background_ones_but_one() {
        use Priority::{Background, Normal, Watched};
        let order = slot_order(&[
            &[("b1", Background), ("b2", Background), ("b3", Background)],
            &[("w1", Watched), ("w2", Watched)],
            &[("n", Normal)],
        ])
        .await;
        assert_eq!(order, ["b1", "n", "w1", "w2", "b2", "b3"]);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn urgent_requests_queue_ahead_of_every_other_class_but_one() {
        use Priority::{Background, Normal, Urgent, Watched};
        let order = slot_order(&[
            &[("b", Background), ("n1", Normal), ("n2", Normal)],
            &[("w", Watched)],
            &[("u1", Urgent), ("u2", Urgent)],
        ])
        .await;
        assert_eq!(order, ["b", "u1", "u2", "n1", "n2", "w"]);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_request_raised_while_it_waits_queues_again_in_its_new_class() {
        use Priority::{Background, Normal, Watched};
        let slots = Arc::new(ClassedSlots::new(1));
        let busy = slots.acquire(Normal).await;
        let order = Arc::new(Mutex::new(Vec::new()));
        let raised = watch::Sender::new(Background);
        let fixed = |class| watch::Sender::new(class).subscribe();
        let requests = [
            ("w1", fixed(Watched)),
            ("w2", fixed(Watched)),
            ("r", raised.subscribe()),
            ("n", fixed(Normal)),
        ];
        let mut tasks = Vec::new();
        for (name, mut priority) in requests {
            let (slots, order) = (slots.clone(), order.clone());
            tasks.push(tokio::spawn(async move {
                let _slot = slots.acquire_raisable(&mut priority).await;
                order.lock().unwrap().push(name);
            }));
            tokio::task::yield_now().await;
        }
        raised.send_replace(Normal);
        tokio::task::yield_now().await;
        drop(busy);
        for task in tasks {
            task.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), ["w1", "n", "r", "w2"]);
    }

    #[tokio::test(flavor = "current_thread")]
    async fn requests_waiting_in_a_more_urgent_class_are_seen() {
        use Priority::{Background, Normal, Watched};
        let slots = Arc::new(ClassedSlots::new(1));
        let busy = slots.acquire(Background).await;
        assert!(
            slots.urgent_waiting_ahead_of(Background).is_none(),
            "a slot held is no wait"
        );
        let waiter = slots.clone();
        let watched = tokio::spawn(async move { drop(waiter.acquire(Watched).await) });
        tokio::task::yield_now().await;
        assert_eq!(slots.urgent_waiting_ahead_of(Background), Some(Watched));
        assert!(
            slots.urgent_waiting_ahead_of(Watched).is_none()
                && slots.urgent_waiting_ahead_of(Normal).is_none()
        );
        let waiter = slots.clone();
        let normal = tokio::spawn(async move { drop(waiter.acquire(Normal).await) });
        tokio::task::yield_now().await;
        assert_eq!(
            slots.urgent_waiting_ahead_of(Background),
            Some(Normal),
            "the most urgent"
        );
        assert_eq!(slots.urgent_waiting_ahead_of(Watched), Some(Normal));
        assert_eq!(slots.urgent_waiting_ahead_of(Normal), None);
        drop(busy);
        watched.await.unwrap();
        normal.await.unwrap();
        assert!(slots.urgent_waiting_ahead_of(Background).is_none());
    }

    #[tokio::test(flavor = "current_thread")]
    async fn wider_slots_let_as_many_through_at_once() {
        let slots = ClassedSlots::new(3);
        let held: Vec<_> = [Priority::Background, Priority::Urgent, Priority::Watched]
            .into_iter()
            .map(|class| slots.acquire(class))
            .collect();
        let mut permits = Vec::new();
        for permit in held {
            permits.push(permit.await);
        }
        assert_eq!(slots.available(), 0);
        drop(permits);
        assert_eq!(slots.available(), 3);
    }
}
