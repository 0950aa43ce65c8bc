//! What kind of update a new version is: headline changed, paragraph added or
//! removed, numbers changed, quote added or changed, correction or editor's note,
//! or minor wording.

use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::normalize::numbers;
use crate::diff::VersionDiff;

/// One kind of change; an update can carry several.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeClass {
    Headline,
    ParagraphAdded,
    ParagraphRemoved,
    NumbersChanged,
    Quote,
    Correction,
    /// Sentences reworded beyond a few words, with none of the above.
    Edited,
    /// Nothing but a few words reworded.
    MinorWording,
    /// The text went back to an earlier version.
    Reverted,
}

impl ChangeClass {
    /// The name used in alerts and output.
    pub fn name(self) -> &'static str {
        match self {
            ChangeClass::Headline => "headline",
            ChangeClass::ParagraphAdded => "paragraph_added",
            ChangeClass::ParagraphRemoved => "paragraph_removed",
            ChangeClass::NumbersChanged => "numbers_changed",
            ChangeClass::Quote => "quote",
            ChangeClass::Correction => "correction",
            ChangeClass::Edited => "edited",
            ChangeClass::MinorWording => "minor_wording",
            ChangeClass::Reverted => "reverted",
        }
    }
}

/// Corrections, clarifications and editor's notes, in the languages redline reads.
static CORRECTION: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)^(?:correction|clarification|editor'?s note|update|corrected|this (?:story|article) (?:has been|was) (?:corrected|updated|amended)|исправление|уточнение|примечание редакции|виправлення|уточнення|примітка редакції|تصحيح|توضيح|ملاحظة المحرر|تنويه|rectificatif|précision|note de la rédaction|korrektur|berichtigung|anmerkung der redaktion)\b",
    )
    .expect("the correction pattern compiles")
});

/// Quotation marks that open a quote, in the typographies of the languages read.
const QUOTE_MARKS: &[char] = &['"', '“', '”', '«', '»', '„', '‹', '›', '「', '」'];

fn is_correction(paragraph: &str) -> bool {
    CORRECTION.is_match(paragraph.trim_start_matches(['*', '_', '(', '[', ' ']))
}

/// The quoted passages of a paragraph.
fn quotes(paragraph: &str) -> Vec<&str> {
    paragraph
        .split(QUOTE_MARKS)
        .skip(1)
        .step_by(2)
        .map(str::trim)
        .filter(|q| q.split_whitespace().count() >= 2)
        .collect()
}

/// Words added plus removed up to which a plain rewording is minor.
const MINOR_WORDS: usize = 4;

/// The classes of an update from `diff`; `Edited` or `MinorWording` (by the
/// number of words touched) only when nothing else applies.
pub fn classify(diff: &VersionDiff, old_title: &str, new_title: &str) -> Vec<ChangeClass> {
    let p = &diff.paragraphs;
    let mut classes = Vec::new();
    if diff.title_changed {
        classes.push(ChangeClass::Headline);
    }
    let (notes, added): (Vec<&String>, Vec<&String>) =
        p.added.iter().partition(|a| is_correction(a));
    let corrected_in_place = p
        .changed
        .iter()
        .any(|(o, n)| is_correction(n) && !is_correction(o));
    if !notes.is_empty() || corrected_in_place {
        classes.push(ChangeClass::Correction);
    }
    if !added.is_empty() {
        classes.push(ChangeClass::ParagraphAdded);
    }
    if !p.removed.is_empty() {
        classes.push(ChangeClass::ParagraphRemoved);
    }
    let numbers_changed = numbers(old_title) != numbers(new_title)
        || p.changed.iter().any(|(o, n)| numbers(o) != numbers(n));
    if numbers_changed {
        classes.push(ChangeClass::NumbersChanged);
    }
    let quote_added = added.iter().any(|a| !quotes(a).is_empty());
    let quote_changed = p.changed.iter().any(|(o, n)| quotes(o) != quotes(n));
    if quote_added || quote_changed {
        classes.push(ChangeClass::Quote);
    }
    if classes.is_empty() {
        let touched = diff.added_words + diff.removed_words;
        classes.push(if touched <= MINOR_WORDS {
            ChangeClass::MinorWording
        } else {
            ChangeClass::Edited
        });
    }
    classes.sort();
    classes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::{Side, diff};

    fn classes(old: (&str, &str), new: (&str, &str)) -> Vec<ChangeClass> {
        let d = diff(
            Side {
                title: old.0,
                body: old.1,
                label: "1",
            },
            Side {
                title: new.0,
                body: new.1,
                label: "2",
            },
        );
        classify(&d, old.0, new.0)
    }

    const BODY: &str =
        "Negotiators met in Geneva on Tuesday.\nThe talks lasted 58 minutes.\nNo deal was reached.";

    #[test]
    fn headline() {
        assert_eq!(
            classes(("Talks open", BODY), ("Talks stall", BODY)),
            vec![ChangeClass::Headline]
        );
    }

    #[test]
    fn paragraph_added() {
        let new = format!("{BODY}\nA fourth round is planned for next week.");
        assert_eq!(
            classes(("T", BODY), ("T", &new)),
            vec![ChangeClass::ParagraphAdded]
        );
    }

    #[test]
    fn paragraph_removed() {
        let new = "Negotiators met in Geneva on Tuesday.\nNo deal was reached.";
        assert_eq!(
            classes(("T", BODY), ("T", new)),
            vec![ChangeClass::ParagraphRemoved]
        );
    }

    #[test]
    fn numbers_changed() {
        let new = BODY.replace("58", "90");
        assert_eq!(
            classes(("T", BODY), ("T", &new)),
            vec![ChangeClass::NumbersChanged]
        );
        let arabic = classes(
            ("T", "استمرت المحادثات ٥٨ دقيقة."),
            ("T", "استمرت المحادثات ٩٠ دقيقة."),
        );
        assert_eq!(arabic, vec![ChangeClass::NumbersChanged]);
    }

    #[test]
    fn quote_added_as_a_paragraph_or_inside_one() {
        let added = format!("{BODY}\n«Разговор был откровенным и полезным», — сказал Песков.");
        assert_eq!(
            classes(("T", BODY), ("T", &added)),
            vec![ChangeClass::ParagraphAdded, ChangeClass::Quote]
        );
        let inside = BODY.replace(
            "No deal was reached.",
            "No deal was reached. “We are closer than ever,” he said.",
        );
        assert_eq!(
            classes(("T", BODY), ("T", &inside)),
            vec![ChangeClass::Quote]
        );
    }

    #[test]
    fn correction_notes_in_several_languages() {
        for note in [
            "Correction: An earlier version of this story misstated the venue.",
            "Исправление: в предыдущей версии материала была указана неверная дата.",
            "تصحيح: عقد الاجتماع في الرياض وليس في إسطنبول.",
            "Editor's note: this story has been updated.",
        ] {
            let new = format!("{BODY}\n{note}");
            assert_eq!(
                classes(("T", BODY), ("T", &new)),
                vec![ChangeClass::Correction],
                "{note}"
            );
        }
    }

    #[test]
    fn a_reworded_sentence_is_an_edit() {
        let new = BODY.replace(
            "No deal was reached.",
            "The sides parted without agreeing on a single point of substance.",
        );
        assert_eq!(classes(("T", BODY), ("T", &new)), vec![ChangeClass::Edited]);
    }

    #[test]
    fn minor_wording() {
        let new = BODY.replace("No deal was reached.", "No agreement was reached.");
        assert_eq!(
            classes(("T", BODY), ("T", &new)),
            vec![ChangeClass::MinorWording]
        );
    }
}
