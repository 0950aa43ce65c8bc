//! What an update changed, as folded words, so that the same update made by
//! several copies of a story can be recognised: the wire's new paragraph, edited
//! figure, quote, correction note or headline, rerun by outlets with their own
//! quote style, digits and templates.
//!
//! A signature holds the words an update inserted into and deleted from the
//! body, and those it inserted into the headline (folded like fingerprints:
//! case, Arabic forms, Eastern Arabic digits, number group separators). Two
//! updates are the same change when most of the smaller side's words are shared,
//! compared on the body when both changed it, else on the headline: outlets
//! rewrite headlines their own way ("UPDATE 2-", their own wording) but rerun the
//! wire's body changes; and a copy that lacks the paragraph the wire edited runs
//! the new wording as a whole paragraph, whose words contain the wire's few
//! inserted ones.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::normalize::{fold, words};
use crate::diff::{Op, VersionDiff};

/// Share of the smaller word set that the other must contain.
const MIN_SHARED: f64 = 0.6;
/// Shared words required, unless the smaller set is shorter.
const MIN_SHARED_WORDS: usize = 3;

/// The words an update inserted and deleted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChangeSignature {
    /// Inserted into the body.
    pub inserted: BTreeSet<String>,
    /// Deleted from the body.
    pub deleted: BTreeSet<String>,
    /// Inserted into the headline.
    #[serde(default)]
    pub headline: BTreeSet<String>,
}

impl ChangeSignature {
    /// The signature of a diff between two versions (title included).
    pub fn of(diff: &VersionDiff) -> ChangeSignature {
        let mut signature = ChangeSignature::default();
        for hunk in &diff.hunks {
            // Line 0 is the headline; segments end lines with '\n'.
            let (mut old_line, mut new_line) = (hunk.old_line, hunk.new_line);
            for segment in &hunk.segments {
                let side = match (segment.op, old_line, new_line) {
                    (Op::Insert, _, 0) => Some(&mut signature.headline),
                    (Op::Insert, _, _) => Some(&mut signature.inserted),
                    (Op::Delete, 0, _) => None,
                    (Op::Delete, _, _) => Some(&mut signature.deleted),
                    (Op::Equal, _, _) => None,
                };
                if let Some(side) = side {
                    side.extend(words(&fold(&segment.text)));
                }
                let lines = segment.text.matches('\n').count();
                if segment.op != Op::Insert {
                    old_line += lines;
                }
                if segment.op != Op::Delete {
                    new_line += lines;
                }
            }
        }
        signature
    }

    /// Whether `self` and `other` are the same change: decided by the words
    /// inserted into the body when both inserted some, else by those deleted
    /// from it, else by the headline's.
    pub fn same_change(&self, other: &ChangeSignature) -> bool {
        let both = |a: &BTreeSet<String>, b: &BTreeSet<String>| !a.is_empty() && !b.is_empty();
        if both(&self.inserted, &other.inserted) {
            mostly_shared(&self.inserted, &other.inserted)
        } else if self.inserted.is_empty()
            && other.inserted.is_empty()
            && both(&self.deleted, &other.deleted)
        {
            mostly_shared(&self.deleted, &other.deleted)
        } else if both(&self.headline, &other.headline) {
            mostly_shared(&self.headline, &other.headline)
        } else {
            false
        }
    }
}

