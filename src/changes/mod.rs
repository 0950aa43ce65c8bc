//! Change detection: whether a fetch is a new version of an article, and what
//! kind of update it is.
//!
//! Versions are compared on their cleaned text ([`normalize`]: NFC, no invisible
//! characters, single spaces) with the noise that survives extraction removed
//! ([`noise`]: relative times, counters, ad labels, read-more links, and line
//! shapes learned as volatile per site). A fetch that matches an earlier version
//! rather than the latest is a revert (flip-flop) and says which version it
//! returns to. Every update is classified ([`classify`]).

pub mod classify;
pub mod noise;
pub mod normalize;

use crate::diff::{self, Side, VersionDiff};
use crate::store::Version;

pub use classify::{ChangeClass, classify};
pub use noise::NoiseModel;

/// Versions compared when looking for a revert.
const REVERT_WINDOW: usize = 20;

/// A fetched article's text, cleaned for comparison and storage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CleanText {
    pub title: String,
    /// One paragraph per line.
    pub body: String,
}

/// How a fetch relates to the stored versions.
#[derive(Debug)]
pub enum Verdict {
    Unchanged,
    Changed(Change),
}

/// A new version: its diff from the latest, its classes, and the earlier
/// version it returns to, if it is a revert.
#[derive(Debug)]
pub struct Change {
    pub diff: VersionDiff,
    pub classes: Vec<ChangeClass>,
    pub reverts_to: Option<u32>,
}

/// The change detector, with what it has learned about each site's noise.
#[derive(Default)]
pub struct Detector {
    noise: NoiseModel,
}

impl Detector {
    /// Normalises the title and the paragraphs and drops the noise lines of `host`.
    pub fn clean<S: AsRef<str>>(&self, host: &str, title: &str, paragraphs: &[S]) -> CleanText {
        let body: Vec<String> = paragraphs
            .iter()
            .map(|p| normalize::normalize_line(p.as_ref()))
            .filter(|p| !p.is_empty() && !self.noise.is_noise(host, p))
            .collect();
        CleanText {
            title: normalize::normalize_line(title),
            body: body.join("\n"),
        }
    }

    /// A stored version cleaned with what is known now.
    fn reclean(&self, host: &str, version: &Version) -> CleanText {
        let lines: Vec<&str> = version.body.lines().collect();
        self.clean(host, &version.title, &lines)
    }

    /// Compares a cleaned fetch of `article` on `host` with its stored versions
    /// (oldest first; the last is the latest).
    pub fn compare(
        &self,
        host: &str,
        article: &str,
        history: &[Version],
        new: &CleanText,
    ) -> Verdict {
        let Some(latest) = history.last() else {
            return Verdict::Unchanged;
        };
        // Stored text is clean already: the same text needs no cleaning again.
        if latest.title == new.title && latest.body == new.body {
            return Verdict::Unchanged;
        }
        let mut old = self.reclean(host, latest);
        if old == *new {
            return Verdict::Unchanged;
        }
        let mut d = diff_texts(&old, new, latest.number);
        let learned = d.paragraphs.changed.iter().fold(false, |any, (o, n)| {
            self.noise.observe_change(host, article, o, n) | any
        });
        let mut new = new.clone();
        if learned {
            let lines: Vec<&str> = new.body.lines().collect();
            new = self.clean(host, &new.title, &lines);
            old = self.reclean(host, latest);
            if old == new {
                return Verdict::Unchanged;
            }
            d = diff_texts(&old, &new, latest.number);
        }
        let reverts_to = self.reverted_to(host, history, &new);
        let mut classes = classify(&d, &old.title, &new.title);
        if reverts_to.is_some() {
            classes.insert(0, ChangeClass::Reverted);
        }
        Verdict::Changed(Change {
            diff: d,
            classes,
            reverts_to,
        })
    }

    /// The most recent earlier version (not the latest) whose text equals `new`.
    fn reverted_to(&self, host: &str, history: &[Version], new: &CleanText) -> Option<u32> {
        let earlier = &history[..history.len().saturating_sub(1)];
        earlier
            .iter()
            .rev()
            .take(REVERT_WINDOW)
            .find(|v| self.reclean(host, v) == *new)
            .map(|v| v.reverts_to.unwrap_or(v.number))
    }
}

