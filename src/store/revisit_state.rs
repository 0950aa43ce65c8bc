//! The part of an article record that every revisit changes: when the article
//! was last checked and is due next, its page's validators and its 404 strikes.
//!
//! The sled store keeps it in a record of its own (tree `checks`), so that a
//! revisit that finds the page unchanged writes that instead of the whole
//! article record (about 620 bytes of JSON on newsfarm `large`), in a compact
//! binary form (about 70 bytes; 180 as JSON). Articles are revisited every few seconds
//! while young, and sled rewrites a record's leaf on each update and cleans a
//! segment only once half of it is dead: rewrites of whole records, mixed into
//! the segments of pages written once, kept the data directory at 2.2-2.4× the
//! records it held (`scripts/bench-e2e.sh large 150 2`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{ArticleRecord, StoreError};
use crate::fetch::Validators;

/// An article's revisit state, times to the millisecond.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct RevisitState {
    #[serde(with = "chrono::serde::ts_milliseconds")]
    last_checked: DateTime<Utc>,
    #[serde(with = "chrono::serde::ts_milliseconds_option")]
    next_check: Option<DateTime<Utc>>,
    validators: Validators,
    not_found_strikes: u32,
}

/// The first byte of a stored state: the encoding (postcard, fields in order).
const ENCODING: u8 = 1;

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

    /// The stored form: [`ENCODING`], then the fields.
    pub fn to_bytes(&self) -> Vec<u8> {
        postcard::to_extend(self, vec![ENCODING]).expect("a revisit state always encodes")
    }

    /// Reads a stored state of article `id`.
    pub fn from_bytes(id: &[u8], bytes: &[u8]) -> Result<RevisitState, StoreError> {
        let damaged = |problem: String| StoreError::Damaged {
            key: String::from_utf8_lossy(id).into_owned(),
            problem,
        };
        match bytes.split_first() {
            Some((&ENCODING, rest)) => {
                postcard::from_bytes(rest).map_err(|e| damaged(format!("revisit state: {e}")))
            }
            _ => Err(damaged("revisit state of an unknown encoding".into())),
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

    #[test]
    fn a_state_is_stored_in_a_few_dozen_bytes_and_read_back() {
        let mut article = test_article("0123456789", 1);
        article.last_checked = DateTime::from_timestamp_millis(1_764_430_000_123).unwrap();
        article.next_check = Some(article.last_checked + chrono::Duration::seconds(4));
        article.validators = Validators {
            etag: Some("\"5d8c72a5edda8d6a\"".into()),
            last_modified: Some("Sat, 29 Nov 2025 15:26:40 GMT".into()),
        };
        article.not_found_strikes = 1;
        let state = RevisitState::of(&article);
        let bytes = state.to_bytes();
        assert!(bytes.len() < 80, "{} bytes", bytes.len());
        assert_eq!(
            RevisitState::from_bytes(b"0123456789", &bytes).unwrap(),
            state
        );
        let cut = RevisitState::from_bytes(b"0123456789", &bytes[..bytes.len() - 3]);
        assert!(matches!(cut, Err(StoreError::Damaged { .. })), "{cut:?}");
        let json = br#"{"last_checked":"2025-11-29T15:26:40Z"}"#;
        let err = RevisitState::from_bytes(b"0123456789", json).unwrap_err();
        assert!(err.to_string().contains("0123456789"), "{err}");
    }
}
