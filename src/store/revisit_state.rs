//! The part of an article record that every revisit changes: when the article
//! was last checked and is due next, its page's validators and its 404 strikes.
//!
//! The sled store keeps it in a record of its own (tree `checks`), so that a
//! revisit that finds the page unchanged writes that instead of the whole
//! article record (about 620 bytes on newsfarm `large`). Articles are revisited every few seconds
//! while young, and sled rewrites a record's leaf on each update and cleans a
//! segment only once half of it is dead: rewrites of whole records, mixed into
//! the segments of pages written once, kept the data directory at 2.2-2.4× the
//! records it held (`scripts/bench-e2e.sh large 150 2`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::ArticleRecord;
use crate::fetch::Validators;

/// An article's revisit state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct RevisitState {
    last_checked: DateTime<Utc>,
    next_check: Option<DateTime<Utc>>,
    #[serde(default)]
    validators: Validators,
    #[serde(default)]
    not_found_strikes: u32,
}

impl RevisitState {
    /// The revisit state of `article`.
    pub fn of(article: &ArticleRecord) -> RevisitState {
        RevisitState {
            last_checked: article.last_checked,
            next_check: article.next_check,
            validators: article.validators.clone(),
            not_found_strikes: article.not_found_strikes,
        }
    }

    /// Puts this state into `article`.
    pub fn apply_to(self, article: &mut ArticleRecord) {
        article.last_checked = self.last_checked;
        article.next_check = self.next_check;
        article.validators = self.validators;
        article.not_found_strikes = self.not_found_strikes;
    }
}

/// Whether `a` and `b` differ in their revisit state at most.
pub(super) fn same_but_revisit_state(a: &ArticleRecord, b: &ArticleRecord) -> bool {
    let mut b = b.clone();
    RevisitState::of(a).apply_to(&mut b);
    *a == b
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_article;

    #[test]
    fn records_that_differ_only_in_their_revisit_state_are_the_same_but_for_it() {
        let a = test_article("0123456789", 1);
        let mut b = a.clone();
        b.last_checked += chrono::Duration::seconds(4);
        b.next_check = None;
        b.validators.etag = Some("\"v2\"".into());
        b.not_found_strikes = 1;
        assert!(same_but_revisit_state(&a, &b));
        let mut c = a.clone();
        RevisitState::of(&b).apply_to(&mut c);
        assert_eq!(c, b, "the state carries every field that differed");
        b.title = "A new headline".into();
        assert!(!same_but_revisit_state(&a, &b));
    }
}