fn mostly_shared(a: &BTreeSet<String>, b: &BTreeSet<String>) -> bool {
    let smaller = a.len().min(b.len());
    if smaller == 0 {
        return false;
    }
    let shared = a.intersection(b).count();
    shared >= smaller.min(MIN_SHARED_WORDS) && shared as f64 >= MIN_SHARED * smaller as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::{Side, diff};

    fn signature(old: (&str, &str), new: (&str, &str)) -> ChangeSignature {
        ChangeSignature::of(&diff(
            Side::new(old.0, old.1, "a"),
            Side::new(new.0, new.1, "b"),
        ))
    }

    const WIRE: &str = "Negotiators met in Geneva on Tuesday.\nEach side will release 500 detainees.\nThe talks resume next week.";
    const COPY: &str =
        "Talks opened in Geneva on Tuesday, officials said.\nEach side will release 500 detainees.";

    #[test]
    fn the_same_appended_paragraph_is_the_same_change() {
        let added = "\nZelensky said the swap was “a first step towards peace”.";
        let wire = signature(("T", WIRE), ("T", &format!("{WIRE}{added}")));
        let copy = signature(
            ("C", COPY),
            (
                "C",
                &format!("{COPY}\nZelensky said the swap was \"a first step towards peace\"."),
            ),
        );
        assert!(wire.same_change(&copy));
    }

    #[test]
    fn an_edited_figure_matches_the_copy_that_reruns_the_sentence_at_the_end() {
        let wire = signature(("T", WIRE), ("T", &WIRE.replace("500", "1,200")));
        let copy_without_it = "Talks opened in Geneva on Tuesday, officials said.";
        let copy = signature(
            ("C", copy_without_it),
            (
                "C",
                &format!("{copy_without_it}\nEach side will release 1200 detainees."),
            ),
        );
        assert!(wire.same_change(&copy));
    }

    #[test]
    fn eastern_arabic_digits_match_ascii_ones() {
        let body = "أعلن الطرفان الإفراج عن 500 أسير.";
        let wire = signature(("ع", body), ("ع", &body.replace("500", "1200")));
        let copy = signature(("ع", body), ("ع", &body.replace("500", "١٢٠٠")));
        assert!(wire.same_change(&copy));
    }

    #[test]
    fn the_wire_headline_run_by_a_copy_is_the_same_change() {
        let wire = signature(
            ("Negotiators open ceasefire talks in Geneva", WIRE),
            (
                "Russia, Ukraine agree prisoner swap as Geneva talks run late",
                WIRE,
            ),
        );
        let copy = signature(
            ("Geneva talks: day one", COPY),
            (
                "Russia, Ukraine agree prisoner swap as Geneva talks run late",
                COPY,
            ),
        );
        assert!(wire.same_change(&copy));
    }

    #[test]
    fn an_outlets_own_edit_is_not_the_wires_update() {
        let wire = signature(
            ("T", WIRE),
            (
                "T",
                &format!("{WIRE}\nThe Kremlin said a summit in Riyadh was possible."),
            ),
        );
        let own = signature(
            ("C", COPY),
            (
                "C",
                &format!("{COPY}\nLocal families of detainees gathered outside the court."),
            ),
        );
        assert!(!wire.same_change(&own));
        let deletion = signature(("T", WIRE), ("T", "Negotiators met in Geneva on Tuesday."));
        assert!(
            !wire.same_change(&deletion),
            "an insertion is not a deletion"
        );
    }

    #[test]
    fn the_same_removed_paragraph_is_the_same_change() {
        let wire = signature(
            ("T", WIRE),
            ("T", &WIRE.replace("\nThe talks resume next week.", "")),
        );
        let copy_body = format!("{COPY}\nThe talks resume next week.");
        let copy = signature(("C", &copy_body), ("C", COPY));
        assert!(wire.same_change(&copy));
    }

    #[test]
    fn a_copy_with_its_own_headline_wording_matches_on_the_body_change() {
        let wire = signature(
            ("Drone attack on Kyiv: 8 dead", WIRE),
            (
                "UPDATE 1 - Drone attack on Kyiv: 8 dead",
                &WIRE.replace("500", "520"),
            ),
        );
        let copy = signature(
            ("Kyiv hit overnight", COPY),
            (
                "Kyiv hit overnight, dozens of drones",
                &COPY.replace("500", "520"),
            ),
        );
        assert!(wire.same_change(&copy));
        assert_eq!(wire.headline, ["1", "update"].map(String::from).into());
    }
}
