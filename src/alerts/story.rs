//! Story-aware alerts: one alert per story update, not one per outlet.
//!
//! When an article that has copies in other outlets (a wire story) changes, its
//! `updated` alert is held for the story window instead of being queued at once.
//! A copy that makes the same change within the window (recognised by its
//! [`ChangeSignature`]) joins the held alert's `copies` instead of getting an
//! alert of its own; a change no copy shares stays flagged `own_edit`. When the
//! window closes the alert is released to the outbox. Held alerts are stored with
//! the version they describe, so a restart loses none of them.
//!
//! Any other alert about an article that has a held alert waits behind it, so
//! that each article's alerts keep their order.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{Alert, CopyUpdate};
use crate::dedup::ChangeSignature;

/// An alert waiting for its story window to close.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldAlert {
    /// Its key in the store (from [`crate::store::Store::next_sequence`]).
    pub seq: u64,
    pub release_at: DateTime<Utc>,
    /// The story the alert is about.
    pub cluster: String,
    pub alert: Alert,
    /// Ids of the articles whose change the alert carries.
    pub articles: Vec<String>,
    /// What the update changed; absent on alerts held only to keep their order.
    pub signature: Option<ChangeSignature>,
}

impl HeldAlert {
    /// Adds a copy that made the same change.
    pub fn join(&mut self, article_id: &str, copy: CopyUpdate) {
        self.articles.push(article_id.to_string());
        self.alert.copies.push(copy);
        self.alert.own_edit = false;
    }
}

/// The held alerts of a running daemon, by key.
#[derive(Debug, Default)]
pub struct StoryHolds {
    held: BTreeMap<u64, HeldAlert>,
}

impl StoryHolds {
    /// Held alerts read back from the store.
    pub fn new(held: impl IntoIterator<Item = HeldAlert>) -> StoryHolds {
        StoryHolds {
            held: held.into_iter().map(|h| (h.seq, h)).collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.held.len()
    }

    pub fn is_empty(&self) -> bool {
        self.held.is_empty()
    }

    /// The held update of `cluster` that `article_id` has not joined yet and
    /// whose change is `signature`'s, oldest first.
    pub fn matching(
        &self,
        cluster: &str,
        article_id: &str,
        signature: &ChangeSignature,
    ) -> Option<&HeldAlert> {
        self.held.values().find(|h| {
            h.cluster == cluster
                && !h.articles.iter().any(|a| a == article_id)
                && h.signature
                    .as_ref()
                    .is_some_and(|s| s.same_change(signature))
        })
    }

    /// When the last held alert about `article_id` is released, if any.
    pub fn held_until(&self, article_id: &str) -> Option<DateTime<Utc>> {
        self.held
            .values()
            .filter(|h| h.articles.iter().any(|a| a == article_id))
            .map(|h| h.release_at)
            .max()
    }

    /// Records a new or amended held alert.
    pub fn put(&mut self, held: HeldAlert) {
        self.held.insert(held.seq, held);
    }

    /// When the next held alert is due.
    pub fn next_release(&self) -> Option<DateTime<Utc>> {
        self.held.values().map(|h| h.release_at).min()
    }

    /// Held alerts due at `now` (all of them with `None`), in the order they were held.
    pub fn due(&self, now: Option<DateTime<Utc>>) -> Vec<HeldAlert> {
        self.held
            .values()
            .filter(|h| now.is_none_or(|now| h.release_at <= now))
            .cloned()
            .collect()
    }

    /// Forgets a released alert.
    pub fn remove(&mut self, seq: u64) {
        self.held.remove(&seq);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::Event;

    fn signature(inserted: &[&str]) -> ChangeSignature {
        ChangeSignature {
            inserted: inserted.iter().map(|w| w.to_string()).collect(),
            ..ChangeSignature::default()
        }
    }

    fn held(seq: u64, cluster: &str, article: &str, sig: Option<ChangeSignature>) -> HeldAlert {
        HeldAlert {
            seq,
            release_at: DateTime::from_timestamp(1_000 + seq as i64, 0).unwrap(),
            cluster: cluster.into(),
            alert: Alert {
                previous_version: Some(1),
                cluster: Some(cluster.into()),
                own_edit: true,
                ..Alert::new(
                    Event::Updated,
                    article.into(),
                    format!("http://127.0.0.1/{article}"),
                    2,
                    "t".into(),
                    "f".into(),
                )
            },
            articles: vec![article.into()],
            signature: sig,
        }
    }

    #[test]
    fn a_copy_joins_the_held_update_of_its_story_once() {
        let swap = signature(&["swap", "1200", "detainees"]);
        let mut holds = StoryHolds::new([held(1, "s1", "wire", Some(swap.clone()))]);
        assert!(
            holds.matching("s2", "copy", &swap).is_none(),
            "another story"
        );
        assert!(
            holds.matching("s1", "wire", &swap).is_none(),
            "the same article"
        );
        let other = signature(&["families", "court", "gathered"]);
        assert!(
            holds.matching("s1", "copy", &other).is_none(),
            "another change"
        );

        let mut joined = holds.matching("s1", "copy", &swap).unwrap().clone();
        joined.join(
            "copy",
            CopyUpdate {
                url: "http://127.0.0.1/copy".into(),
                version: 3,
            },
        );
        holds.put(joined);
        assert!(
            holds.matching("s1", "copy", &swap).is_none(),
            "joined already"
        );
        let alert = &holds.due(None)[0].alert;
        assert_eq!(alert.copies.len(), 1);
        assert!(!alert.own_edit);
    }

    #[test]
    fn order_holds_are_never_joined_and_release_in_time_order() {
        let mut holds = StoryHolds::new([held(2, "s1", "a", Some(signature(&["x"])))]);
        holds.put(held(1, "s1", "a", None));
        assert!(holds.matching("s1", "b", &signature(&["x"])).is_some());
        assert_eq!(holds.held_until("a"), DateTime::from_timestamp(1_002, 0));
        assert_eq!(holds.next_release(), DateTime::from_timestamp(1_001, 0));
        let due = holds.due(DateTime::from_timestamp(1_001, 0));
        assert_eq!(due.iter().map(|h| h.seq).collect::<Vec<_>>(), vec![1]);
        holds.remove(1);
        assert_eq!(holds.len(), 1);
    }
}