fn diff_texts(old: &CleanText, new: &CleanText, old_number: u32) -> VersionDiff {
    let old_label = format!("version {old_number}");
    let new_label = format!("version {}", old_number + 1);
    diff::diff(
        Side::new(&old.title, &old.body, &old_label),
        Side::new(&new.title, &new.body, &new_label),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn version(number: u32, title: &str, body: &str) -> Version {
        Version {
            number,
            title: title.into(),
            body: body.into(),
            content_hash: Version::hash_content(title, body),
            first_seen: chrono::Utc::now(),
            reverts_to: None,
            changes: Vec::new(),
        }
    }

    const HOST: &str = "127.0.0.1:80";

    #[test]
    fn relative_times_and_counters_are_not_changes() {
        let d = Detector::default();
        let v1 = d.clean(
            HOST,
            "Talks",
            &[
                "Updated 4 minutes ago",
                "Negotiators met in Geneva.",
                "1,204 views",
            ],
        );
        let stored = version(1, &v1.title, &v1.body);
        let fetch = d.clean(
            HOST,
            "Talks",
            &[
                "Updated 17 minutes ago",
                "Negotiators met in Geneva.",
                "1,377 views",
            ],
        );
        assert!(matches!(
            d.compare(HOST, "a", &[stored], &fetch),
            Verdict::Unchanged
        ));
    }

    #[test]
    fn invisible_characters_and_spacing_are_not_changes() {
        let d = Detector::default();
        let v1 = d.clean(HOST, "Talks", &["Negotiators met in Geneva."]);
        let stored = version(1, &v1.title, &v1.body);
        let fetch = d.clean(
            HOST,
            "Talks\u{200B}",
            &["Negotiators  met in\u{00A0}Geneva.\u{200F}"],
        );
        assert!(matches!(
            d.compare(HOST, "a", &[stored], &fetch),
            Verdict::Unchanged
        ));
    }

    #[test]
    fn an_unknown_counter_is_learned_after_two_articles() {
        let d = Detector::default();
        let body = |n: u32| {
            vec![
                format!("Vistas {n}"),
                "La delegación llegó a Ginebra el martes.".to_string(),
            ]
        };
        let a1 = d.clean(HOST, "T", &body(10));
        let a1_later = d.clean(HOST, "T", &body(20));
        assert!(matches!(
            d.compare(HOST, "a1", &[version(1, "T", &a1.body)], &a1_later),
            Verdict::Changed(_)
        ));
        let a2 = d.clean(HOST, "T", &body(30));
        let a2_later = d.clean(HOST, "T", &body(40));
        assert!(matches!(
            d.compare(HOST, "a2", &[version(1, "T", &a2.body)], &a2_later),
            Verdict::Unchanged
        ));
        let a1_again = d.clean(HOST, "T", &body(99));
        assert!(matches!(
            d.compare(HOST, "a1", &[version(1, "T", &a1_later.body)], &a1_again),
            Verdict::Unchanged
        ));
    }

    #[test]
    fn a_flip_flop_names_the_version_it_returns_to() {
        let d = Detector::default();
        let body = "Negotiators met in Geneva.";
        let history = [
            version(1, "Headline A", body),
            version(2, "Headline B", body),
        ];
        let back = d.clean(HOST, "Headline A", &[body]);
        let Verdict::Changed(change) = d.compare(HOST, "a", &history, &back) else {
            panic!("a revert is a change");
        };
        assert_eq!(change.reverts_to, Some(1));
        assert_eq!(
            change.classes,
            vec![ChangeClass::Reverted, ChangeClass::Headline]
        );
        let mut v3 = version(3, "Headline A", body);
        v3.reverts_to = Some(1);
        let history = [history[0].clone(), history[1].clone(), v3];
        let again = d.clean(HOST, "Headline B", &[body]);
        let Verdict::Changed(change) = d.compare(HOST, "a", &history, &again) else {
            panic!("a revert is a change");
        };
        assert_eq!(change.reverts_to, Some(2));
    }

    #[test]
    fn a_real_edit_is_a_change_with_its_classes() {
        let d = Detector::default();
        let stored = version(1, "Talks", "They met for 58 minutes.");
        let fetch = d.clean(
            HOST,
            "Talks",
            &[
                "They met for 90 minutes.",
                "Correction: the talks were in Geneva.",
            ],
        );
        let Verdict::Changed(change) = d.compare(HOST, "a", &[stored], &fetch) else {
            panic!("an edit is a change");
        };
        assert_eq!(
            change.classes,
            vec![ChangeClass::NumbersChanged, ChangeClass::Correction]
        );
        assert_eq!(change.reverts_to, None);
    }
}
